import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { METRICS_NAMESPACE } from "../observability/metrics.ts";
import type { CallbackDependencies } from "./app.ts";
import type { CallbackConfig } from "./config.ts";
import { createEventBridgePublisher, createSqsDeadLetterWriter } from "./forward.ts";
import { createOnceForwarder } from "./forward-once.ts";
import { createDynamoDbDigestStore } from "./secret-digest-store.ts";
import { createSecretsManagerSource } from "./secret-source.ts";

const SERVICE_NAME = "user-sync-callback";

/*
 * Every AWS call is bounded (3 attempts of at most 1 s each, plus backoff): these services answer in
 * milliseconds, and a hung connection must not eat the time a failed forward needs for its dead letter.
 * The SDK's http handler only logs a breached requestTimeout unless throwOnRequestTimeout is set.
 */
const sdkConfig = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true },
};

/** The real AWS-backed dependencies; endpoints, region and credentials come from the SDK's usual sources. */
export function createDefaultDependencies(config: CallbackConfig): CallbackDependencies {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME;
  const logger = new Logger({ serviceName });
  const dynamoDb = new DynamoDBClient(sdkConfig);
  return {
    config,
    logger,
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
    secrets: createSecretsManagerSource({
      client: new SecretsManagerClient(sdkConfig),
      logger,
      digestStore: createDynamoDbDigestStore(dynamoDb, config.idempotencyTableName),
    }),
    forwardOnce: createOnceForwarder({
      persistenceStore: new DynamoDBPersistenceLayer({
        tableName: config.idempotencyTableName,
        awsSdkV3Client: dynamoDb,
      }),
      ttlSeconds: config.idempotencyTtlSeconds,
      publish: createEventBridgePublisher(new EventBridgeClient(sdkConfig), config.eventBusName),
    }),
    writeDeadLetter: createSqsDeadLetterWriter(new SQSClient(sdkConfig), config.deadLetterQueueUrl),
  };
}
