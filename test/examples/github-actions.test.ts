import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseInvocation } from "../../functions/config-sync/invocation.ts";
import { type LambdaApiStandIn, startLambdaApi } from "../../local/aws/lambda-api.ts";
import { type SsmStandIn, startSsm } from "../../local/aws/ssm.ts";
import { listen } from "../../local/listen.ts";
import { runCli } from "../cli/support/run-cli.ts";
import { ROOT, runProcess } from "../support/child-process.ts";
import { PROCESS_TEST_TIMEOUT_MS } from "../support/timeouts.ts";

const WORKFLOW = "examples/github-actions/finapi-config.yml";
const DOCUMENTS = "test/fixtures/github-actions/config";

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string>;
  readonly env?: Record<string, string>;
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
  return runProcess("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
    env: { HOME: process.env.HOME ?? "/tmp", ...env },
  });
}

/*
 * `npm exec --no -- finapi-config ARGS...` as a bash function: it sends the arguments, as bash expanded
 * them, to this process over a local socket (a count, then each argument, NUL-terminated), prints the
 * output finapi-config's main wrote there and returns its exit code. Only bash builtins: no npm and
 * no Node process per command, each of which costs seconds on a busy machine.
 */
const NPM_EXEC_FROM_TEST_PROCESS = `npm() {
  if [ "$#" -lt 4 ] || [ "$1 $2 $3 $4" != "exec --no -- finapi-config" ]; then
    echo "this test serves npm exec --no -- finapi-config only, not: npm $*" >&2
    return 127
  fi
  shift 4
  local cli code out err
  exec {cli}<>"/dev/tcp/127.0.0.1/$FINAPI_CONFIG_TEST_PORT"
  printf '%s\\0' "$#" "$@" >&"$cli"
  IFS= read -r -d '' code <&"$cli" && IFS= read -r -d '' out <&"$cli" && IFS= read -r -d '' err <&"$cli" ||
    { echo "finapi-config: no answer from the test process" >&2; return 127; }
  exec {cli}>&-
  printf '%s' "$out"
  printf '%s' "$err" >&2
  return "$code"
}
`;

/**
 * Runs a step as runStep does, its finapi-config commands served by finapi-config's main in this
 * process with the step's environment (the bin and npm exec themselves run in the invalid-document test).
 */
async function runStepServingCli(script: string, env: Record<string, string>): Promise<StepRun> {
  const server = createServer((socket) => {
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const [count, ...fields] = received.split("\0");
      /* Complete once the count and that many arguments each have their terminating NUL. */
      if (count === undefined || fields.length <= Number(count)) return;
      socket.removeAllListeners("data");
      void runCli(fields.slice(0, Number(count)), env).then(
        (run) => socket.end(`${run.code}\0${run.stdout}\0${run.stderr}\0`),
        (error: unknown) => socket.end(`70\0\0${String(error)}\0`),
      );
    });
  });
  const { port } = await listen(server, { purpose: "finapi-config for the workflow's steps" });
  try {
    return await runStep(`${NPM_EXEC_FROM_TEST_PROCESS}\n${script}`, {
      ...env,
      FINAPI_CONFIG_TEST_PORT: String(port),
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/* The repository variables the workflow reads, as a user sets them. */
const VARIABLES: Record<string, string> = { FINAPI_CONFIG_SYNC_FUNCTION: "finapi-config-sync-ConfigSync" };

/* `${{ vars.NAME }}` as GitHub expands it in a step's env; any other expression is not expected there. */
function expand(value: string): string {
  return value.replace(/\$\{\{\s*vars\.([A-Z_]+)\s*\}\}/g, (_, name: string) => {
    const variable = VARIABLES[name];
    if (variable === undefined)
      throw new Error(`the workflow reads a variable the test does not set: ${name}`);
    return variable;
  });
}

interface Command {
  readonly run: string;
  readonly env: Record<string, string>;
}

/* npm ci and the actions (checkout, setup-node, credentials) are the runner's; the commands are ours. */
const ourCommands = (job: Job): Command[] =>
  job.steps.flatMap((step) =>
    step.run === undefined || step.run.trim() === "npm ci"
      ? []
      : [
          {
            run: step.run,
            env: Object.fromEntries(
              Object.entries(step.env ?? {}).map(([name, value]) => [name, expand(value)]),
            ),
          },
        ],
  );

/**
 * Runs each step's commands against the local Parameter Store, so that a renamed command or flag
 * breaks this suite rather than a user's pipeline. Bash runs every step's script; finapi-config runs
 * through the real npm exec and bin in one step, and in this process in the others.
 */
describe("the example GitHub Actions workflow", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  let workflow: Workflow;
  let ssm: SsmStandIn;
  let lambda: LambdaApiStandIn;
  let env: Record<string, string>;

  beforeAll(async () => {
    workflow = parse(await readFile(`${ROOT}/${WORKFLOW}`, "utf8")) as Workflow;
    ssm = await startSsm();
    /* The deployed config-sync: what the CLI sends must be an input config-sync accepts. */
    lambda = await startLambdaApi({
      functions: {
        [VARIABLES.FINAPI_CONFIG_SYNC_FUNCTION as string]: async (payload) => {
          const parsed = parseInvocation(payload);
          if (!parsed.ok || parsed.value.kind !== "manual" || parsed.value.document === undefined) {
            return {
              payload: { results: [], rejected: parsed.ok ? "not a dry run with a document" : parsed.reason },
            };
          }
          return {
            payload: {
              results: [
                { client: parsed.value.client, outcome: "in-sync", dryRun: true, finapiRequestId: "r1" },
              ],
            },
          };
        },
      },
    });
    env = {
      ...workflow.env,
      DOCUMENTS,
      AWS_REGION: "eu-central-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    };
  });
  afterAll(async () => {
    await ssm.close();
    await lambda.close();
  });

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
    for (const { run: command } of commands) {
      expect(command).not.toMatch(/\bnpx\b/);
      expect(command).not.toContain("${{");
      for (const call of command.match(/[^\n]*finapi-config [a-z]+/g) ?? []) {
        expect(call).toMatch(/npm exec --no -- finapi-config [a-z]+$/);
      }
    }
  });

  it("on a pull request validates and plans (changes pending is no failure); on merge pushes; then plans no change", async () => {
    for (const command of ourCommands(job("plan"))) {
      const step = await runStepServingCli(command.run, { ...env, ...command.env });
      expect(step, step.output).toMatchObject({ code: 0 });
    }
    expect(lambda.invocations.map((invocation) => invocation.payload)).toEqual([
      {
        client: "sandbox",
        dryRun: true,
        document: JSON.parse(await readFile(`${ROOT}/${DOCUMENTS}/sandbox.json`, "utf8")),
      },
    ]);
    const parameterName = "/finapi-config-sync/sandbox";
    expect(ssm.valueOf(parameterName)).toBeUndefined();

    for (const command of ourCommands(job("push"))) {
      const step = await runStepServingCli(command.run, { ...env, ...command.env });
      expect(step, step.output).toMatchObject({ code: 0 });
      expect(step.output).toContain(`${parameterName}: written as version 1`);
    }
    expect(ssm.valueOf(parameterName)).toBe(await readFile(`${ROOT}/${DOCUMENTS}/sandbox.json`, "utf8"));

    const [, plan] = ourCommands(job("plan"));
    const replanned = await runStepServingCli(plan?.run ?? "", { ...env, ...plan?.env });
    expect(replanned.code).toBe(0);
    expect(replanned.output).toContain("Plan: 0 client(s) to change, 1 unchanged");
  });

  it("fails the pull request's validate step, through npm exec and the repository's bin, with an annotation on the document when it is invalid", async () => {
    const [validate] = ourCommands(job("plan"));
    const invalid = "test/fixtures/github-actions/invalid-config";
    const step = await runStep(validate?.run ?? "", { ...env, ...validate?.env, DOCUMENTS: invalid });
    expect(step.code).toBe(1);
    expect(step.output).toContain(`::error file=${invalid}/sandbox.json`);
  });
});
