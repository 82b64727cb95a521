import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { DeployedClient, LocalDeployment } from "../test/reliability/support/deployment.ts";

export interface Throughput {
  readonly concurrency: number;
  readonly requests: number;
  readonly perSecond: number;
  /** CPU time the callback process spent per request: 1000 / this is one core's ceiling. */
  readonly cpuMsPerRequest: number;
  readonly pinnedToOneCore: boolean;
}

const TASKSET = "/usr/bin/taskset";

/** The callback bundle in a process of its own, limited to one core (taskset), against the local stand-ins. */
export function measureCallbackThroughput(
  deployment: LocalDeployment,
  bundle: string,
  requests: number,
  concurrency: number,
): Promise<Throughput> {
  const [client] = deployment.clients as [DeployedClient];
  const pinned = existsSync(TASKSET);
  return new Promise((resolve, reject) => {
    const child = fork(join(import.meta.dirname, "callback-load.ts"), [], {
      env: { ...deployment.callbackEnvironment, PATH: process.env.PATH ?? "" },
      execArgv: [],
      silent: true,
      ...(pinned ? { execPath: TASKSET, execArgv: ["-c", "0", process.execPath] } : {}),
    });
    let errors = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.once("message", (message: { wallMs: number; cpuMs: number; failures: number }) => {
      if (message.failures > 0) reject(new Error(`${message.failures} callbacks were not answered 202`));
      resolve({
        concurrency,
        requests,
        perSecond: (requests * 1000) / message.wallMs,
        cpuMsPerRequest: message.cpuMs / requests,
        pinnedToOneCore: pinned,
      });
    });
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`the load process exited with ${code}: ${errors}`));
    });
    child.send({
      bundle,
      event: deployment.callbackEvent(client, ""),
      requests,
      concurrency,
      prefix: `bench-throughput-${concurrency}`,
    });
  });
}
