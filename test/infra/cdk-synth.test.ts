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

  it("fails on a bad -c value, listing every problem without a stack trace and before bundling anything", async () => {
    const { exitCode, stderr, outdir } = await synth({
      "finapi:clients": '[{"name":"sandbox","environment":"prod","parameterName":"/finapi/sandbox"}]',
      "finapi:hostCallback": "maybe",
    });
    expect(exitCode).toBe(1);
    expect(stderr).toBe(
      [
        'The CDK context is invalid (cdk.json "context", or -c key=value):',
        "  - finapi:clients[0].environment: must be one of sandbox, live, alpha",
        "  - finapi:clients[0].credentialsSecretId: is required",
        "  - finapi:hostCallback: must be true or false",
        "node infra/app.ts: Subprocess exited with error 1",
        "",
      ].join("\n"),
    );
    expect(readdirSync(outdir).filter((entry) => entry.startsWith("asset."))).toEqual([]);
  });

  it("fails on an invalid repository-owned document with the schema's messages", async () => {
    const document = "test/fixtures/infra/documents/live-invalid.json";
    const { exitCode, stderr } = await synth({
      "finapi:clients": JSON.stringify([
        {
          name: "live",
          environment: "live",
          parameterName: "/finapi/live",
          credentialsSecretId: "finapi/live/credentials",
          document,
        },
      ]),
    });
    expect(exitCode).toBe(1);
    expect(stderr).toContain(
      `finapi:clients[0].document: ${document} is not a valid finAPI client configuration for live:`,
    );
    expect(stderr).toContain(
      `${document}:2:3: userNotificationCallbackUrl must use https on finAPI's live environment (http is allowed on sandbox and alpha only) [https-on-live]`,
    );
    expect(stderr).toContain(
      `${document}:5:3: clientAccessTokensValidityPeriod must be 0 (never expires) or 60..2147483647 seconds (it is 30) [range]`,
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
