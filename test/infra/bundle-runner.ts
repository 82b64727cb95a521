import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";

/*
 * Runs in a child process of its own, so that a bundle reads its environment and builds its clients
 * exactly as in a fresh Lambda container: imports the bundle, invokes `handler` once with the event
 * the parent sends, and sends back the result or the error.
 */
interface Invocation {
  readonly bundle: string;
  readonly event: unknown;
  readonly functionName: string;
  readonly timeoutMs: number;
}

process.once("message", async (message: Invocation) => {
  let bundle: { handler: (event: unknown, context: unknown) => Promise<unknown> };
  try {
    bundle = await import(pathToFileURL(message.bundle).href);
  } catch (error) {
    const { name, message: text } =
      error instanceof Error ? error : { name: "Error", message: String(error) };
    process.send?.({ ok: false, error: { name, message: text } }, () => process.exit(0));
    return;
  }
  /* As in Lambda, the timeout counts from the invocation: loading the module (init) is not part of it. */
  const started = Date.now();
  const context = {
    awsRequestId: randomUUID(),
    functionName: message.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-central-1:000000000000:function:${message.functionName}`,
    memoryLimitInMB: "256",
    logGroupName: `/aws/lambda/${message.functionName}`,
    logStreamName: "bundle-test",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => message.timeoutMs - (Date.now() - started),
  };
  let reply: unknown;
  try {
    reply = { ok: true, result: await bundle.handler(message.event, context) };
  } catch (error) {
    const { name, message: text } =
      error instanceof Error ? error : { name: "Error", message: String(error) };
    reply = { ok: false, error: { name, message: text } };
  }
  process.send?.(reply, () => process.exit(0));
});
