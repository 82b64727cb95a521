import type { Server } from "node:http";
import { createRequire } from "node:module";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { listen } from "../listen.ts";

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

/* dynalite is CommonJS without type declarations; this is the one function it exports. */
const dynalite = createRequire(import.meta.url)("dynalite") as (options: DynaliteOptions) => Server;

export interface DynamoDbStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly url: string;
  /** A client for the stand-in, for test setup and inspection. */
  readonly client: DynamoDBClient;
  /** Creates a table keyed by one string partition key, `id` unless told otherwise (Powertools Idempotency's layout). */
  createTable(tableName: string, partitionKey?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs dynalite, a DynamoDB API implementation on LevelDB, in memory on 127.0.0.1, so that code using
 * the real SDK (conditional writes included) runs against a real DynamoDB API without AWS.
 */
export async function startDynamoDb(): Promise<DynamoDbStandIn> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const { url } = await listen(server, { purpose: "the DynamoDB stand-in" });
  const client = new DynamoDBClient({
    endpoint: url,
    region: "eu-central-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });

  return {
    url,
    client,
    async createTable(tableName, partitionKey = "id") {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: "S" }],
          KeySchema: [{ AttributeName: partitionKey, KeyType: "HASH" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        client.destroy();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
