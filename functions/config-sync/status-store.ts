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

export interface StatusStore {
  record(status: ClientStatus): Promise<void>;
}

/*
 * A plain overwrite is enough: the function's reserved concurrency of 1 means two runs never write
 * the same client at once, and the latest run's outcome is by definition the last one.
 */
export function createStatusStore(dynamo: DynamoDBDocumentClient, tableName: string): StatusStore {
  return {
    async record(status) {
      await dynamo.send(new PutCommand({ TableName: tableName, Item: status }));
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
