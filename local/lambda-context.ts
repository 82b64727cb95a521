import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export interface LambdaContextOptions {
  readonly functionName: string;
  /**
   * What `getRemainingTimeInMillis()` answers: a fixed number (tests, so that no wall clock decides
   * them) or a function, e.g. counting down to the invocation's deadline.
   */
  readonly remainingMs: number | (() => number);
  /** @default a random UUID */
  readonly requestId?: string;
  /** @default "eu-central-1" */
  readonly region?: string;
  /** @default 256 */
  readonly memoryMb?: number;
}

/**
 * The context Lambda hands a handler, shaped as Lambda shapes it: the one used by the worker-thread
 * host (lambda-runtime.ts), the benchmarks and the tests that call handlers directly.
 */
export function lambdaContext(options: LambdaContextOptions): Context {
  const { functionName, remainingMs } = options;
  const region = options.region ?? "eu-central-1";
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(options.memoryMb ?? 256),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${process.pid}`,
    getRemainingTimeInMillis: typeof remainingMs === "number" ? () => remainingMs : remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
