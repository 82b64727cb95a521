import { fileURLToPath } from "node:url";
import { type ProcessRun, runProcess } from "../../support/child-process.ts";

const CLI = fileURLToPath(new URL("../../../cli/finapi-config.ts", import.meta.url));

export type CliRun = Pick<ProcessRun, "code" | "stdout" | "stderr">;

/** Runs finapi-config as a child process from the repository's root, with only PATH and `env` in its environment. */
export async function runCli(
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
