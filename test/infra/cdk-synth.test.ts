import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import { runProcess } from "../support/child-process.ts";
import { SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";

interface SynthRun {
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly outdir: string;
}

const outdirs: string[] = [];

/**
 * Runs the real `cdk synth` (the aws-cdk CLI from node_modules) in the repository, with `-c` overrides,
 * the cloud assembly going to a fresh folder, and no AWS credentials, network notices or telemetry.
 */
async function synth(overrides: Record<string, string> = {}): Promise<SynthRun> {
  const outdir = mkdtempSync(join(tmpdir(), "finapi-cdk-synth-"));
  outdirs.push(outdir);
  const context = Object.entries(overrides).flatMap(([key, value]) => ["-c", `${key}=${value}`]);
  const { code, stderr } = await runProcess(
    join(REPOSITORY_ROOT, "node_modules/.bin/cdk"),
    ["synth", "--quiet", "--no-notices", "--output", outdir, ...context],
    {
      env: {
        PATH: [join(REPOSITORY_ROOT, "node_modules/.bin"), process.env.PATH].join(delimiter),
        HOME: outdir,
        CDK_DISABLE_CLI_TELEMETRY: "true",
        AWS_EC2_METADATA_DISABLED: "true",
      },
    },
  );
  return { exitCode: code, stderr, outdir };
}

afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

/* Each test starts the cdk CLI; the first bundles three functions and runs cdk-nag: minutes on a busy machine. */
describe("npx cdk synth", { timeout: SYNTH_TIMEOUT_MS }, () => {
  it(
    "synthesizes offline with cdk.json's context: the template, the three bundles and no cdk-nag finding",
    async () => {
      const { exitCode, stderr, outdir } = await synth();
      expect(stderr).not.toMatch(/ERROR|Error:/);
      expect(exitCode).toBe(0);
      const template = JSON.parse(readFileSync(join(outdir, "FinapiConfigSync.template.json"), "utf8")) as {
        Resources: Record<string, { Type: string }>;
      };
      expect(
        Object.values(template.Resources).filter((resource) => resource.Type === "AWS::Lambda::Function"),
      ).toHaveLength(3);
      const bundles = readdirSync(outdir).filter((entry) => existsSync(join(outdir, entry, "index.mjs")));
      expect(bundles).toHaveLength(3);
      const report = JSON.parse(readFileSync(join(outdir, "validation-report.json"), "utf8")) as {
        pluginReports: unknown[];
      };
      expect(report.pluginReports).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  /*
   * One run for both kinds of bad input: the app reports every problem at once, and each `cdk synth`
   * that fails on its context costs a CLI start and an aws-cdk-lib import (tens of seconds on a busy
   * machine). config.test.ts checks parseStackConfig's messages in-process, among them the invalid
   * document's alone (at clients[0]).
   */
  it("fails on a bad -c value and an invalid repository-owned document, listing every problem with the schema's messages, without a stack trace and before bundling anything", async () => {
    const document = "test/fixtures/infra/documents/live-invalid.json";
    const { exitCode, stderr, outdir } = await synth({
      "finapi:clients": JSON.stringify([
        { name: "sandbox", environment: "prod", parameterName: "/finapi/sandbox" },
        {
          name: "live",
          environment: "live",
          parameterName: "/finapi/live",
          credentialsSecretId: "finapi/live/credentials",
          document,
        },
      ]),
      "finapi:hostCallback": "maybe",
    });
    expect(exitCode).toBe(1);
    expect(stderr).toBe(
      [
        'The CDK context is invalid (cdk.json "context", or -c key=value):',
        "  - finapi:clients[0].environment: must be one of sandbox, live, alpha",
        "  - finapi:clients[0].credentialsSecretId: is required",
        "  - finapi:hostCallback: must be true or false",
        `  - finapi:clients[1].document: ${document} is not a valid finAPI client configuration for live:`,
        `      ${document}:2:3: userNotificationCallbackUrl must use https on finAPI's live environment (http is allowed on sandbox and alpha only) [https-on-live]`,
        `      ${document}:3:3: userSynchronizationCallbackUrl must not be null: use "" to clear it, or leave the field out to keep finAPI's value [not-null]`,
        `      ${document}:5:3: clientAccessTokensValidityPeriod must be 0 (never expires) or 60..2147483647 seconds (it is 30) [range]`,
        `      ${document}:4:3: refreshTokenValidityPeriod is not a field of ClientConfigurationParams; did you mean "refreshTokensValidityPeriod"? [unknown-key]`,
        "node infra/app.ts: Subprocess exited with error 1",
        "",
      ].join("\n"),
    );
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(outdir).filter((entry) => entry.startsWith("asset."))).toEqual([]);
  });
});
