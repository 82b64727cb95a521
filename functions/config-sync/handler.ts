import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AWS_CLIENT_CONFIG } from "../aws/client-config.ts";
import { METRICS_NAMESPACE } from "../observability/metrics.ts";
import { loadConfigSyncConfig } from "./config.ts";
import { createConfigSyncHandler } from "./config-sync.ts";
import { createFinapiClientCache } from "./finapi-clients.ts";
import { createParameterSource } from "./parameter-source.ts";
import { createSecretSource } from "./secret-source.ts";
import { createStatusStore } from "./status-store.ts";

/*
 * Everything here is created once per container: the configuration is validated before the first
 * event (a bad one fails the cold start with a message naming the variable), and the SDK clients,
 * caches and finAPI tokens live across warm invocations. The SDK clients take their endpoints from
 * AWS_ENDPOINT_URL_<SERVICE>, so the same bundle runs against local stand-ins, and bound every call.
 */
const config = loadConfigSyncConfig(process.env);
const serviceName = process.env.POWERTOOLS_SERVICE_NAME || "config-sync";

export const handler = createConfigSyncHandler({
  config,
  parameters: createParameterSource(new SSMClient(AWS_CLIENT_CONFIG), config.parameterCacheTtlSeconds),
  secrets: createSecretSource(new SecretsManagerClient(AWS_CLIENT_CONFIG), config.secretsCacheTtlSeconds),
  finapiClients: createFinapiClientCache(),
  statusStore: createStatusStore(
    DynamoDBDocumentClient.from(new DynamoDBClient(AWS_CLIENT_CONFIG), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    config.statusTableName,
  ),
  logger: new Logger({ serviceName }),
  metrics: new Metrics({
    serviceName,
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
  }),
});
