import { randomUUID } from "node:crypto";
import { type AwsJsonCall, AwsServiceError, startAwsJsonServer } from "./json-protocol-server.ts";

const REGION = "eu-central-1";
const ACCOUNT = "000000000000";
const CURRENT = "AWSCURRENT";
const PREVIOUS = "AWSPREVIOUS";
/** The most secrets one BatchGetSecretValue call takes. */
const BATCH_GET_MAX_IDS = 20;

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
  /** Set by DeleteSecret: the secret is marked for deletion until restored. */
  deletedDate?: number;
  /** What every read of the secret answers instead of its value (access denied, decryption failure). */
  readFault?: AwsServiceError;
}

/** How the whole service fails until told otherwise. */
export type SecretsManagerOutage = "throttling" | "internal-error" | "hang";

export interface SecretsManagerStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly url: string;
  readonly calls: readonly AwsJsonCall[];
  /**
   * Creates the secret, or rotates it: the new value becomes AWSCURRENT, the old current AWSPREVIOUS.
   * The version's CreatedDate is `createdAt`, else the stand-in's clock.
   */
  putSecret(name: string, secretString: string, createdAt?: Date): void;
  /** Every read of the secret answers AccessDeniedException, as a resource or key policy that denies. */
  denyAccess(name: string): void;
  /** Every read of the secret answers DecryptionFailure, as when its KMS key is disabled or not usable. */
  failDecryption(name: string): void;
  /** Undoes denyAccess and failDecryption. */
  restoreAccess(name: string): void;
  /** Every call fails this way (throttled, 500, or never answered) until called with `undefined`. */
  setOutage(outage: SecretsManagerOutage | undefined): void;
  /** The ARN the stand-in gave the secret (GetSecretValue accepts the name or the ARN). */
  arnOf(name: string): string;
  failNext(operation: string, error: AwsServiceError, times?: number): void;
  close(): Promise<void>;
}

const MARKED_FOR_DELETION =
  "You can't perform this operation on the secret because it was marked for deletion.";

const OUTAGE_ERRORS: Readonly<Record<Exclude<SecretsManagerOutage, "hang">, () => AwsServiceError>> = {
  throttling: () => new AwsServiceError("ThrottlingException", "Rate exceeded", 400),
  "internal-error": () =>
    new AwsServiceError("InternalServiceError", "An error occurred on the server side.", 500),
};

/** A version's value as GetSecretValue and BatchGetSecretValue answer it. */
function secretValue(secret: StoredSecret, version: SecretVersion) {
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    SecretString: version.secretString,
    VersionStages: version.stages,
    CreatedDate: version.createdDate,
  };
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

export interface SecretsManagerStandInOptions {
  /** The clock that dates new versions (CreatedDate) and deletions. @default the system clock */
  readonly now?: () => Date;
}

/**
 * A local Secrets Manager (GetSecretValue with VersionStage/VersionId, BatchGetSecretValue by
 * SecretIdList, CreateSecret, PutSecretValue,
 * UpdateSecretVersionStage, DeleteSecret, RestoreSecret) that keeps the AWSCURRENT/AWSPREVIOUS staging labels the way a rotation
 * moves them, dates each version, answers a secret marked for deletion as AWS does, and can deny access,
 * fail decryption, throttle, fail or hang.
 */
export async function startSecretsManager(
  initialSecrets: Readonly<Record<string, string>> = {},
  options: SecretsManagerStandInOptions = {},
): Promise<SecretsManagerStandIn> {
  const now = options.now ?? (() => new Date());
  const secrets = new Map<string, StoredSecret>();
  let outage: SecretsManagerOutage | undefined;

  const find = (secretId: string): StoredSecret | undefined =>
    secrets.get(secretId) ?? [...secrets.values()].find((secret) => secret.arn === secretId);

  /* A secret that exists and may be read or changed, or the error AWS answers instead. */
  const usable = (secretId: string): StoredSecret => {
    const secret = find(secretId);
    if (!secret) throw notFound();
    if (secret.deletedDate !== undefined)
      throw new AwsServiceError("InvalidRequestException", MARKED_FOR_DELETION);
    return secret;
  };

  const addVersion = (
    secret: StoredSecret,
    secretString: string,
    versionId: string,
    createdAt = now(),
  ): SecretVersion => {
    for (const version of secret.versions) {
      version.stages = version.stages.filter((stage) => stage !== PREVIOUS);
      if (version.stages.includes(CURRENT)) {
        version.stages = version.stages.filter((stage) => stage !== CURRENT).concat(PREVIOUS);
      }
    }
    const version: SecretVersion = {
      versionId,
      secretString,
      createdDate: createdAt.getTime() / 1000,
      stages: [CURRENT],
    };
    secret.versions.push(version);
    return version;
  };

  const create = (name: string, secretString: string, versionId: string, createdAt?: Date): StoredSecret => {
    const suffix = randomUUID().replaceAll("-", "").slice(0, 6);
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${suffix}`,
      versions: [],
    };
    secrets.set(name, secret);
    addVersion(secret, secretString, versionId, createdAt);
    return secret;
  };

  const putSecret = (name: string, secretString: string, createdAt?: Date): void => {
    const existing = find(name);
    if (existing) addVersion(existing, secretString, randomUUID(), createdAt);
    else create(name, secretString, randomUUID(), createdAt);
  };

  const named = (name: string): StoredSecret => {
    const secret = find(name);
    if (!secret) throw new Error(`no secret named ${name}`);
    return secret;
  };

  /* Every operation first meets the outage, if there is one. */
  const served =
    (operation: (input: Record<string, unknown>) => unknown) =>
    (input: Record<string, unknown>): unknown => {
      if (outage === "hang") return new Promise(() => {});
      if (outage) throw OUTAGE_ERRORS[outage]();
      return operation(input);
    };

  for (const [name, value] of Object.entries(initialSecrets)) putSecret(name, value);

  const server = await startAwsJsonServer({
    targetPrefix: "secretsmanager",
    operations: {
      GetSecretValue: served((input) => {
        const secret = usable(requireString(input, "SecretId"));
        if (secret.readFault) throw secret.readFault;
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
        return secretValue(secret, version);
      }),
      BatchGetSecretValue: served((input) => {
        if (input.SecretIdList !== undefined && input.Filters !== undefined) {
          throw new AwsServiceError(
            "InvalidParameterException",
            "Either 'SecretIdList' or 'Filters' must be provided, but not both.",
          );
        }
        if (input.Filters !== undefined) {
          throw new AwsServiceError(
            "InvalidRequestException",
            "the stand-in answers SecretIdList only, not Filters",
          );
        }
        if (input.MaxResults !== undefined) {
          throw new AwsServiceError(
            "InvalidParameterException",
            "'MaxResults' may be used only with 'Filters'.",
          );
        }
        const secretIds = input.SecretIdList;
        if (
          !Array.isArray(secretIds) ||
          secretIds.length === 0 ||
          !secretIds.every((id) => typeof id === "string" && id !== "")
        ) {
          throw new AwsServiceError("InvalidParameterException", "SecretIdList or Filters must be provided.");
        }
        if (secretIds.length > BATCH_GET_MAX_IDS) {
          throw new AwsServiceError(
            "ValidationException",
            `1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to ${BATCH_GET_MAX_IDS}`,
          );
        }
        /* Each secret is answered as GetSecretValue would answer it; a secret it would refuse goes to Errors. */
        const SecretValues: Record<string, unknown>[] = [];
        const Errors: Record<string, unknown>[] = [];
        for (const secretId of secretIds as string[]) {
          try {
            const secret = usable(secretId);
            if (secret.readFault) throw secret.readFault;
            const version = secret.versions.find((candidate) => candidate.stages.includes(CURRENT));
            if (!version) throw notFound();
            SecretValues.push(secretValue(secret, version));
          } catch (error) {
            if (!(error instanceof AwsServiceError)) throw error;
            Errors.push({ SecretId: secretId, ErrorCode: error.type, Message: error.message });
          }
        }
        return { SecretValues, Errors };
      }),
      CreateSecret: served((input) => {
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
      }),
      PutSecretValue: served((input) => {
        const secret = usable(requireString(input, "SecretId"));
        const versionId =
          typeof input.ClientRequestToken === "string" ? input.ClientRequestToken : randomUUID();
        const version = addVersion(secret, requireString(input, "SecretString"), versionId);
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: version.versionId,
          VersionStages: version.stages,
        };
      }),
      DeleteSecret: served((input) => {
        const secret = usable(requireString(input, "SecretId"));
        if (input.ForceDeleteWithoutRecovery === true) {
          secrets.delete(secret.name);
          return { ARN: secret.arn, Name: secret.name, DeletionDate: now().getTime() / 1000 };
        }
        const windowDays = typeof input.RecoveryWindowInDays === "number" ? input.RecoveryWindowInDays : 30;
        secret.deletedDate = now().getTime() / 1000;
        return { ARN: secret.arn, Name: secret.name, DeletionDate: secret.deletedDate + windowDays * 86_400 };
      }),
      UpdateSecretVersionStage: served((input) => {
        const secret = usable(requireString(input, "SecretId"));
        const stage = requireString(input, "VersionStage");
        const versionOf = (key: string) => {
          const versionId = input[key];
          if (versionId === undefined) return undefined;
          const version = secret.versions.find((candidate) => candidate.versionId === versionId);
          if (!version)
            throw notFound(`Secrets Manager can't find the specified secret version: ${String(versionId)}`);
          return version;
        };
        const from = versionOf("RemoveFromVersionId");
        const to = versionOf("MoveToVersionId");
        const holder = secret.versions.find((version) => version.stages.includes(stage));
        if (holder && holder !== from && to) {
          throw new AwsServiceError(
            "InvalidParameterException",
            `The staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
          );
        }
        if (stage === CURRENT && from && !to) {
          throw new AwsServiceError(
            "InvalidParameterException",
            "AWSCURRENT can only be moved, not removed.",
          );
        }
        if (from) from.stages = from.stages.filter((candidate) => candidate !== stage);
        if (to && !to.stages.includes(stage)) to.stages.push(stage);
        return { ARN: secret.arn, Name: secret.name };
      }),
      RestoreSecret: served((input) => {
        const secret = find(requireString(input, "SecretId"));
        if (!secret) throw notFound();
        delete secret.deletedDate;
        return { ARN: secret.arn, Name: secret.name };
      }),
    },
  });

  return {
    url: server.url,
    calls: server.calls,
    putSecret,
    arnOf: (name) => named(name).arn,
    denyAccess(name) {
      const secret = named(name);
      secret.readFault = new AwsServiceError(
        "AccessDeniedException",
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/user-sync-callback is not authorized to perform: secretsmanager:GetSecretValue on resource: ${secret.name} because no resource-based policy allows the secretsmanager:GetSecretValue action`,
      );
    },
    failDecryption(name) {
      named(name).readFault = new AwsServiceError(
        "DecryptionFailure",
        "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
      );
    },
    restoreAccess(name) {
      delete named(name).readFault;
    },
    setOutage(next) {
      outage = next;
    },
    failNext: (operation, error, times) => server.failNext(operation, error, times),
    close: () => server.close(),
  };
}
