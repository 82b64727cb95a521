import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type SsmStandIn, startSsm } from "../../local/aws/ssm.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKFLOW = "examples/github-actions/finapi-config.yml";
const DOCUMENTS = "test/fixtures/github-actions/config";

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string>;
}
interface Job {
  readonly if?: string;
  readonly steps: readonly Step[];
}
interface Workflow {
  readonly on: Record<string, { branches?: string[] }>;
  readonly permissions: Record<string, string>;
  readonly env: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

interface StepRun {
  readonly code: number | null;
  readonly output: string;
}

/* As GitHub runs a `run:` step: bash --noprofile --norc -eo pipefail, from the repository's root. */
function runStep(script: string, env: Record<string, string>): Promise<StepRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/* npm ci and the actions (checkout, setup-node, credentials) are the runner's; the commands are ours. */
const ourCommands = (job: Job) =>
  job.steps.flatMap((step) => (step.run === undefined || step.run.trim() === "npm ci" ? [] : [step.run]));

/**
 * Runs each step's commands against the local Parameter Store, so that a renamed command or flag
 * breaks this suite rather than a user's pipeline.
 */
describe("the example GitHub Actions workflow", { timeout: 300_000 }, () => {
  let workflow: Workflow;
  let ssm: SsmStandIn;
  let env: Record<string, string>;

  beforeAll(async () => {
    workflow = parse(await readFile(`${ROOT}/${WORKFLOW}`, "utf8")) as Workflow;
    ssm = await startSsm();
    env = {
      ...workflow.env,
      DOCUMENTS,
      AWS_REGION: "eu-central-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_SSM: ssm.url,
    };
  });
  afterAll(() => ssm.close());

  const job = (name: string): Job => {
    const found = workflow.jobs[name];
    if (!found) throw new Error(`${WORKFLOW} has no job ${name}`);
    return found;
  };

  it("plans on pull requests and pushes on main, each with an OIDC role and no stored AWS keys", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request", "push"]);
    expect(workflow.on.push?.branches).toEqual(["main"]);
    expect(workflow.permissions).toEqual({ contents: "read", "id-token": "write" });
    for (const [name, variable] of [
      ["plan", "FINAPI_CONFIG_PLAN_ROLE_ARN"],
      ["push", "FINAPI_CONFIG_PUSH_ROLE_ARN"],
    ] as const) {
      const credentials = job(name).steps.find((step) =>
        step.uses?.startsWith("aws-actions/configure-aws-credentials@"),
      );
      expect(credentials?.with?.["role-to-assume"]).toBe(`\${{ vars.${variable} }}`);
      expect(JSON.stringify(job(name))).not.toMatch(/aws-access-key-id|secrets\./);
    }
    expect(job("plan").if).toBe("github.event_name == 'pull_request'");
    expect(job("push").if).toContain("github.ref == 'refs/heads/main'");
  });

  it("runs the CLI through the repository's own bin, never npx, and expands no expression in a shell", () => {
    const commands = [...ourCommands(job("plan")), ...ourCommands(job("push"))];
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const command of commands) {
      expect(command).not.toMatch(/\bnpx\b/);
      expect(command).not.toContain("${{");
      for (const call of command.match(/[^\n]*finapi-config [a-z]+/g) ?? []) {
        expect(call).toMatch(/npm exec --no -- finapi-config [a-z]+$/);
      }
    }
  });

  it("on a pull request validates and plans (changes pending is no failure); on merge pushes; then plans no change", async () => {
    for (const command of ourCommands(job("plan"))) {
      const step = await runStep(command, env);
      expect(step, step.output).toMatchObject({ code: 0 });
    }
    const parameterName = "/finapi-config-sync/sandbox";
    expect(ssm.valueOf(parameterName)).toBeUndefined();

    for (const command of ourCommands(job("push"))) {
      const step = await runStep(command, env);
      expect(step, step.output).toMatchObject({ code: 0 });
      expect(step.output).toContain(`${parameterName}: written as version 1`);
    }
    expect(ssm.valueOf(parameterName)).toBe(await readFile(`${ROOT}/${DOCUMENTS}/sandbox.json`, "utf8"));

    const [, plan] = ourCommands(job("plan"));
    const replanned = await runStep(plan ?? "", env);
    expect(replanned.code).toBe(0);
    expect(replanned.output).toContain("Plan: 0 client(s) to change, 1 unchanged");
  });

  it("fails the pull request's validate step with an annotation on the document when it is invalid", async () => {
    const [validate] = ourCommands(job("plan"));
    const invalid = "test/fixtures/github-actions/invalid-config";
    const step = await runStep(validate ?? "", { ...env, DOCUMENTS: invalid });
    expect(step.code).toBe(1);
    expect(step.output).toContain(`::error file=${invalid}/sandbox.json`);
  });
});
