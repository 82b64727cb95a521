import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, paginateScan } from "@aws-sdk/lib-dynamodb";
import { reconcileOutcomeSchema } from "../finapi/reconcile.ts";
import * as z from "../validation/zod.ts";
import { triggerSchema } from "./selection.ts";

/**
 * One item per client in the status table (partition key `client`): the last reconcile's outcome,
 * flattened so that the DynamoDB console shows `outcome` as a column, with when, why and from which
 * parameter version. Every value is already redacted.
 */
export const clientStatusSchema = z.intersection(
  z.object({
    client: z.string(),
    /** ISO 8601, when the outcome was reached. */
    at: z.iso.datetime(),
    trigger: triggerSchema,
    parameterVersion: z.optional(z.int()),
    /** The Lambda request id, to find the invocation's log lines. */
    lambdaRequestId: z.optional(z.string()),
  }),
  reconcileOutcomeSchema,
);
export type ClientStatus = z.infer<typeof clientStatusSchema>;

/** "superseded": the table already holds the status of a newer parameter version, which was kept. */
export type StatusWrite = "stored" | "superseded";

export interface StatusStore {
  /** `signal` aborts the write (the run's deadline). AWS failures are thrown. */
  record(status: ClientStatus, options?: { readonly signal?: AbortSignal }): Promise<StatusWrite>;
}

/*
 * Reserved concurrency 1 keeps two runs from writing at once, but not a run from writing late: the
 * write only replaces a status of the same or an older parameter version, so the table never goes
 * back to an older document. A status without a version (the parameter could not be read) is news
 * about now and always replaces what is there.
 */
export function createStatusStore(dynamo: DynamoDBDocumentClient, tableName: string): StatusStore {
  return {
    async record(status, options = {}) {
      const notOlder =
        status.parameterVersion === undefined
          ? {}
          : {
              ConditionExpression: "attribute_not_exists(parameterVersion) OR parameterVersion <= :version",
              ExpressionAttributeValues: { ":version": status.parameterVersion },
            };
      try {
        await dynamo.send(new PutCommand({ TableName: tableName, Item: status, ...notOlder }), {
          abortSignal: options.signal,
        });
        return "stored";
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return "superseded";
        throw error;
      }
    },
  };
}

export interface StatusRead {
  readonly statuses: readonly ClientStatus[];
  /** Items that are not a status this version understands, by client (or "?" when unnamed). */
  readonly unreadable: readonly string[];
}

function sortAndSplit(items: readonly Record<string, unknown>[]): StatusRead {
  const statuses: ClientStatus[] = [];
  const unreadable: string[] = [];
  for (const item of items) {
    const parsed = clientStatusSchema.safeParse(item);
    if (parsed.success) statuses.push(parsed.data);
    else unreadable.push(typeof item.client === "string" ? item.client : "?");
  }
  statuses.sort((a, b) => a.client.localeCompare(b.client));
  return { statuses, unreadable };
}

/** Every client's status (a Scan), or one client's (a consistent GetItem). */
export async function readStatuses(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  client?: string,
): Promise<StatusRead> {
  if (client !== undefined) {
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: tableName, Key: { client }, ConsistentRead: true }),
    );
    return sortAndSplit(Item ? [Item] : []);
  }
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan({ client: dynamo }, { TableName: tableName, ConsistentRead: true })) {
    items.push(...(page.Items ?? []));
  }
  return sortAndSplit(items);
}
