import { randomUUID } from "node:crypto";
import { type AwsJsonCall, AwsServiceError, startAwsJsonServer } from "./json-protocol-server.ts";

const REGION = "eu-central-1";
const ACCOUNT = "000000000000";
const CURRENT = "AWSCURRENT";
const PREVIOUS = "AWSPREVIOUS";

interface SecretVersion {
  readonly versionId: string;
  readonly secretString: string;
  readonly createdDate: number;
  stages: string[];
}

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  readonly versions: SecretVersion[];
}

export interface SecretsManagerStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly url: string;
  readonly calls: readonly AwsJsonCall[];
  /** Creates the secret, or rotates it: the new value becomes AWSCURRENT, the old current AWSPREVIOUS. */
  putSecret(name: string, secretString: string): void;
  /** The ARN the stand-in gave the secret (GetSecretValue accepts the name or the ARN). */
  arnOf(name: string): string;
  failNext(operation: string, error: AwsServiceError, times?: number): void;
  close(): Promise<void>;
}

function notFound(message = "Secrets Manager can't find the specified secret."): AwsServiceError {
  return new AwsServiceError("ResourceNotFoundException", message);
}

function requireString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (typeof value !== "string" || value === "") {
    throw new AwsServiceError("InvalidParameterException", `${key} must be a non-empty string`);
  }
  return value;
}

/**
 * A local Secrets Manager (GetSecretValue with VersionStage/VersionId, CreateSecret, PutSecretValue)
 * that keeps the AWSCURRENT/AWSPREVIOUS staging labels the way a rotation moves them.
 */
export async function startSecretsManager(
  initialSecrets: Readonly<Record<string, string>> = {},
): Promise<SecretsManagerStandIn> {
  const secrets = new Map<string, StoredSecret>();

  const find = (secretId: string): StoredSecret | undefined =>
    secrets.get(secretId) ?? [...secrets.values()].find((secret) => secret.arn === secretId);

  const addVersion = (secret: StoredSecret, secretString: string, versionId: string): SecretVersion => {
    for (const version of secret.versions) {
      version.stages = version.stages.filter((stage) => stage !== PREVIOUS);
      if (version.stages.includes(CURRENT)) {
        version.stages = version.stages.filter((stage) => stage !== CURRENT).concat(PREVIOUS);
      }
    }
    const version: SecretVersion = {
      versionId,
      secretString,
      createdDate: Date.now() / 1000,
      stages: [CURRENT],
    };
    secret.versions.push(version);
    return version;
  };

  const create = (name: string, secretString: string, versionId: string): StoredSecret => {
    const suffix = randomUUID().replaceAll("-", "").slice(0, 6);
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${suffix}`,
      versions: [],
    };
    secrets.set(name, secret);
    addVersion(secret, secretString, versionId);
    return secret;
  };

  const putSecret = (name: string, secretString: string): void => {
    const existing = find(name);
    if (existing) addVersion(existing, secretString, randomUUID());
    else create(name, secretString, randomUUID());
  };

  for (const [name, value] of Object.entries(initialSecrets)) putSecret(name, value);

  const server = await startAwsJsonServer({
    targetPrefix: "secretsmanager",
    operations: {
      GetSecretValue: (input) => {
        const secret = find(requireString(input, "SecretId"));
        if (!secret) throw notFound();
        const versionId = typeof input.VersionId === "string" ? input.VersionId : undefined;
        const stage = typeof input.VersionStage === "string" ? input.VersionStage : CURRENT;
        const version = versionId
          ? secret.versions.find((candidate) => candidate.versionId === versionId)
          : secret.versions.find((candidate) => candidate.stages.includes(stage));
        if (!version) {
          throw notFound(
            versionId
              ? `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`
              : `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
          );
        }
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: version.versionId,
          SecretString: version.secretString,
          VersionStages: version.stages,
          CreatedDate: version.createdDate,
        };
      },
      CreateSecret: (input) => {
        const name = requireString(input, "Name");
        if (secrets.has(name)) {
          throw new AwsServiceError(
            "ResourceExistsException",
            `The operation failed because the secret ${name} already exists.`,
          );
        }
        const versionId =
          typeof input.ClientRequestToken === "string" ? input.ClientRequestToken : randomUUID();
        const secret = create(name, requireString(input, "SecretString"), versionId);
        return { ARN: secret.arn, Name: secret.name, VersionId: versionId };
      },
      PutSecretValue: (input) => {
        const secret = find(requireString(input, "SecretId"));
        if (!secret) throw notFound();
        const versionId =
          typeof input.ClientRequestToken === "string" ? input.ClientRequestToken : randomUUID();
        const version = addVersion(secret, requireString(input, "SecretString"), versionId);
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: version.versionId,
          VersionStages: version.stages,
        };
      },
    },
  });

  return {
    url: server.url,
    calls: server.calls,
    putSecret,
    arnOf(name) {
      const secret = secrets.get(name);
      if (!secret) throw new Error(`no secret named ${name}`);
      return secret.arn;
    },
    failNext: (operation, error, times) => server.failNext(operation, error, times),
    close: () => server.close(),
  };
}
