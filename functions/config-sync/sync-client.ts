import { errorName } from "../commons/errors.ts";
import { derivePathSecret } from "../contracts/callback-path-secret.ts";
import type { FinapiClient } from "../finapi/client.ts";
import type { Deadline } from "../finapi/deadline.ts";
import { FinapiRejectedError } from "../finapi/errors.ts";
import type { Log } from "../finapi/log.ts";
import { type LatestDocument, type ReconcileOutcome, reconcile } from "../finapi/reconcile.ts";
import { type ClientConfigurationParams, parseDesiredDocument } from "../finapi/schema.ts";
import { awsErrorName, isTransientAwsError } from "./aws-errors.ts";
import {
  type FinapiCredentialsSecret,
  parseCallbackRootSecret,
  parseCredentialsSecret,
} from "./client-secrets.ts";
import type { ConfiguredClient } from "./config.ts";
import type { FinapiClientCache } from "./finapi-clients.ts";
import type { ParameterReader, ParameterSnapshot, ParameterSource } from "./parameter-source.ts";
import type { SecretBatches, SecretSource } from "./secret-source.ts";

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
  /** The run's reads of the clients' parameters: batched, from the cache or afresh as its trigger wants. */
  readonly documents: ParameterReader;
  /** The run's batched reads of its secrets (the clients' credentials and the callback root secret). */
  readonly secretBatches: SecretBatches;
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
async function readInTime<T>(
  what: string,
  deadline: Deadline,
  read: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
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

interface SecretReads {
  readonly secrets: SecretSource;
  readonly batches: SecretBatches;
}

/*
 * A cached read waits for the run's batch that reads the secret, then takes it from the cache; what the
 * batch did not bring (an error for that secret, a failed call) is read alone, as a fresh read always
 * is. Each wait and read starts only while the client has time, so a read still ends within one AWS
 * call's worst case of the client's budget.
 */
async function readSecret(
  reads: SecretReads,
  secretId: string,
  purpose: string,
  deadline: Deadline,
  fresh = false,
): Promise<string> {
  const what = `reading the ${purpose} secret "${secretId}" from Secrets Manager`;
  if (!fresh) await readInTime(what, deadline, (signal) => reads.batches.fetched(secretId, signal));
  const value = await readInTime(what, deadline, (signal) => reads.secrets.read(secretId, { fresh, signal }));
  if (value === undefined) {
    throw new StepFailure(
      `the ${purpose} secret "${secretId}" holds binary data; it must hold a SecretString`,
      false,
    );
  }
  return value;
}

async function readCredentials(
  reads: SecretReads,
  secretId: string,
  deadline: Deadline,
  fresh = false,
): Promise<FinapiCredentialsSecret> {
  const parsed = parseCredentialsSecret(await readSecret(reads, secretId, "credentials", deadline, fresh));
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
 * sets the URL itself (the document's value then wins over the default): the secret must still be masked in the diff, where finAPI's current value may be
 * the hosted URL.
 */
async function hostedCallback(
  request: ClientSyncRequest,
  dependencies: ClientSyncDependencies,
): Promise<HostedCallback> {
  const { client } = request;
  const { callbackBaseUrl, callbackRootSecretId: secretId } = dependencies;
  if (callbackBaseUrl === undefined || secretId === undefined) return { defaults: {}, secrets: [] };
  const parsed = parseCallbackRootSecret(
    await readSecret(
      { secrets: dependencies.secrets, batches: request.secretBatches },
      secretId,
      "callback root",
      request.deadline,
    ),
  );
  if (!parsed.ok) throw new StepFailure(`the callback root secret "${secretId}" ${parsed.problem}`, false);
  const pathSecret = derivePathSecret(parsed.value, {
    name: client.name,
    callbackSecretGeneration: client.callbackSecretGeneration ?? 0,
  });
  const url = `${callbackBaseUrl}/user-sync/${client.name}/${pathSecret}`;
  return { defaults: { userSynchronizationCallbackUrl: url }, secrets: [pathSecret, parsed.value] };
}

interface DocumentRead extends ParameterSnapshot {
  /** Read from the container's cache: possibly older than the parameter (its change event may be waiting). */
  readonly cached: boolean;
}

async function readParameter(
  name: string,
  deadline: Deadline,
  reader: ParameterReader,
): Promise<DocumentRead> {
  const read = await readInTime(`reading parameter "${name}" from Parameter Store`, deadline, () =>
    reader.read(name),
  );
  if (read.snapshot === undefined) {
    throw new StepFailure(
      `parameter "${name}" does not exist in Parameter Store; finAPI was left unchanged`,
      false,
    );
  }
  return { ...read.snapshot, cached: read.cached };
}

function failedOutcome(error: unknown): ReconcileOutcome {
  const failure =
    error instanceof StepFailure ? error : new StepFailure(`unexpected error (${errorName(error)})`, true);
  return { outcome: "failed", message: failure.message, retryable: failure.retryable };
}

/*
 * finAPI refusing the credentials (HTTP 401 to the token request, or to a call made with a token just
 * issued; the finAPI client renews an expired token itself) may mean they were rotated since the
 * container cached them. The secret is then read afresh once and, when it changed, the refused call is
 * made again with the new credentials: the calls before it stand.
 */
function renewingCredentials(
  first: FinapiClient,
  renew: () => Promise<FinapiClient | undefined>,
): FinapiClient {
  let current = first;
  let renewed = false;
  const call = async <T>(send: (client: FinapiClient) => Promise<T>): Promise<T> => {
    try {
      return await send(current);
    } catch (error) {
      if (renewed || !(error instanceof FinapiRejectedError) || error.status !== 401) throw error;
      renewed = true;
      const next = await renew();
      if (!next) throw error;
      current = next;
      return send(current);
    }
  };
  return {
    getClientConfiguration: (options) => call((client) => client.getClientConfiguration(options)),
    patchClientConfiguration: (params, options) =>
      call((client) => client.patchClientConfiguration(params, options)),
  };
}

/**
 * One client's reconcile: read its document (from the run's batched reads; an invalid one stops here,
 * before any secret or finAPI call), parse it once, read its credentials and hosted callback, then let
 * the core make finAPI match. Never throws.
 *
 * A document served from the container's cache is only good enough to look with: a newer one may be
 * waiting behind its change event, and patching the cached one would put old values back into finAPI.
 * When the look finds drift, the parameter is read afresh and the plan made from it against the same
 * GET before anything is patched, so an in-sync client costs one finAPI call and no Parameter Store
 * read, and a drifted one still costs one GET.
 */
export async function syncClient(
  request: ClientSyncRequest,
  dependencies: ClientSyncDependencies,
): Promise<ClientSyncResult> {
  const { client, log, deadline } = request;
  let parameterVersion: number | undefined;
  const result = (outcome: ReconcileOutcome): ClientSyncResult => ({
    outcome,
    ...(parameterVersion === undefined ? {} : { parameterVersion }),
  });
  try {
    const read: DocumentRead =
      request.document === undefined
        ? await readParameter(client.parameterName, deadline, request.documents)
        : { value: request.document, version: undefined, cached: false };
    parameterVersion = read.version;
    const parsed = parseDesiredDocument(read.value, client.environment);
    if (!parsed.ok) return result({ outcome: "invalid", violations: [...parsed.violations] });

    const callback = await hostedCallback(request, dependencies);
    const secretReads = { secrets: dependencies.secrets, batches: request.secretBatches };
    const credentials = await readCredentials(secretReads, client.credentialsSecretId, deadline);
    let renewalFailure: unknown;
    const finapi = renewingCredentials(
      dependencies.finapiClients.clientFor(client, credentials, log),
      async () => {
        let current: FinapiCredentialsSecret;
        try {
          current = await readCredentials(secretReads, client.credentialsSecretId, deadline, true);
        } catch (error) {
          renewalFailure = error;
          throw error;
        }
        if (current.clientId === credentials.clientId && current.clientSecret === credentials.clientSecret) {
          return undefined;
        }
        log.info(
          "the credentials secret changed since it was cached; making the refused call again with the new one",
          {
            secretId: client.credentialsSecretId,
          },
        );
        return dependencies.finapiClients.clientFor(client, current, log);
      },
    );

    const latestDocument = async (): Promise<LatestDocument> => {
      try {
        const latest = await readParameter(
          client.parameterName,
          deadline,
          dependencies.parameters.reader([client.parameterName], { fresh: true, signal: deadline.signal }),
        );
        parameterVersion = latest.version;
        if (latest.value === read.value) return { ok: true, document: parsed.value };
        const latestParsed = parseDesiredDocument(latest.value, client.environment);
        return latestParsed.ok
          ? { ok: true, document: latestParsed.value }
          : { ok: false, outcome: { outcome: "invalid", violations: [...latestParsed.violations] } };
      } catch (error) {
        return { ok: false, outcome: failedOutcome(error) };
      }
    };

    const outcome = await reconcile({
      document: parsed.value,
      environment: client.environment,
      client: finapi,
      mode: client.mode,
      dryRun: request.dryRun,
      defaults: callback.defaults,
      secrets: callback.secrets,
      log,
      deadline,
      ...(read.cached ? { latestDocument } : {}),
    });
    if (renewalFailure !== undefined) throw renewalFailure;
    return result(outcome);
  } catch (error) {
    return result(failedOutcome(error));
  }
}
