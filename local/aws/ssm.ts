import { createHash, randomUUID } from "node:crypto";
import { type AwsJsonCall, AwsServiceError, startAwsJsonServer } from "./json-protocol-server.ts";

const REGION = "eu-central-1";
const ACCOUNT = "000000000000";
/* The standard tier's limits, which is the tier the stack uses. */
const MAX_VALUE_LENGTH = 4096;
const MAX_LABELS_PER_VERSION = 10;
const NAME_PATTERN = /^[A-Za-z0-9_.\-/]{1,2048}$/;
const LABEL_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;

export const PARAMETER_TYPES = ["String", "StringList", "SecureString"] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];
export const PARAMETER_OPERATIONS = ["Create", "Update", "Delete", "LabelParameterVersion"] as const;
export type ParameterOperation = (typeof PARAMETER_OPERATIONS)[number];

/** The EventBridge event Parameter Store emits for a change, as AWS delivers it to a rule's target. */
export interface ParameterStoreChangeEvent {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": "Parameter Store Change";
  readonly source: "aws.ssm";
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: {
    readonly operation: ParameterOperation;
    readonly name: string;
    readonly type: ParameterType;
    readonly description: string;
  };
}

interface ParameterVersion {
  readonly version: number;
  readonly value: string;
  readonly type: ParameterType;
  readonly description: string;
  readonly modifiedAt: number;
  labels: string[];
}

export interface PutOptions {
  /** @default "String" */
  readonly type?: ParameterType;
  /** @default "" */
  readonly description?: string;
}

export interface SsmStandInOptions {
  /** Parameters that exist from the start (version 1, String); they emit no change events. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Called after each change, with the event Parameter Store would send to EventBridge. */
  readonly onChange?: (event: ParameterStoreChangeEvent) => void;
}

export interface SsmStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_SSM`. */
  readonly url: string;
  readonly calls: readonly AwsJsonCall[];
  /** Every change event emitted, in order (API calls and the helpers below alike). */
  readonly changes: readonly ParameterStoreChangeEvent[];
  /** Creates the parameter or adds a version to it, as `PutParameter` with `Overwrite: true` does. */
  putParameter(name: string, value: string, options?: PutOptions): number;
  deleteParameter(name: string): void;
  /** The latest version's value, or undefined when the parameter does not exist. */
  valueOf(name: string): string | undefined;
  failNext(operation: string, error: AwsServiceError, times?: number): void;
  close(): Promise<void>;
}

function arnOf(name: string): string {
  return `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${name.replace(/^\//, "")}`;
}

function validName(name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new AwsServiceError(
      "ValidationException",
      "Name must be 1 to 2048 characters of letters, digits and _ . - /",
    );
  }
  if (name.includes("/") && !name.startsWith("/")) {
    throw new AwsServiceError("ValidationException", "Parameter name: a hierarchical name must begin with /");
  }
  return name;
}

function notFound(name: string): AwsServiceError {
  return new AwsServiceError("ParameterNotFound", `Parameter ${name} not found.`);
}

/* Real SSM returns KMS ciphertext for a SecureString read without decryption: opaque, never the value. */
function ciphertextOf(value: string): string {
  return Buffer.from(`kms:${createHash("sha256").update(value).digest("hex")}`).toString("base64");
}

/**
 * A local SSM Parameter Store: PutParameter (versions, Overwrite), GetParameter and GetParameters (with
 * `name:version` and `name:label` selectors, SecureString decryption), DeleteParameter and
 * LabelParameterVersion. Every change also produces the "Parameter Store Change" event AWS would send
 * to EventBridge, so a test or the local loop can deliver it to the config-sync handler.
 */
export async function startSsm(options: SsmStandInOptions = {}): Promise<SsmStandIn> {
  const parameters = new Map<string, ParameterVersion[]>();
  const changes: ParameterStoreChangeEvent[] = [];

  const emit = (operation: ParameterOperation, name: string, latest: ParameterVersion) => {
    const event: ParameterStoreChangeEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Parameter Store Change",
      source: "aws.ssm",
      account: ACCOUNT,
      time: new Date().toISOString(),
      region: REGION,
      resources: [arnOf(name)],
      detail: { operation, name, type: latest.type, description: latest.description },
    };
    changes.push(event);
    options.onChange?.(event);
  };

  const put = (name: string, value: string, settings: PutOptions, overwrite: boolean): number => {
    validName(name);
    if (value.length === 0 || value.length > MAX_VALUE_LENGTH) {
      throw new AwsServiceError(
        "ValidationException",
        `Parameter value must be 1 to ${MAX_VALUE_LENGTH} characters`,
      );
    }
    const versions = parameters.get(name);
    if (versions && !overwrite) {
      throw new AwsServiceError("ParameterAlreadyExists", "The parameter already exists.");
    }
    const previous = versions?.at(-1);
    const next: ParameterVersion = {
      version: (previous?.version ?? 0) + 1,
      value,
      type: settings.type ?? previous?.type ?? "String",
      description: settings.description ?? previous?.description ?? "",
      modifiedAt: Date.now() / 1000,
      labels: [],
    };
    parameters.set(name, [...(versions ?? []), next]);
    emit(versions ? "Update" : "Create", name, next);
    return next.version;
  };

  const remove = (name: string) => {
    const latest = parameters.get(name)?.at(-1);
    if (!latest) throw notFound(name);
    parameters.delete(name);
    emit("Delete", name, latest);
  };

  /** `name`, `name:3` or `name:label`, as GetParameter accepts. */
  const resolve = (reference: string): { name: string; found: ParameterVersion; selector?: string } => {
    const separator = reference.lastIndexOf(":");
    const name = separator === -1 ? reference : reference.slice(0, separator);
    const selector = separator === -1 ? undefined : reference.slice(separator + 1);
    const versions = parameters.get(name);
    if (!versions) throw notFound(reference);
    if (selector === undefined) return { name, found: versions.at(-1) as ParameterVersion };
    const found = /^\d+$/.test(selector)
      ? versions.find((candidate) => candidate.version === Number(selector))
      : versions.find((candidate) => candidate.labels.includes(selector));
    if (!found) {
      throw new AwsServiceError(
        "ParameterVersionNotFound",
        `Systems Manager could not find version ${selector} of ${name}.`,
      );
    }
    return { name, found, selector: `:${selector}` };
  };

  const describe = (reference: string, withDecryption: boolean) => {
    const { name, found, selector } = resolve(reference);
    const value = found.type === "SecureString" && !withDecryption ? ciphertextOf(found.value) : found.value;
    return {
      Name: name,
      Type: found.type,
      Value: value,
      Version: found.version,
      ...(selector ? { Selector: selector } : {}),
      LastModifiedDate: found.modifiedAt,
      ARN: arnOf(name),
      DataType: "text",
    };
  };

  for (const [name, value] of Object.entries(options.parameters ?? {})) {
    parameters.set(name, [
      { version: 1, value, type: "String", description: "", modifiedAt: Date.now() / 1000, labels: [] },
    ]);
  }

  const server = await startAwsJsonServer({
    targetPrefix: "AmazonSSM",
    operations: {
      GetParameter: (input) => {
        const reference = input.Name;
        if (typeof reference !== "string" || reference === "") {
          throw new AwsServiceError("ValidationException", "Name must be a non-empty string");
        }
        return { Parameter: describe(reference, input.WithDecryption === true) };
      },
      GetParameters: (input) => {
        const names = Array.isArray(input.Names)
          ? input.Names.filter((name) => typeof name === "string")
          : [];
        if (names.length === 0 || names.length > 10) {
          throw new AwsServiceError("ValidationException", "Names must hold 1 to 10 parameter names");
        }
        const found: ReturnType<typeof describe>[] = [];
        const invalid: string[] = [];
        for (const name of names) {
          try {
            found.push(describe(name, input.WithDecryption === true));
          } catch {
            invalid.push(name);
          }
        }
        return { Parameters: found, InvalidParameters: invalid };
      },
      PutParameter: (input) => {
        const name = validName(input.Name);
        if (typeof input.Value !== "string") {
          throw new AwsServiceError("ValidationException", "Value must be a string");
        }
        const type = input.Type;
        if (type !== undefined && !(PARAMETER_TYPES as readonly unknown[]).includes(type)) {
          throw new AwsServiceError(
            "ValidationException",
            `Type must be one of ${PARAMETER_TYPES.join(", ")}`,
          );
        }
        if (type === undefined && !parameters.has(name)) {
          throw new AwsServiceError("ValidationException", "A new parameter needs a Type");
        }
        const version = put(
          name,
          input.Value,
          {
            ...(type === undefined ? {} : { type: type as ParameterType }),
            ...(typeof input.Description === "string" ? { description: input.Description } : {}),
          },
          input.Overwrite === true,
        );
        return { Version: version, Tier: "Standard" };
      },
      DeleteParameter: (input) => {
        remove(validName(input.Name));
        return {};
      },
      LabelParameterVersion: (input) => {
        const name = validName(input.Name);
        const versions = parameters.get(name);
        if (!versions) throw notFound(name);
        const wanted = typeof input.ParameterVersion === "number" ? input.ParameterVersion : undefined;
        const target = wanted === undefined ? versions.at(-1) : versions.find((v) => v.version === wanted);
        if (!target) {
          throw new AwsServiceError(
            "ParameterVersionNotFound",
            `Systems Manager could not find version ${wanted} of ${name}.`,
          );
        }
        const labels = Array.isArray(input.Labels) ? input.Labels.filter((l) => typeof l === "string") : [];
        if (labels.length === 0) throw new AwsServiceError("ValidationException", "Labels must not be empty");
        const invalid = labels.filter((label) => !LABEL_PATTERN.test(label) || /^\d/.test(label));
        const valid = labels.filter((label) => !invalid.includes(label));
        if (new Set([...target.labels, ...valid]).size > MAX_LABELS_PER_VERSION) {
          throw new AwsServiceError(
            "ParameterVersionLabelLimitExceeded",
            `A parameter version can have at most ${MAX_LABELS_PER_VERSION} labels.`,
          );
        }
        /* A label names one version at a time: attaching it here moves it from any other version. */
        for (const version of versions) version.labels = version.labels.filter((l) => !valid.includes(l));
        target.labels = [...new Set([...target.labels, ...valid])];
        if (valid.length > 0) emit("LabelParameterVersion", name, versions.at(-1) as ParameterVersion);
        return { InvalidLabels: invalid, ParameterVersion: target.version };
      },
    },
  });

  return {
    url: server.url,
    calls: server.calls,
    changes,
    putParameter: (name, value, putOptions = {}) => put(name, value, putOptions, true),
    deleteParameter: remove,
    valueOf: (name) => parameters.get(name)?.at(-1)?.value,
    failNext: (operation, error, times) => server.failNext(operation, error, times),
    close: () => server.close(),
  };
}
