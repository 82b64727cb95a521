import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { ClientStatus } from "../contracts/config-sync.ts";

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
