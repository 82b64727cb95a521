import { errorName } from "../commons/errors.ts";
import { derivePathSecret } from "../contracts/callback-path-secret.ts";
import type { Deadline } from "../finapi/deadline.ts";
import type { Log } from "../finapi/log.ts";
import { type ReconcileOutcome, reconcile } from "../finapi/reconcile.ts";
import { type ClientConfigurationParams, parseDesiredDocument } from "../finapi/schema.ts";
import { awsErrorName, isTransientAwsError } from "./aws-errors.ts";
import {
  type FinapiCredentialsSecret,
  parseCallbackRootSecret,
  parseCredentialsSecret,
} from "./client-secrets.ts";
import type { ConfiguredClient } from "./config.ts";
import type { FinapiClientCache } from "./finapi-clients.ts";
import type { ParameterSource } from "./parameter-source.ts";
import type { SecretSource } from "./secret-source.ts";

export interface ClientSyncDependencies {
  readonly parameters: ParameterSource;
  readonly secrets: SecretSource;
  readonly finapiClients: FinapiClientCache;
  /** Where the stack hosts the user-sync callback, without a trailing slash; undefined when it hosts none. */
  readonly callbackBaseUrl: string | undefined;
  /** The callback root secret the clients' path secrets derive from; undefined when the stack hosts no callback. */
  readonly callbackRootSecretId?: string | undefined;
}

export interface ClientSyncRequest {
  readonly client: ConfiguredClient;
  readonly dryRun: boolean;
  readonly freshParameters: boolean;
  /** A document to compare instead of the stored parameter (dry runs only), as JSON text. */
  readonly document?: string;
  /** Carries the client's name on every line, the finAPI client's included. */
  readonly log: Log;
  /** The client's deadline: AWS reads start only before it, finAPI calls only when they end before it. */
  readonly deadline: Deadline;
}

export interface ClientSyncResult {
  readonly outcome: ReconcileOutcome;
  /** The version of the parameter the outcome is about, when it could be read. */
  readonly parameterVersion?: number;
}

/** A step before finAPI failed; its message is already fit for logs (names and rules, no values). */
class StepFailure extends Error {
  readonly retryable: boolean;

  constructor(message: string, retryable: boolean) {
    super(message);
    this.retryable = retryable;
  }
}

function outOfTime(what: string, why: string): StepFailure {
  return new StepFailure(`out of time: ${what} ${why}`, true);
}

/*
 * An AWS read runs only while the client has time, with the run's signal: the SDK sends nothing once
 * it is aborted. A read the signal cut short is out of time, not an AWS failure.
 */
async function readInTime<T>(what: string, deadline: Deadline, read: (signal: AbortSignal) => Promise<T>) {
  if (deadline.signal.aborted) throw outOfTime(what, "was not started: the run's deadline passed");
  if (deadline.remainingMs() <= 0) throw outOfTime(what, "was not started: the client's time ran out");
  try {
    return await read(deadline.signal);
  } catch (error) {
    throw deadline.signal.aborted
      ? outOfTime(what, "was cut off by the run's deadline")
      : awsFailure(what, error);
  }
}

function awsFailure(what: string, error: unknown): StepFailure {
  const transient = isTransientAwsError(error);
  return new StepFailure(
    `${what} failed (${awsErrorName(error)})${transient ? "" : ": check that it exists and that the function may read it"}`,
    transient,
  );
}

async function readSecret(
  secrets: SecretSource,
  secretId: string,
  purpose: string,
  deadline: Deadline,
  fresh = false,
): Promise<string> {
  const value = await readInTime(
    `reading the ${purpose} secret "${secretId}" from Secrets Manager`,
    deadline,
    (signal) => secrets.read(secretId, { fresh, signal }),
  );
  if (value === undefined) {
    throw new StepFailure(
      `the ${purpose} secret "${secretId}" holds binary data; it must hold a SecretString`,
      false,
    );
  }
  return value;
}

async function readCredentials(
  secrets: SecretSource,
  secretId: string,
  deadline: Deadline,
  fresh = false,
): Promise<FinapiCredentialsSecret> {
  const parsed = parseCredentialsSecret(await readSecret(secrets, secretId, "credentials", deadline, fresh));
  if (!parsed.ok) throw new StepFailure(`the credentials secret "${secretId}" ${parsed.problem}`, false);
  return parsed.value;
}

interface HostedCallback {
  readonly defaults: ClientConfigurationParams;
  readonly secrets: readonly string[];
}

/*
 * The hosted callback URL carries the client's path secret, derived from the stack's root secret and
 * the client's generation. It is derived whenever the stack hosts the callback, even when the document
 * sets the URL itself: the secret must still be masked in the diff, where finAPI's current value may be
 * the hosted URL.
 */
async function hostedCallback(
  request: ClientSyncRequest,
  dependencies: ClientSyncDependencies,
  documentSetsUrl: boolean,
): Promise<HostedCallback> {
  const { client } = request;
  const { callbackBaseUrl, callbackRootSecretId: secretId } = dependencies;
  if (callbackBaseUrl === undefined || secretId === undefined) return { defaults: {}, secrets: [] };
  const parsed = parseCallbackRootSecret(
    await readSecret(dependencies.secrets, secretId, "callback root", request.deadline),
  );
  if (!parsed.ok) throw new StepFailure(`the callback root secret "${secretId}" ${parsed.problem}`, false);
  const pathSecret = derivePathSecret(parsed.value, {
    name: client.name,
    callbackSecretGeneration: client.callbackSecretGeneration ?? 0,
  });
  const url = `${callbackBaseUrl}/user-sync/${client.name}/${pathSecret}`;
  return {
    defaults: documentSetsUrl ? {} : { userSynchronizationCallbackUrl: url },
    secrets: [pathSecret, parsed.value],
  };
}

async function readDocument(request: ClientSyncRequest, parameters: ParameterSource) {
  if (request.document !== undefined) return { value: request.document, version: undefined };
  const { parameterName } = request.client;
  const snapshot = await readInTime(
    `reading parameter "${parameterName}" from Parameter Store`,
    request.deadline,
    (signal) => parameters.read(parameterName, { fresh: request.freshParameters, signal }),
  );
  if (snapshot === undefined) {
    throw new StepFailure(
      `parameter "${parameterName}" does not exist in Parameter Store; finAPI was left unchanged`,
      false,
    );
  }
  return snapshot;
}

/**
 * One client's reconcile: read its document (an invalid one stops here, before any secret or finAPI
 * call), its credentials and hosted callback, then let the core make finAPI match. Never throws.
 *
 * A run that reads documents through the cache only looks with a cached one: a newer document may be
 * waiting behind its change event, and patching the cached one would put old values back into finAPI.
 * Only when it finds drift does it read the parameter afresh and patch from that, so an in-sync client
 * still costs one finAPI call and no Parameter Store read. A document the cache does not hold is read
 * from Parameter Store anyway, so it is read afresh and applied at once, without the look.
 */
export async function syncClient(
  request: ClientSyncRequest,
  dependencies: ClientSyncDependencies,
): Promise<ClientSyncResult> {
  if (request.freshParameters || request.dryRun || request.client.mode !== "apply") {
    return syncOnce(request, dependencies);
  }
  if (!dependencies.parameters.isCached(request.client.parameterName)) {
    return syncOnce({ ...request, freshParameters: true }, dependencies);
  }
  const preview = await syncOnce({ ...request, dryRun: true }, dependencies);
  if (preview.outcome.outcome !== "drift-reported") return preview;
  return syncOnce({ ...request, freshParameters: true }, dependencies);
}

async function syncOnce(
  request: ClientSyncRequest,
  dependencies: ClientSyncDependencies,
): Promise<ClientSyncResult> {
  const { client, log } = request;
  let parameterVersion: number | undefined;
  try {
    const snapshot = await readDocument(request, dependencies.parameters);
    parameterVersion = snapshot.version;
    const version = parameterVersion === undefined ? {} : { parameterVersion };
    const parsed = parseDesiredDocument(snapshot.value, client.environment);
    if (!parsed.ok)
      return { outcome: { outcome: "invalid", violations: [...parsed.violations] }, ...version };

    const callback = await hostedCallback(
      request,
      dependencies,
      parsed.value.userSynchronizationCallbackUrl !== undefined,
    );
    const run = (credentials: FinapiCredentialsSecret) =>
      reconcile({
        document: snapshot.value,
        environment: client.environment,
        client: dependencies.finapiClients.clientFor(client, credentials, log),
        mode: client.mode,
        dryRun: request.dryRun,
        defaults: callback.defaults,
        secrets: callback.secrets,
        log,
        deadline: request.deadline,
      });

    const credentials = await readCredentials(
      dependencies.secrets,
      client.credentialsSecretId,
      request.deadline,
    );
    const outcome = await run(credentials);
    if (outcome.outcome !== "rejected" || outcome.status !== 401) return { outcome, ...version };

    /* finAPI refused the credentials: they may have been rotated since the container cached them. */
    const current = await readCredentials(
      dependencies.secrets,
      client.credentialsSecretId,
      request.deadline,
      true,
    );
    if (current.clientId === credentials.clientId && current.clientSecret === credentials.clientSecret) {
      return { outcome, ...version };
    }
    log.info("the credentials secret changed since it was cached; reconciling again with the new one", {
      secretId: client.credentialsSecretId,
    });
    return { outcome: await run(current), ...version };
  } catch (error) {
    const failure =
      error instanceof StepFailure ? error : new StepFailure(`unexpected error (${errorName(error)})`, true);
    return {
      outcome: { outcome: "failed", message: failure.message, retryable: failure.retryable },
      ...(parameterVersion === undefined ? {} : { parameterVersion }),
    };
  }
}
