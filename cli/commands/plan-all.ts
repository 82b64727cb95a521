import { dirname, join, relative, resolve } from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { describeError } from "../../functions/commons/errors.ts";
import { redactUrl } from "../../functions/finapi/redact.ts";
import {
  type ClientConfigurationParams,
  type FinapiEnvironment,
  formatViolations,
  MANAGED_FIELDS,
  type ManagedField,
  parseDesiredDocument,
  type Violation,
} from "../../functions/finapi/schema.ts";
import { type ClientConfig, StackConfigError } from "../../infra/config.ts";
import { type CommandIo, ExitCode } from "../io.ts";
import { parseCommandArgs, readDocument } from "../options.ts";
import { githubAnnotations, jsonDocument, outputFormat } from "../output.ts";
import { contextClients } from "./context-clients.ts";

export const planAllUsage = `Usage: finapi-config plan --all [--context cdk.json] [--documents DIR] [--via-function NAME]
                          [--json | --format F]

Plans a pull request: for every client of the CDK context that has a document in the repository, shows
how the repository document differs from the value stored in its Parameter Store parameter, that is,
what merging and pushing it changes. No finAPI credentials are needed.

A client's repository document is its "document" in the context, else <DIR>/<client>.json when
--documents DIR is given; a client with neither is listed as skipped.

Options:
  --context FILE   the CDK context: cdk.json, or any JSON file with a "context" object [default: cdk.json]
  --documents DIR  where pipeline-owned documents live, one <client>.json per client
  --via-function NAME
                   also ask the deployed config-sync function (name or ARN) how finAPI differs from each
                   document: a dry run that is never applied or stored; only the function holds finAPI's
                   credentials (needs lambda:InvokeFunction on it)
  --json           print one JSON document: {clients: [{client, parameterName, result, changes, ...}]}
  --format F       text, json or github (violations as GitHub workflow annotations)
  -h, --help       show this help

AWS credentials, region and endpoint come from the AWS SDK's usual settings (AWS_PROFILE,
AWS_REGION, AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_LAMBDA, ...).

Exit codes: 0 nothing to change anywhere, 2 changes pending (in Parameter Store or, with
--via-function, in finAPI), 1 a document or the context is invalid, 3 Parameter Store, Lambda or
finAPI error, 64 usage error.`;

/** A managed field whose value the merge changes; `undefined` means the field is unmanaged there. */
interface DocumentChange {
  readonly field: ManagedField;
  readonly from?: string | number;
  readonly to?: string | number;
}

/** One client's part of the plan. */
interface ClientPlan {
  readonly client: string;
  readonly parameterName: string;
  readonly result: "in-sync" | "changes" | "created" | "skipped" | "invalid" | "error";
  readonly document?: string;
  readonly changes: readonly DocumentChange[];
  readonly storedVersion?: number;
  readonly violations?: readonly Violation[];
  readonly message?: string;
  /** With --via-function: what the deployed config-sync says finAPI would change for this document. */
  readonly finapi?: FinapiPlan;
}

/** config-sync's dry run of the repository document against finAPI. */
interface FinapiPlan {
  readonly outcome: string;
  readonly changes: readonly DocumentChange[];
  readonly message?: string;
}

const RESULT_EXIT: Record<ClientPlan["result"], number> = {
  "in-sync": ExitCode.Ok,
  skipped: ExitCode.Ok,
  changes: ExitCode.ChangesPending,
  created: ExitCode.ChangesPending,
  invalid: ExitCode.Invalid,
  error: ExitCode.Error,
};
/* The most severe result decides the exit code: an error hides nothing, an invalid document blocks a merge. */
const SEVERITY: readonly number[] = [ExitCode.Error, ExitCode.Invalid, ExitCode.ChangesPending, ExitCode.Ok];

/* URLs are masked: a stored callback URL may hold a path secret. */
const shown = (value: string | number | undefined) =>
  value === undefined
    ? "(unmanaged)"
    : typeof value === "string"
      ? JSON.stringify(redactUrl(value))
      : String(value);

/** The managed fields whose value differs between what is stored and what the repository holds. */
export function documentChanges(
  stored: ClientConfigurationParams | undefined,
  repository: ClientConfigurationParams,
): DocumentChange[] {
  return MANAGED_FIELDS.flatMap((field): DocumentChange[] => {
    const from = stored?.[field];
    const to = repository[field];
    if (from === to) return [];
    return [
      {
        field,
        ...(from === undefined ? {} : { from: typeof from === "string" ? redactUrl(from) : from }),
        ...(to === undefined ? {} : { to: typeof to === "string" ? redactUrl(to) : to }),
      },
    ];
  });
}

async function storedValue(ssm: SSMClient, name: string) {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return Parameter;
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined;
    throw error;
  }
}

async function planClient(
  ssm: SSMClient,
  client: ClientConfig,
  documentPath: string | undefined,
  documentText: string | undefined,
): Promise<ClientPlan> {
  const base = { client: client.name, parameterName: client.parameterName };
  if (documentPath === undefined || documentText === undefined) {
    return { ...base, result: "skipped", changes: [], message: "no repository document" };
  }
  const environment: FinapiEnvironment = client.environment;
  const repository = parseDesiredDocument(documentText, environment);
  if (!repository.ok) {
    return {
      ...base,
      document: documentPath,
      result: "invalid",
      changes: [],
      violations: repository.violations,
    };
  }
  let stored: Awaited<ReturnType<typeof storedValue>>;
  try {
    stored = await storedValue(ssm, client.parameterName);
  } catch (error) {
    return { ...base, document: documentPath, result: "error", changes: [], message: describeError(error) };
  }
  if (stored?.Value === undefined) {
    return {
      ...base,
      document: documentPath,
      result: "created",
      changes: documentChanges(undefined, repository.value),
    };
  }
  const current = parseDesiredDocument(stored.Value, environment);
  const changes = documentChanges(current.ok ? current.value : undefined, repository.value);
  const textDiffers = stored.Value !== documentText;
  return {
    ...base,
    document: documentPath,
    result: changes.length > 0 || textDiffers ? "changes" : "in-sync",
    changes,
    ...(stored.Version === undefined ? {} : { storedVersion: stored.Version }),
    ...(current.ok ? {} : { message: "the stored value is not a valid document; the merge replaces it" }),
  };
}

/* finAPI's side counts as much as Parameter Store's: a change there is pending, a failure there is an error. */
function exitCodeOf(plan: ClientPlan): number {
  const stored = RESULT_EXIT[plan.result];
  if (plan.finapi === undefined) return stored;
  const finapi =
    plan.finapi.outcome === "invalid"
      ? ExitCode.Invalid
      : plan.finapi.outcome === "in-sync"
        ? ExitCode.Ok
        : plan.finapi.outcome === "drift-reported"
          ? plan.finapi.changes.length > 0
            ? ExitCode.ChangesPending
            : ExitCode.Ok
          : ExitCode.Error;
  return SEVERITY.find((code) => code === stored || code === finapi) ?? ExitCode.Ok;
}

/** config-sync's answer to a manual invoke, as far as the plan reads it. */
interface ConfigSyncAnswer {
  readonly results?: readonly {
    readonly outcome: string;
    readonly changes?: readonly { field: ManagedField; from: string | number | null; to: string | number }[];
    readonly message?: string;
    readonly violations?: readonly Violation[];
  }[];
  readonly rejected?: string;
}

/** Asks the deployed config-sync, per client with a valid document, what finAPI would change. */
async function withFinapiPlans(
  plans: readonly ClientPlan[],
  documentTexts: ReadonlyMap<string, string>,
  functionName: string,
): Promise<ClientPlan[]> {
  const lambda = new LambdaClient({});
  try {
    const answered: ClientPlan[] = [];
    for (const plan of plans) {
      const text = documentTexts.get(plan.client);
      if (text === undefined || plan.result === "invalid" || plan.result === "skipped") {
        answered.push(plan);
        continue;
      }
      answered.push({ ...plan, finapi: await finapiPlan(lambda, functionName, plan.client, text) });
    }
    return answered;
  } finally {
    lambda.destroy();
  }
}

async function finapiPlan(
  lambda: LambdaClient,
  functionName: string,
  client: string,
  documentText: string,
): Promise<FinapiPlan> {
  try {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        Payload: new TextEncoder().encode(
          JSON.stringify({ client, dryRun: true, document: JSON.parse(documentText) }),
        ),
      }),
    );
    const payload = response.Payload ? new TextDecoder().decode(response.Payload) : "";
    if (response.FunctionError !== undefined) {
      const { errorType, errorMessage } = JSON.parse(payload || "{}") as {
        errorType?: string;
        errorMessage?: string;
      };
      return {
        outcome: "failed",
        changes: [],
        message: `${functionName} failed: ${errorType ?? response.FunctionError}: ${errorMessage ?? ""}`,
      };
    }
    const answer = JSON.parse(payload) as ConfigSyncAnswer;
    if (answer.rejected !== undefined) return { outcome: "failed", changes: [], message: answer.rejected };
    const [result] = answer.results ?? [];
    if (result === undefined)
      return { outcome: "failed", changes: [], message: `${functionName} answered no result` };
    return {
      outcome: result.outcome,
      changes: (result.changes ?? []).map((change) => ({
        field: change.field,
        ...(change.from === null
          ? {}
          : { from: typeof change.from === "string" ? redactUrl(change.from) : change.from }),
        to: typeof change.to === "string" ? redactUrl(change.to) : change.to,
      })),
      ...(result.message === undefined ? {} : { message: result.message }),
      ...(result.violations === undefined ? {} : { message: formatViolations(result.violations) }),
    };
  } catch (error) {
    return {
      outcome: "failed",
      changes: [],
      message: `Lambda: ${describeError(error)}`,
    };
  }
}

function describeFinapi(finapi: FinapiPlan | undefined): string {
  if (finapi === undefined) return "";
  switch (finapi.outcome) {
    case "in-sync":
      return "\n  finAPI: already matches this document";
    case "drift-reported":
      return finapi.changes.length === 0
        ? "\n  finAPI: already matches this document"
        : `\n  finAPI would change:\n${finapi.changes.map((change) => `    ~ ${change.field}: ${shown(change.from)} -> ${shown(change.to)}`).join("\n")}`;
    default:
      return `\n  finAPI: ${finapi.outcome}: ${finapi.message ?? ""}`;
  }
}

function describePlan(plan: ClientPlan): string {
  return describeStored(plan) + describeFinapi(plan.finapi);
}

function describeStored(plan: ClientPlan): string {
  const title = `${plan.client} (${plan.parameterName})`;
  switch (plan.result) {
    case "skipped":
      return `${title}: skipped, no repository document`;
    case "invalid":
      return `${title}: ${plan.document} is invalid:\n${formatViolations(plan.violations ?? [], plan.document)}`;
    case "error":
      return `${title}: Parameter Store: ${plan.message}`;
    case "in-sync":
      return `${title}: no changes; ${plan.document} matches version ${plan.storedVersion}`;
    case "created":
    case "changes": {
      const what =
        plan.result === "created"
          ? `the parameter does not exist yet; pushing ${plan.document} creates it`
          : `pushing ${plan.document} changes version ${plan.storedVersion}${plan.message ? ` (${plan.message})` : ""}`;
      const lines = plan.changes.map(
        (change) => `  ~ ${change.field}: ${shown(change.from)} -> ${shown(change.to)}`,
      );
      if (plan.changes.length === 0) lines.push("  (formatting only: no managed field changes)");
      return `${title}: ${what}:\n${lines.join("\n")}`;
    }
  }
}

export async function planAllCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(args, {
    all: { type: "boolean" },
    context: { type: "string" },
    documents: { type: "string" },
    "via-function": { type: "string" },
    json: { type: "boolean" },
    format: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(`${planAllUsage}\n`);
    return ExitCode.Ok;
  }
  const format = outputFormat(values);
  const contextPath = values.context ?? "cdk.json";
  const repositoryRoot = dirname(resolve(contextPath));

  let clients: readonly ClientConfig[];
  try {
    clients = await contextClients(contextPath);
  } catch (error) {
    if (!(error instanceof StackConfigError)) throw error;
    if (format === "json") io.stdout(jsonDocument({ clients: [], problems: error.problems }));
    else io.stderr(`${error.message}\n`);
    return ExitCode.Invalid;
  }

  const ssm = new SSMClient({});
  let plans: ClientPlan[] = [];
  const documentTexts = new Map<string, string>();
  try {
    for (const client of clients) {
      const path =
        client.document ??
        (values.documents === undefined ? undefined : join(values.documents, `${client.name}.json`));
      const absolute = path === undefined ? undefined : resolve(client.document ? repositoryRoot : ".", path);
      const read = absolute === undefined ? undefined : await readDocument(absolute);
      const shownPath = absolute === undefined ? undefined : relative(".", absolute) || absolute;
      if (read !== undefined && !read.ok && client.document === undefined && read.reason === "no such file") {
        plans.push(await planClient(ssm, client, undefined, undefined));
      } else if (read !== undefined && !read.ok) {
        plans.push({
          client: client.name,
          parameterName: client.parameterName,
          result: "invalid",
          changes: [],
          ...(shownPath === undefined ? {} : { document: shownPath }),
          message: `${shownPath}: ${read.reason}`,
        });
      } else {
        plans.push(await planClient(ssm, client, shownPath, read?.value));
        if (read?.ok) documentTexts.set(client.name, read.value);
      }
    }
  } finally {
    ssm.destroy();
  }
  const viaFunction = values["via-function"];
  if (viaFunction !== undefined) plans = await withFinapiPlans(plans, documentTexts, viaFunction);

  const exitCode = SEVERITY.find((code) => plans.some((plan) => exitCodeOf(plan) === code)) ?? ExitCode.Ok;
  if (format === "json") {
    io.stdout(jsonDocument({ clients: plans }));
    return exitCode;
  }
  for (const plan of plans) {
    const text =
      plan.result === "invalid" && plan.violations === undefined
        ? `${plan.client}: ${plan.message}`
        : describePlan(plan);
    const failed = exitCodeOf(plan) === ExitCode.Invalid || exitCodeOf(plan) === ExitCode.Error;
    (failed ? io.stderr : io.stdout)(`${text}\n`);
    if (format === "github" && plan.violations && plan.document) {
      io.stdout(`${githubAnnotations(plan.violations, plan.document)}\n`);
    }
  }
  const count = (result: ClientPlan["result"]) => plans.filter((plan) => plan.result === result).length;
  const finapiChanges = plans.filter((plan) => (plan.finapi?.changes.length ?? 0) > 0).length;
  io.stdout(
    `Plan: ${count("changes") + count("created")} client(s) to change, ${count("in-sync")} unchanged, ${count("skipped")} skipped, ${count("invalid")} invalid, ${count("error")} failed${viaFunction === undefined ? "" : `; finAPI would change for ${finapiChanges}`}.\n`,
  );
  return exitCode;
}
