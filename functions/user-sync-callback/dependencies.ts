import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KMSClient } from "@aws-sdk/client-kms";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { AWS_CLIENT_CONFIG } from "../aws/client-config.ts";
import { createPowertools } from "../commons/powertools.ts";
import type { CallbackDependencies } from "./app.ts";
import type { CallbackConfig } from "./config.ts";
import { createDynamoDbDeletionStore } from "./deletion-store.ts";
import { createKmsDigestKey } from "./kms-digest-key.ts";
import { createFifoQueueSender } from "./queue.ts";
import { createDynamoDbDigestStore } from "./secret-digest-store.ts";
import { createSecretsManagerSource } from "./secret-source.ts";

const SERVICE_NAME = "user-sync-callback";

/** The real AWS-backed dependencies; endpoints, region and credentials come from the SDK's usual sources. */
export function createDefaultDependencies(config: CallbackConfig): CallbackDependencies {
  const { logger, metrics } = createPowertools(SERVICE_NAME);
  const dynamoDb = new DynamoDBClient(AWS_CLIENT_CONFIG);
  const sqs = new SQSClient(AWS_CLIENT_CONFIG);
  return {
    config,
    logger,
    metrics,
    secrets: createSecretsManagerSource({
      client: new SecretsManagerClient(AWS_CLIENT_CONFIG),
      logger,
      rootSecretId: config.rootSecretId,
      clients: config.clients,
      rotationOverlapSeconds: config.secretRotationOverlapSeconds,
      keptDigests: {
        store: createDynamoDbDigestStore({ client: dynamoDb, tableName: config.deletionsTableName }),
        key: createKmsDigestKey(new KMSClient(AWS_CLIENT_CONFIG), config.secretDigestKeyId),
      },
    }),
    deletions: createDynamoDbDeletionStore({
      client: dynamoDb,
      tableName: config.deletionsTableName,
      fanOutWindowMs: config.fanOutWindowSeconds * 1000,
    }),
    sendToDeletionQueue: createFifoQueueSender(sqs, config.deletionQueueUrl),
    sendToDeadLetterQueue: createFifoQueueSender(sqs, config.deadLetterQueueUrl),
  };
}
