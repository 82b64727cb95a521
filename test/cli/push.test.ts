import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
import { type SsmStandIn, startSsm } from "../../local/aws/ssm.ts";
import { runCli } from "./support/run-cli.ts";

const VALID = "test/fixtures/cli/valid.json";
const INVALID = "test/fixtures/cli/invalid.json";
const PARAMETER = "/finapi-config-sync/push-test";

describe("finapi-config push", () => {
  let ssm: SsmStandIn;
  let aws: Record<string, string>;
  let parameter: string;
  let runs = 0;

  beforeAll(async () => {
    ssm = await startSsm();
    aws = {
      AWS_REGION: "eu-central-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_MAX_ATTEMPTS: "1",
    };
  });
  afterAll(() => ssm.close());
  /* A parameter of its own per test: the stand-in keeps its state for the file. */
  beforeEach(() => {
    parameter = `${PARAMETER}-${++runs}`;
  });

  const changesOf = (name: string) => ssm.changes.filter((change) => change.detail.name === name);

  it("writes a valid document as a String parameter and prints its version", async () => {
    const run = await runCli(["push", "--file", VALID, "--parameter-name", parameter], aws);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(`${parameter}: written as version 1 (String) from ${VALID}.\n`);
    expect(ssm.valueOf(parameter)).toBe(await readFile(VALID, "utf8"));
    expect(changesOf(parameter).map((change) => change.detail.operation)).toEqual(["Create"]);
  });

  it("leaves an identical stored value alone: unchanged, no new version, no change event", async () => {
    await runCli(["push", VALID, "--parameter-name", parameter], aws);
    const again = await runCli(["push", VALID, "--parameter-name", parameter], aws);
    expect(again).toMatchObject({ code: 0, stderr: "" });
    expect(again.stdout).toBe(`${parameter}: unchanged (version 1); nothing written.\n`);
    expect(changesOf(parameter)).toHaveLength(1);
  });

  it("writes a SecureString with --key-id, and a new version when the type changes", async () => {
    await runCli(["push", VALID, "--parameter-name", parameter], aws);
    const run = await runCli(
      ["push", VALID, "--parameter-name", parameter, "--key-id", "alias/finapi-config", "--json"],
      aws,
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      pushed: [
        { parameterName: parameter, file: VALID, result: "written", version: 2, type: "SecureString" },
      ],
    });
    const put = ssm.calls.filter((call) => call.operation === "PutParameter").at(-1);
    expect(put?.input).toMatchObject({ Name: parameter, Type: "SecureString", KeyId: "alias/finapi-config" });
  });

  it("writes nothing for an invalid document and exits 1, naming every violation", async () => {
    const run = await runCli(["push", INVALID, "--parameter-name", parameter], aws);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${INVALID}:2:3: refreshTokensValidityPeriod`);
    expect(run.stderr).toContain("userAccessTokenValidityPeriod");
    expect(run.stderr).toContain(`Nothing was written to ${parameter}`);
    expect(
      ssm.calls.filter((call) => call.operation === "PutParameter" && call.input.Name === parameter),
    ).toEqual([]);
  });

  it("prints the violations as one JSON document with --json", async () => {
    const run = await runCli(["push", INVALID, "--parameter-name", parameter, "--json"], aws);
    expect(run).toMatchObject({ code: 1, stderr: "" });
    const { pushed } = JSON.parse(run.stdout) as {
      pushed: { result: string; violations: { path: string; rule: string }[] }[];
    };
    const [result] = pushed;
    expect(result?.result).toBe("invalid");
    expect(result?.violations.map((violation) => [violation.path, violation.rule])).toEqual([
      ["refreshTokensValidityPeriod", "type"],
      ["userAccessTokenValidityPeriod", "unknown-key"],
    ]);
  });

  it("reads the document from standard input when FILE is -", async () => {
    const text = await readFile(VALID, "utf8");
    const run = await runCli(["push", "-", "--parameter-name", parameter], aws, text);
    expect(run.code).toBe(0);
    expect(ssm.valueOf(parameter)).toBe(text);
  });

  it("exits 3 on a Parameter Store error, naming it", async () => {
    ssm.failNext("PutParameter", new AwsServiceError("AccessDeniedException", "not allowed to put", 400));
    const run = await runCli(["push", VALID, "--parameter-name", parameter], aws);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(
      `Error: Parameter Store: ${parameter}: AccessDeniedException: not allowed to put\n`,
    );
  });

  it("pushes every pipeline-owned client's document with --all, skipping clients without one", async () => {
    const context = "test/fixtures/cli/plan-all/cdk.json";
    const documents = "test/fixtures/cli/plan-all/documents";
    const run = await runCli(
      ["push", "--all", "--context", context, "--documents", documents, "--json"],
      aws,
    );
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const { pushed } = JSON.parse(run.stdout) as { pushed: { client: string; result: string }[] };
    /* "owned" is written by the stack (its context document); "elsewhere" has no document in DIR. */
    expect(pushed.map((result) => [result.client, result.result])).toEqual([
      ["elsewhere", "skipped"],
      ["pipeline", "written"],
      ["fresh", "written"],
    ]);
    expect(ssm.valueOf("/plan-all/pipeline")).toBe(await readFile(`${documents}/pipeline.json`, "utf8"));
    expect(run.stdout).not.toContain("do-not-print-me");
  });

  it("writes nothing with --all when any document is invalid", async () => {
    const run = await runCli(
      [
        "push",
        "--all",
        "--context",
        "test/fixtures/cli/push-all/cdk.json",
        "--documents",
        "test/fixtures/cli/push-all",
      ],
      aws,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Nothing was written to /push-all/broken");
    expect(ssm.valueOf("/push-all/good")).toBeUndefined();
  });

  it("exits 64 with the usage when --parameter-name is missing", async () => {
    const run = await runCli(["push", VALID], aws);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("--parameter-name is required");
    expect(run.stderr).toContain("Usage: finapi-config push");
  });
});
