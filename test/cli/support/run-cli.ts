import { fileURLToPath } from "node:url";
import { main } from "../../../cli/finapi-config.ts";
import { type ProcessRun, runProcess } from "../../support/child-process.ts";

const CLI = fileURLToPath(new URL("../../../cli/finapi-config.ts", import.meta.url));

export type CliRun = Pick<ProcessRun, "code" | "stdout" | "stderr">;

/* What the AWS SDK reads from the environment: in-process runs see only what the test gives them. */
const AWS_VARIABLE = /^AWS_/;

/**
 * Runs finapi-config in this process through `main`, as the bin does, from the repository's root
 * (vitest's working directory), with only PATH and `env` in its environment: a Node process costs seconds on a busy machine, the command milliseconds.
 * The AWS SDK reads `process.env` itself, so for the run the process's AWS_ variables are exactly
 * those of `env` (runs of a file are sequential; the variables are restored after each).
 */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const saved = Object.entries(process.env).filter(([name]) => AWS_VARIABLE.test(name) || name in env);
  for (const [name] of saved) delete process.env[name];
  Object.assign(process.env, env);
  try {
    const code = await main(args, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      env: { PATH: process.env.PATH ?? "", ...env },
      ...(stdin === undefined ? {} : { readStdin: () => Promise.resolve(stdin) }),
    });
    return { code, stdout, stderr };
  } finally {
    for (const name of Object.keys(env)) delete process.env[name];
    Object.assign(process.env, Object.fromEntries(saved));
  }
}

/**
 * Runs finapi-config as a child process from the repository's root, with only PATH and `env` in its
 * environment: for what only a process shows (the bin, its exit code, standard input). Asynchronous
 * on purpose: the stand-ins answering the CLI live in the test's event loop.
 */
export async function runCliProcess(
  args: readonly string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<CliRun> {
  const { code, stdout, stderr } = await runProcess(process.execPath, [CLI, ...args], {
    env,
    ...(stdin === undefined ? {} : { stdin }),
  });
  return { code, stdout, stderr };
}
