import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AWS_CLIENT_CONFIG } from "../aws/client-config.ts";
import { createPowertools } from "../commons/powertools.ts";
import type { ConfigSyncDependencies } from "./app.ts";
import type { ConfigSyncConfig } from "./config.ts";
import { createFinapiClientCache } from "./finapi-clients.ts";
import { createParameterSource } from "./parameter-source.ts";
import { createSecretSource } from "./secret-source.ts";
import { createStatusStore, STATUS_TABLE_CLIENT_CONFIG } from "./status-store.ts";

const SERVICE_NAME = "config-sync";

/**
 * The real AWS-backed dependencies. The SDK clients take their endpoints from
 * AWS_ENDPOINT_URL_<SERVICE>, so the same bundle runs against local stand-ins, and bound every call;
 * they, the caches and finAPI tokens live across warm invocations.
 */
export function createDefaultDependencies(config: ConfigSyncConfig): ConfigSyncDependencies {
  return {
    config,
    parameters: createParameterSource(new SSMClient(AWS_CLIENT_CONFIG), config.parameterCacheTtlSeconds),
    secrets: createSecretSource(new SecretsManagerClient(AWS_CLIENT_CONFIG), config.secretsCacheTtlSeconds),
    finapiClients: createFinapiClientCache(),
    statusStore: createStatusStore(
      DynamoDBDocumentClient.from(new DynamoDBClient(STATUS_TABLE_CLIENT_CONFIG), {
        marshallOptions: { removeUndefinedValues: true },
      }),
      config.statusTableName,
    ),
    ...createPowertools(SERVICE_NAME),
  };
}
