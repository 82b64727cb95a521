import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { lambdaContext } from "../local/lambda-context.ts";

/*
 * Runs in a child process of bench/callback-throughput.ts, pinned to one core: imports the callback
 * bundle (its environment is this process's) and pushes `requests` distinct deletions through its
 * handler, `concurrency` at a time, then reports the wall time and the CPU time it used.
 */
interface LoadRequest {
  readonly bundle: string;
  readonly event: APIGatewayProxyEventV2;
  readonly requests: number;
  readonly concurrency: number;
  readonly prefix: string;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode?: number }>;

function contextFor(index: number): Context {
  const deadline = Date.now() + 10_000;
  return lambdaContext({
    functionName: "user-sync-callback",
    requestId: `bench-${index}`,
    remainingMs: () => Math.max(0, deadline - Date.now()),
  });
}

process.once("message", async (request: LoadRequest) => {
  const { handler } = (await import(pathToFileURL(request.bundle).href)) as { handler: Handler };
  /* Powertools writes a log line per request; the benchmark measures the handler, not the terminal. */
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const deliver = (index: number) =>
    handler(
      { ...request.event, body: JSON.stringify({ userId: `${request.prefix}-${index}`, event: "DELETED" }) },
      contextFor(index),
    );
  await deliver(-1);
  let next = 0;
  let failures = 0;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: request.concurrency }, async () => {
      while (next < request.requests) {
        const index = next++;
        if ((await deliver(index)).statusCode !== 202) failures += 1;
      }
    }),
  );
  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  process.send?.({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, failures }, () => process.exit(0));
});
