import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { PROCESS_TEST_TIMEOUT_MS } from "../support/timeouts.ts";
import { runCli, runCliProcess } from "./support/run-cli.ts";

const VALID = "test/fixtures/cli/valid.json";
const INVALID = "test/fixtures/cli/invalid.json";

/*
 * The bin itself runs as a child process only where the process is what is tested (standard input,
 * and the exit code the bin sets from main's): seconds apiece on a busy machine. The others run main
 * in-process, which is what the bin runs.
 */
describe("finapi-config's conveniences", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it("prints the package's version with --version", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
    const run = await runCli(["--version"]);
    expect(run).toEqual({ code: 0, stdout: `finapi-config ${version}\n`, stderr: "" });
  });

  it("prints a command's usage with help <command>", async () => {
    const run = await runCli(["help", "push"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: finapi-config push /);
  });

  it("suggests the nearest command for an unknown one and exits 64", async () => {
    const run = await runCli(["valdate", VALID]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/^Unknown command "valdate"\. Did you mean "validate"\?/);
  });

  it("suggests the nearest option for an unknown one and exits 64", async () => {
    const run = await runCli(["validate", "--enviroment", "live", VALID]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/^unknown option --enviroment; did you mean --environment\?/);
  });

  it("takes validate's document as FILE or --file alike", async () => {
    const positional = await runCli(["validate", VALID]);
    const named = await runCli(["validate", "--file", VALID]);
    expect(positional).toMatchObject({ code: 0, stderr: "" });
    expect(named).toEqual(positional);
  });

  it("reads a document from standard input when FILE is -", async () => {
    const run = await runCliProcess(["validate", "-"], {}, await readFile(INVALID, "utf8"));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("-:2:3: refreshTokensValidityPeriod");
  });

  it("refuses two different documents for plan", async () => {
    const run = await runCli(["plan", VALID, "--file", INVALID, "--base-url", "https://sandbox.finapi.io"]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain(`name one document, not 2: ${INVALID}, ${VALID}`);
  });

  it("prints validate's verdicts as one JSON document with --json", async () => {
    const run = await runCli(["validate", "--json", VALID, INVALID]);
    expect(run).toMatchObject({ code: 1, stderr: "" });
    const result = JSON.parse(run.stdout) as {
      valid: boolean;
      environment: string;
      documents: { file: string; valid: boolean; violations: { path: string }[] }[];
    };
    expect(result.valid).toBe(false);
    expect(result.environment).toBe("live");
    expect(
      result.documents.map((document) => [document.file, document.valid, document.violations.length]),
    ).toEqual([
      [VALID, true, 0],
      [INVALID, false, 2],
    ]);
  });

  it("prints violations as GitHub workflow annotations with --format github", async () => {
    const run = await runCli(["validate", "--format", "github", INVALID]);
    expect(run.code).toBe(1);
    const annotations = run.stdout.split("\n").filter((line) => line.startsWith("::error "));
    expect(annotations).toHaveLength(2);
    expect(annotations[0]).toMatch(
      new RegExp(
        `^::error file=${INVALID.replaceAll(".", "\\.")},line=2,col=3,title=finapi-config%3A type::refreshTokensValidityPeriod `,
      ),
    );
  });

  it("refuses --json together with another --format", async () => {
    const run = await runCli(["validate", "--json", "--format", "github", VALID]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("--json contradicts --format github");
  });
});
