import { type DynamoDBDocumentClient, GetCommand, paginateScan } from "@aws-sdk/lib-dynamodb";
import {
  type ClientStatus,
  clientStatusSchema,
  STATUS_TABLE_KEY,
} from "../functions/contracts/config-sync.ts";

/*
 * The CLI's reader of config-sync's status table: its own few calls over the record schema the
 * Lambda writes by (functions/contracts/config-sync.ts), so that the CLI depends on the contract and
 * not on the Lambda's store.
 */

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
      new GetCommand({ TableName: tableName, Key: { [STATUS_TABLE_KEY]: client }, ConsistentRead: true }),
    );
    return sortAndSplit(Item ? [Item] : []);
  }
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan({ client: dynamo }, { TableName: tableName, ConsistentRead: true })) {
    items.push(...(page.Items ?? []));
  }
  return sortAndSplit(items);
}
