import { createServer, type IncomingMessage, type Server } from "node:http";
import { listen } from "../listen.ts";

/** An error answered the way AWS JSON-protocol services answer: `{"__type", "message"}` with a 4xx/5xx. */
export class AwsServiceError extends Error {
  readonly type: string;
  readonly statusCode: number;

  constructor(type: string, message: string, statusCode = 400) {
    super(message);
    this.name = "AwsServiceError";
    this.type = type;
    this.statusCode = statusCode;
  }
}

export type AwsJsonOperation = (input: Record<string, unknown>) => unknown;

export interface AwsJsonCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

export interface AwsJsonServerOptions {
  /** The `X-Amz-Target` prefix before the dot, for example `AmazonSSM` or `secretsmanager`. */
  readonly targetPrefix: string;
  readonly operations: Readonly<Record<string, AwsJsonOperation>>;
  /** @default 0 (the operating system picks a free port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
}

export interface AwsJsonServer {
  /** The endpoint to put into `AWS_ENDPOINT_URL_<SERVICE>`. */
  readonly url: string;
  /** Every call received, in order, including the failed ones. */
  readonly calls: readonly AwsJsonCall[];
  /** The next `times` calls of `operation` answer with `error` instead of running. */
  failNext(operation: string, error: AwsServiceError, times?: number): void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A local stand-in for an AWS service that speaks the JSON protocol (awsJson1_0 / awsJson1_1):
 * SSM, Secrets Manager, EventBridge and SQS all do. The SDK v3 reaches it through
 * `AWS_ENDPOINT_URL_<SERVICE>`, so the code under test runs unchanged.
 */
export async function startAwsJsonServer(options: AwsJsonServerOptions): Promise<AwsJsonServer> {
  const calls: AwsJsonCall[] = [];
  const pendingFaults = new Map<string, { error: AwsServiceError; remaining: number }>();

  const answer = (
    response: import("node:http").ServerResponse,
    status: number,
    body: unknown,
    errorType?: string,
  ) => {
    const headers: Record<string, string> = { "content-type": "application/x-amz-json-1.1" };
    if (errorType) {
      headers["x-amzn-errortype"] = errorType;
      headers["x-amzn-query-error"] = `${errorType};Sender`;
    }
    response.writeHead(status, headers).end(JSON.stringify(body));
  };

  const server: Server = createServer(async (request, response) => {
    const target = request.headers["x-amz-target"];
    const raw = await readBody(request);
    const [prefix, operation] = typeof target === "string" ? target.split(".") : [];
    if (prefix !== options.targetPrefix || !operation) {
      answer(response, 400, { __type: "UnknownOperationException", message: `unknown target ${target}` });
      return;
    }
    let input: Record<string, unknown>;
    try {
      input = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      answer(response, 400, { __type: "SerializationException", message: "body is not JSON" });
      return;
    }
    calls.push({ operation, input });
    try {
      const fault = pendingFaults.get(operation);
      if (fault) {
        fault.remaining -= 1;
        if (fault.remaining <= 0) pendingFaults.delete(operation);
        throw fault.error;
      }
      const handler = options.operations[operation];
      if (!handler) throw new AwsServiceError("UnknownOperationException", `${operation} is not served`);
      answer(response, 200, (await handler(input)) ?? {});
    } catch (error) {
      if (error instanceof AwsServiceError) {
        answer(response, error.statusCode, { __type: error.type, message: error.message }, error.type);
      } else {
        answer(response, 500, { __type: "InternalFailure", message: String(error) }, "InternalFailure");
      }
    }
  });

  const { url } = await listen(server, {
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    purpose: `the ${options.targetPrefix} stand-in`,
  });

  return {
    url,
    calls,
    failNext(operation, error, times = 1) {
      pendingFaults.set(operation, { error, remaining: times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
