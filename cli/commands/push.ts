import { join } from "node:path";
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { describeError } from "../../functions/commons/errors.ts";
import type { Result } from "../../functions/commons/result.ts";
import {
  type FinapiEnvironment,
  formatViolations,
  parseDesiredDocument,
  type Violation,
} from "../../functions/finapi/schema.ts";
import { StackConfigError } from "../../infra/config.ts";
import { type CommandIo, ExitCode, UsageError } from "../io.ts";
import { documentArgument, parseCommandArgs, parseEnvironment, readDocument } from "../options.ts";
import { githubAnnotations, jsonDocument, type OutputFormat, outputFormat } from "../output.ts";
import { contextClients } from "./context-clients.ts";

export const pushUsage = `Usage: finapi-config push [--file] FILE --parameter-name NAME [--environment E] [--key-id KMS_KEY]
       finapi-config push --all --documents DIR [--context cdk.json]
       [--json | --format text|json|github]

Validates a desired-state document and writes it into its Parameter Store parameter, the write that
config-sync reacts to. An invalid document is not written. A parameter that already holds exactly
this text (and type) is left alone: no new version, so no change event and no config-sync run.

With --all, every client of the CDK context whose document is <DIR>/<client>.json is pushed to its
parameterName, with its environment's rules and, when set, its parameterKeyArn; every document is
validated before anything is written. Clients with a "document" in the context are skipped: the stack
writes those parameters.

Options:
  --file FILE            the document (or FILE as the first argument; - reads standard input)
  --parameter-name NAME  the parameter config-sync reads for the client (required without --all)
  --environment E        sandbox, live or alpha: whose rules apply [default: live, the strictest]
  --key-id KMS_KEY       write a SecureString encrypted with this KMS key (id, ARN or alias)
                         [default: a String parameter]
  --all                  push every client's document from --documents DIR (see above)
  --documents DIR        where the documents live, one <client>.json per client
  --context FILE         the CDK context naming the clients [default: cdk.json]
  --json                 print one JSON document: {pushed: [{parameterName, result, version, ...}]}
  --format F             text, json or github (violations as GitHub workflow annotations)
  -h, --help             show this help

AWS credentials, region and endpoint come from the AWS SDK's usual settings (AWS_PROFILE,
AWS_REGION, AWS_ENDPOINT_URL_SSM, ...).

Exit codes: 0 written or unchanged, 1 invalid or unreadable document (nothing written),
3 Parameter Store error, 64 usage error.`;

/** One parameter's part of a push, as --json prints it. */
interface PushResult {
  readonly parameterName: string;
  readonly file: string;
  readonly result: "written" | "unchanged" | "skipped" | "invalid" | "error";
  readonly client?: string;
  readonly version?: number;
  readonly type?: "String" | "SecureString";
  readonly violations?: readonly Violation[];
  readonly error?: string;
}

/** What to write where: one validated document and its parameter. */
interface PushTarget {
  readonly file: string;
  readonly text: string;
  readonly parameterName: string;
  readonly environment: FinapiEnvironment;
  readonly keyId?: string;
  readonly client?: string;
}

type Checked = Result<PushTarget, { result: PushResult }>;

/* With --all, a client without a document in DIR is not managed from this repository: skipped, and said so. */
async function check(io: CommandIo, target: Omit<PushTarget, "text">, all: boolean): Promise<Checked> {
  const base = {
    parameterName: target.parameterName,
    file: target.file,
    ...(target.client === undefined ? {} : { client: target.client }),
  };
  const document = await readDocument(target.file, io);
  if (!document.ok && all && document.reason === "no such file") {
    return { ok: false, result: { ...base, result: "skipped", error: "no document" } };
  }
  if (!document.ok) return { ok: false, result: { ...base, result: "invalid", error: document.reason } };
  const parsed = parseDesiredDocument(document.value, target.environment);
  if (!parsed.ok) return { ok: false, result: { ...base, result: "invalid", violations: parsed.violations } };
  return { ok: true, value: { ...target, text: document.value } };
}

async function write(ssm: SSMClient, target: PushTarget): Promise<PushResult> {
  const type = target.keyId === undefined ? "String" : "SecureString";
  const base = {
    parameterName: target.parameterName,
    file: target.file,
    type,
    ...(target.client === undefined ? {} : { client: target.client }),
  } as const;
  try {
    const stored = await ssm
      .send(new GetParameterCommand({ Name: target.parameterName, WithDecryption: true }))
      .then(({ Parameter }) => Parameter)
      .catch((error: unknown) => {
        if (error instanceof ParameterNotFound) return undefined;
        throw error;
      });
    if (stored?.Value === target.text && stored.Type === type) {
      return {
        ...base,
        result: "unchanged",
        ...(stored.Version === undefined ? {} : { version: stored.Version }),
      };
    }
    const { Version } = await ssm.send(
      new PutParameterCommand({
        Name: target.parameterName,
        Value: target.text,
        Type: type,
        ...(target.keyId === undefined ? {} : { KeyId: target.keyId }),
        Overwrite: true,
      }),
    );
    return { ...base, result: "written", ...(Version === undefined ? {} : { version: Version }) };
  } catch (error) {
    return { ...base, result: "error", error: describeError(error) };
  }
}

function report(io: CommandIo, format: OutputFormat, results: readonly PushResult[]): number {
  if (format === "json") io.stdout(jsonDocument({ pushed: results }));
  for (const result of format === "json" ? [] : results) {
    switch (result.result) {
      case "written":
        io.stdout(
          `${result.parameterName}: written as version ${result.version} (${result.type}) from ${result.file}.\n`,
        );
        break;
      case "unchanged":
        io.stdout(`${result.parameterName}: unchanged (version ${result.version}); nothing written.\n`);
        break;
      case "skipped":
        io.stdout(`${result.parameterName}: skipped, no document ${result.file}.\n`);
        break;
      case "invalid":
        if (format === "github" && result.violations)
          io.stdout(`${githubAnnotations(result.violations, result.file)}\n`);
        io.stderr(
          `${result.violations ? formatViolations(result.violations, result.file) : `${result.file}: ${result.error}`}\nNothing was written to ${result.parameterName}: the document is invalid.\n`,
        );
        break;
      case "error":
        io.stderr(`Error: Parameter Store: ${result.parameterName}: ${result.error}\n`);
        break;
    }
  }
  if (results.some((result) => result.result === "error")) return ExitCode.Error;
  if (results.some((result) => result.result === "invalid")) return ExitCode.Invalid;
  return ExitCode.Ok;
}

export async function pushCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      file: { type: "string" },
      "parameter-name": { type: "string" },
      environment: { type: "string" },
      "key-id": { type: "string" },
      all: { type: "boolean" },
      documents: { type: "string" },
      context: { type: "string" },
      json: { type: "boolean" },
      format: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    { allowPositionals: true },
  );
  if (values.help) {
    io.stdout(`${pushUsage}\n`);
    return ExitCode.Ok;
  }
  const format = outputFormat(values);

  let targets: Omit<PushTarget, "text">[];
  if (values.all) {
    if (values.documents === undefined)
      throw new UsageError("--all needs --documents DIR: where <client>.json live");
    let clients: Awaited<ReturnType<typeof contextClients>>;
    try {
      clients = await contextClients(values.context ?? "cdk.json");
    } catch (error) {
      if (!(error instanceof StackConfigError)) throw error;
      if (format === "json") io.stdout(jsonDocument({ pushed: [], problems: error.problems }));
      else io.stderr(`${error.message}\n`);
      return ExitCode.Invalid;
    }
    targets = clients
      .filter((client) => client.document === undefined)
      .map((client) => ({
        client: client.name,
        file: join(values.documents as string, `${client.name}.json`),
        parameterName: client.parameterName,
        environment: client.environment,
        ...(client.parameterKeyArn === undefined ? {} : { keyId: client.parameterKeyArn }),
      }));
  } else {
    const parameterName = values["parameter-name"];
    if (parameterName === undefined || parameterName === "") {
      throw new UsageError("--parameter-name is required: the parameter config-sync reads for the client");
    }
    targets = [
      {
        file: documentArgument(values.file, positionals),
        parameterName,
        environment: parseEnvironment(values.environment) ?? "live",
        ...(values["key-id"] === undefined ? {} : { keyId: values["key-id"] }),
      },
    ];
  }

  /* Every document is checked before anything is written: a bad one stops the whole push. */
  const checked = await Promise.all(targets.map((target) => check(io, target, values.all === true)));
  const skipped = checked.flatMap((result) =>
    !result.ok && result.result.result === "skipped" ? [result.result] : [],
  );
  const refused = checked.flatMap((result) =>
    !result.ok && result.result.result !== "skipped" ? [result.result] : [],
  );
  if (refused.length > 0) return report(io, format, refused);

  const ssm = new SSMClient({});
  try {
    const results: PushResult[] = [...skipped];
    for (const result of checked) if (result.ok) results.push(await write(ssm, result.value));
    return report(io, format, results);
  } finally {
    ssm.destroy();
  }
}
