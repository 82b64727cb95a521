import { setTimeout as sleep } from "node:timers/promises";
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AWS_CLIENT_CONFIG } from "../aws/client-config.ts";
import { type ClientStatus, STATUS_TABLE_KEY } from "../contracts/config-sync.ts";

/*
 * The status table's SDK client makes 2 attempts a call, not 3: storing a batch is two calls (the
 * version check and the write), and both fit the reserve a client's status write has (time-budget.ts).
 */
export const STATUS_TABLE_CLIENT_CONFIG = { ...AWS_CLIENT_CONFIG, maxAttempts: 2 };

/** BatchWriteItem's limit: a run stores its clients' statuses this many a call. */
export const STATUS_BATCH_SIZE = 25;

/**
 * "superseded": the table already holds the status of a newer parameter version, which was kept.
 * "unprocessed": DynamoDB left the write unprocessed (throttling) through every attempt.
 */
export type StatusWrite = "stored" | "superseded" | "unprocessed";

export interface StatusStore {
  /**
   * Stores the statuses of up to STATUS_BATCH_SIZE distinct clients; the result of each, in order.
   * `signal` aborts the calls (the run's deadline). AWS failures are thrown.
   */
  record(
    statuses: readonly ClientStatus[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<StatusWrite[]>;
}

/* Unprocessed items and keys are sent again after 50, 100 and 200 ms, as DynamoDB asks (with backoff). */
const BATCH_ATTEMPTS = 4;
const BATCH_BACKOFF_BASE_MS = 50;

/*
 * One PutItem per client cost more CPU than the client's finAPI call (SigV4 signing and a request per
 * client); a BatchWriteItem stores 25. BatchWriteItem takes no condition, so the rule a conditional
 * PutItem enforced is checked with a consistent BatchGetItem just before: a status only replaces one
 * of the same or an older parameter version, so the table never goes back to an older document (a
 * scheduled run may hold an older cached document than a change event's run stored). A status without
 * a version (the parameter could not be read) is news about now and always replaces what is there.
 * Reserved concurrency 1 keeps two runs from writing at once, and a run sends nothing after its
 * deadline; what is left between the read and the write is a write of a newer version still in flight
 * from an invocation that has ended (docs/internals.md, "The status table").
 */
export function createStatusStore(dynamo: DynamoDBDocumentClient, tableName: string): StatusStore {
  async function storedVersions(
    clients: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    let keys: Record<string, unknown>[] = clients.map((client) => ({ [STATUS_TABLE_KEY]: client }));
    for (let attempt = 1; keys.length > 0; attempt++) {
      if (attempt > 1) await sleep(BATCH_BACKOFF_BASE_MS * 2 ** (attempt - 2), undefined, { signal });
      const answer = await dynamo.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: keys,
              ConsistentRead: true,
              ProjectionExpression: "#key, parameterVersion",
              ExpressionAttributeNames: { "#key": STATUS_TABLE_KEY },
            },
          },
        }),
        { abortSignal: signal },
      );
      for (const item of answer.Responses?.[tableName] ?? []) {
        if (typeof item.parameterVersion === "number") {
          versions.set(String(item[STATUS_TABLE_KEY]), item.parameterVersion);
        }
      }
      keys = answer.UnprocessedKeys?.[tableName]?.Keys ?? [];
      if (keys.length > 0 && attempt >= BATCH_ATTEMPTS) {
        throw new Error(
          `DynamoDB left ${keys.length} status read(s) unprocessed after ${attempt} attempts (throttling)`,
        );
      }
    }
    return versions;
  }

  async function write(
    statuses: readonly ClientStatus[],
    signal: AbortSignal | undefined,
  ): Promise<Set<string>> {
    let requests = statuses.map((status) => ({ PutRequest: { Item: status } }));
    for (let attempt = 1; requests.length > 0; attempt++) {
      /* Past the run's deadline what is left stays unprocessed: the reserve covers the first write only. */
      if (attempt > 1) {
        await sleep(BATCH_BACKOFF_BASE_MS * 2 ** (attempt - 2), undefined, { signal }).catch(() => undefined);
        if (signal?.aborted) break;
      }
      const answer = await dynamo.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }), {
        abortSignal: signal,
      });
      requests = (answer.UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
        request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item as ClientStatus } }] : [],
      );
      if (attempt >= BATCH_ATTEMPTS) break;
    }
    return new Set(requests.map((request) => request.PutRequest.Item.client));
  }

  return {
    async record(statuses, options = {}) {
      if (statuses.length === 0) return [];
      const versioned = statuses.filter((status) => status.parameterVersion !== undefined);
      const stored =
        versioned.length === 0
          ? new Map<string, number>()
          : await storedVersions(
              versioned.map((status) => status.client),
              options.signal,
            );
      const isSuperseded = (status: ClientStatus) =>
        status.parameterVersion !== undefined &&
        (stored.get(status.client) ?? Number.NEGATIVE_INFINITY) > status.parameterVersion;
      const unprocessed = await write(
        statuses.filter((status) => !isSuperseded(status)),
        options.signal,
      );
      return statuses.map((status) =>
        isSuperseded(status) ? "superseded" : unprocessed.has(status.client) ? "unprocessed" : "stored",
      );
    },
  };
}
