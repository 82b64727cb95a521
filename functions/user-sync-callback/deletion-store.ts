import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { describeError } from "../commons/errors.ts";
import { deletionGenerationKey } from "../contracts/user-deletion.ts";
import { finapiEnvironmentSchema } from "../finapi/schema.ts";
import { USER_DELETED_EVENT } from "../finapi/user.ts";
import { issuePath } from "../validation/issues.ts";
import * as z from "../validation/zod.ts";
import {
  type DeletionGeneration,
  type Delivery,
  type DeliveryVerdict,
  judgeDelivery,
  type NewDeletionReason,
  startGeneration,
} from "./generation.ts";

/** What the deletions table made of a delivery. */
export type Registration =
  /* The delivery started a deletion: the generation as written. */
  | { readonly kind: "new"; readonly reason: NewDeletionReason; readonly generation: DeletionGeneration }
  /* The delivery is a copy of the current deletion through another client: the generation with it added. */
  | { readonly kind: "duplicate"; readonly generation: DeletionGeneration };

export interface DeletionStore {
  /** Records the delivery as a new deletion or as a duplicate of the current one; rejects with DeletionStoreError. */
  register(
    delivery: Delivery,
    clientsOfUserBase: readonly string[],
    signal?: AbortSignal,
  ): Promise<Registration>;
  /** Notes that the deletion's message is in the deletion queue; a newer deletion of the user makes this a no-op. */
  markEnqueued(generation: DeletionGeneration, signal?: AbortSignal): Promise<void>;
}

/** The deletions table could not say whether a delivery is new: nothing was decided. */
export class DeletionStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DeletionStoreError";
  }
}

/*
 * Every round re-reads the item after another delivery's write won; each lost round means another
 * delivery of the same user made progress, so a handful of clients settle in a few rounds.
 */
export const MAX_REGISTER_ROUNDS = 10;

/* Kept a day past the window, so that the item is there for the whole window even if TTL runs early. */
const EXPIRATION_MARGIN_MS = 24 * 60 * 60 * 1000;

const text = z.object({ S: z.string() });
/* As the table holds it: DynamoDB attribute values, checked, since a bad item must not decide anything. */
const storedGenerationSchema = z.object({
  deletionId: z.object({ S: z.uuid() }),
  userBase: text,
  environment: z.object({ S: finapiEnvironmentSchema }),
  userId: text,
  event: z.object({ S: z.literal(USER_DELETED_EVENT) }),
  client: text,
  firstDeliveredAt: z.object({ N: z.string().check(z.regex(/^\d+$/)) }),
  deliveredBy: z.object({ SS: z.array(z.string()) }),
  /* Each delivery's own id, so that a delivery recognises its write when the SDK's retry of it hits its own condition. */
  deliveryIds: z.object({ SS: z.array(z.string()) }),
  enqueued: z.object({ BOOL: z.boolean() }),
});

interface StoredGeneration {
  readonly generation: DeletionGeneration;
  readonly deliveryIds: readonly string[];
}

function readItem(item: Record<string, AttributeValue> | undefined): StoredGeneration | undefined {
  if (item === undefined) return undefined;
  const parsed = storedGenerationSchema.safeParse(item);
  if (!parsed.success) {
    throw new DeletionStoreError(
      `the deletion item is malformed: ${parsed.error.issues.map((issue) => issuePath(issue.path)).join(", ")}`,
    );
  }
  const stored = parsed.data;
  return {
    generation: {
      deletionId: stored.deletionId.S,
      userBase: stored.userBase.S,
      environment: stored.environment.S,
      userId: stored.userId.S,
      event: stored.event.S,
      client: stored.client.S,
      firstDeliveredAt: Number(stored.firstDeliveredAt.N),
      deliveredBy: stored.deliveredBy.SS,
      enqueued: stored.enqueued.BOOL,
    },
    deliveryIds: stored.deliveryIds.SS,
  };
}

/**
 * Deletion generations as items of the deletions table, written with conditions on the item read:
 * whichever delivery's write lands first decides, the others read again and decide again. No
 * judgement depends on how long a delivery took, so a slow but alive one cannot be taken for dead.
 */
export function createDynamoDbDeletionStore(options: {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly fanOutWindowMs: number;
}): DeletionStore {
  const { client, tableName, fanOutWindowMs } = options;
  const keyOf = (userBase: string, userId: string) => ({
    id: { S: deletionGenerationKey(userBase, userId) },
  });

  const read = async (delivery: Delivery, signal?: AbortSignal) => {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: keyOf(delivery.userBase, delivery.userId),
        ConsistentRead: true,
      }),
      { abortSignal: signal },
    );
    return readItem(Item);
  };

  const writeNew = async (
    generation: DeletionGeneration,
    deliveryId: string,
    replaces: string | undefined,
    signal?: AbortSignal,
  ) => {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          ...keyOf(generation.userBase, generation.userId),
          deletionId: { S: generation.deletionId },
          userBase: { S: generation.userBase },
          environment: { S: generation.environment },
          userId: { S: generation.userId },
          event: { S: generation.event },
          client: { S: generation.client },
          firstDeliveredAt: { N: String(generation.firstDeliveredAt) },
          deliveredBy: { SS: [...generation.deliveredBy] },
          deliveryIds: { SS: [deliveryId] },
          enqueued: { BOOL: false },
          expiration: {
            N: String(
              Math.floor((generation.firstDeliveredAt + fanOutWindowMs + EXPIRATION_MARGIN_MS) / 1000),
            ),
          },
        },
        ...(replaces === undefined
          ? { ConditionExpression: "attribute_not_exists(id)" }
          : {
              ConditionExpression: "deletionId = :read",
              ExpressionAttributeValues: { ":read": { S: replaces } },
            }),
      }),
      { abortSignal: signal },
    );
  };

  const join = async (delivery: Delivery, deletionId: string, deliveryId: string, signal?: AbortSignal) => {
    const { Attributes } = await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: keyOf(delivery.userBase, delivery.userId),
        UpdateExpression: "ADD deliveredBy :client, deliveryIds :delivery",
        ConditionExpression: "deletionId = :read AND NOT contains(deliveredBy, :name)",
        ExpressionAttributeValues: {
          ":client": { SS: [delivery.client] },
          ":delivery": { SS: [deliveryId] },
          ":read": { S: deletionId },
          ":name": { S: delivery.client },
        },
        ReturnValues: "ALL_NEW",
      }),
      { abortSignal: signal },
    );
    const joined = readItem(Attributes);
    if (joined === undefined) throw new DeletionStoreError("the duplicate's update returned no item");
    return joined.generation;
  };

  const register = async (
    delivery: Delivery,
    clientsOfUserBase: readonly string[],
    signal?: AbortSignal,
  ): Promise<Registration> => {
    const deliveryId = randomUUID();
    let attempted: DeliveryVerdict | undefined;
    for (let round = 0; round < MAX_REGISTER_ROUNDS; round++) {
      const current = await read(delivery, signal);
      /* The previous round's write landed after all: its answer was lost and the SDK's retry failed its condition. */
      if (attempted !== undefined && current?.deliveryIds.includes(deliveryId)) {
        return attempted.kind === "new"
          ? { kind: "new", reason: attempted.reason, generation: current.generation }
          : { kind: "duplicate", generation: current.generation };
      }
      const verdict = judgeDelivery({
        current: current?.generation,
        client: delivery.client,
        clientsOfUserBase,
        now: delivery.at,
        fanOutWindowMs,
      });
      attempted = verdict;
      try {
        if (verdict.kind === "new") {
          const generation = startGeneration(delivery, randomUUID());
          await writeNew(generation, deliveryId, current?.generation.deletionId, signal);
          return { kind: "new", reason: verdict.reason, generation };
        }
        return {
          kind: "duplicate",
          generation: await join(delivery, verdict.of.deletionId, deliveryId, signal),
        };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new DeletionStoreError(
      `the deletion was changed by other deliveries ${MAX_REGISTER_ROUNDS} times while this one decided`,
    );
  };

  return {
    async register(delivery, clientsOfUserBase, signal) {
      try {
        return await register(delivery, clientsOfUserBase, signal);
      } catch (error) {
        if (error instanceof DeletionStoreError) throw error;
        throw new DeletionStoreError(`the deletions table failed: ${describeError(error)}`, { cause: error });
      }
    },
    async markEnqueued(generation, signal) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: keyOf(generation.userBase, generation.userId),
            UpdateExpression: "SET enqueued = :enqueued",
            ConditionExpression: "deletionId = :deletion",
            ExpressionAttributeValues: {
              ":enqueued": { BOOL: true },
              ":deletion": { S: generation.deletionId },
            },
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return;
        throw new DeletionStoreError(`the deletions table failed: ${describeError(error)}`, { cause: error });
      }
    },
  };
}
