import {
  GetParameterCommand,
  type GetParameterCommandOutput,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { formatViolations, parseDesiredDocument, type Violation } from "../../functions/finapi/schema.ts";
import { type CommandIo, ExitCode, UsageError } from "../io.ts";
import { documentArgument, parseCommandArgs, parseEnvironment, readDocument } from "../options.ts";
import { githubAnnotations, jsonDocument, outputFormat } from "../output.ts";

export const pushUsage = `Usage: finapi-config push [--file] FILE --parameter-name NAME [--environment E] [--key-id KMS_KEY]
                          [--json | --format text|json|github]

Validates a desired-state document and writes it into its Parameter Store parameter, the write that
config-sync reacts to. An invalid document is not written. A parameter that already holds exactly
this text (and type) is left alone: no new version, so no change event and no config-sync run.

Options:
  --file FILE            the document (or FILE as the first argument; - reads standard input)
  --parameter-name NAME  the parameter config-sync reads for the client (required)
  --environment E        sandbox, live or alpha: whose rules apply [default: live, the strictest]
  --key-id KMS_KEY       write a SecureString encrypted with this KMS key (id, ARN or alias)
                         [default: a String parameter]
  --json                 print one JSON document: {parameterName, result, version, violations}
  --format F             text, json or github (violations as GitHub workflow annotations)
  -h, --help             show this help

AWS credentials, region and endpoint come from the AWS SDK's usual settings (AWS_PROFILE,
AWS_REGION, AWS_ENDPOINT_URL_SSM, ...).

Exit codes: 0 written or unchanged, 1 invalid or unreadable document (nothing written),
3 Parameter Store error, 64 usage error.`;

/** What push did, as --json prints it. */
interface PushResult {
  readonly parameterName: string;
  readonly result: "written" | "unchanged" | "invalid" | "error";
  readonly version?: number;
  readonly type?: "String" | "SecureString";
  readonly violations?: readonly Violation[];
  readonly error?: string;
}

/* The parameter as stored, or undefined when it does not exist yet. */
async function storedParameter(
  ssm: SSMClient,
  name: string,
): Promise<GetParameterCommandOutput["Parameter"]> {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return Parameter;
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined;
    throw error;
  }
}

export async function pushCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      file: { type: "string" },
      "parameter-name": { type: "string" },
      environment: { type: "string" },
      "key-id": { type: "string" },
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
  const file = documentArgument(values.file, positionals);
  const parameterName = values["parameter-name"];
  if (parameterName === undefined || parameterName === "") {
    throw new UsageError("--parameter-name is required: the parameter config-sync reads for the client");
  }
  const environment = parseEnvironment(values.environment) ?? "live";
  const keyId = values["key-id"];
  const type = keyId === undefined ? "String" : "SecureString";
  const report = (result: PushResult, text: string, toStderr = false) => {
    if (format === "json") io.stdout(jsonDocument(result));
    else (toStderr ? io.stderr : io.stdout)(text);
  };

  const document = await readDocument(file, io);
  if (!document.ok) {
    report(
      { parameterName, result: "invalid", error: `${file}: ${document.reason}` },
      `${file}: ${document.reason}\n`,
      true,
    );
    return ExitCode.Invalid;
  }
  const parsed = parseDesiredDocument(document.text, environment);
  if (!parsed.ok) {
    if (format === "github") io.stdout(`${githubAnnotations(parsed.violations, file)}\n`);
    report(
      { parameterName, result: "invalid", violations: parsed.violations },
      `${formatViolations(parsed.violations, file)}\nNothing was written to ${parameterName}: the document is invalid.\n`,
      true,
    );
    return ExitCode.Invalid;
  }

  const ssm = new SSMClient({});
  try {
    const stored = await storedParameter(ssm, parameterName);
    if (stored?.Value === document.text && stored.Type === type) {
      report(
        { parameterName, result: "unchanged", version: stored.Version, type },
        `${parameterName}: unchanged (version ${stored.Version}); nothing written.\n`,
      );
      return ExitCode.Ok;
    }
    const { Version } = await ssm.send(
      new PutParameterCommand({
        Name: parameterName,
        Value: document.text,
        Type: type,
        ...(keyId === undefined ? {} : { KeyId: keyId }),
        Overwrite: true,
      }),
    );
    report(
      { parameterName, result: "written", version: Version, type },
      `${parameterName}: written as version ${Version} (${type}, ${environment} rules).\n`,
    );
    return ExitCode.Ok;
  } catch (error) {
    const problem = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    report({ parameterName, result: "error", error: problem }, `Error: Parameter Store: ${problem}\n`, true);
    return ExitCode.Error;
  } finally {
    ssm.destroy();
  }
}
