import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listen } from "../listen.ts";

/** What an invoked function answered: its payload, or the error Lambda reports as FunctionError. */
export type LocalInvokeResult =
  | { readonly payload: unknown }
  | { readonly functionError: { readonly errorType: string; readonly errorMessage: string } };

export interface LambdaApiStandInOptions {
  /** The functions by name; a name it does not hold answers ResourceNotFoundException. */
  readonly functions: Readonly<Record<string, (payload: unknown) => Promise<LocalInvokeResult>>>;
}

export interface LambdaApiStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_LAMBDA`. */
  readonly url: string;
  /** Each Invoke: the function name and the payload it was given. */
  readonly invocations: readonly { readonly functionName: string; readonly payload: unknown }[];
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function answerError(response: ServerResponse, status: number, type: string, message: string): void {
  response
    .writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type })
    .end(JSON.stringify({ Type: "User", message }));
}

/**
 * A local stand-in for Lambda's Invoke API (RequestResponse), as the SDK v3 reaches it through
 * `AWS_ENDPOINT_URL_LAMBDA`: the caller's code runs unchanged against functions the test provides.
 */
export async function startLambdaApi(options: LambdaApiStandInOptions): Promise<LambdaApiStandIn> {
  const invocations: { functionName: string; payload: unknown }[] = [];
  const server: Server = createServer(async (request, response) => {
    const match = request.method === "POST" ? INVOKE_PATH.exec(request.url?.split("?")[0] ?? "") : null;
    if (!match) return answerError(response, 404, "UnknownOperationException", "only Invoke is served");
    const functionName = decodeURIComponent(match[1] ?? "");
    const body = await readBody(request);
    let payload: unknown;
    try {
      payload = body === "" ? {} : JSON.parse(body);
    } catch {
      return answerError(
        response,
        400,
        "InvalidRequestContentException",
        "Could not parse request body into json",
      );
    }
    const invoke = options.functions[functionName];
    if (!invoke) {
      return answerError(response, 404, "ResourceNotFoundException", `Function not found: ${functionName}`);
    }
    invocations.push({ functionName, payload });
    const result = await invoke(payload);
    if ("functionError" in result) {
      response
        .writeHead(200, { "content-type": "application/json", "x-amz-function-error": "Unhandled" })
        .end(JSON.stringify(result.functionError));
      return;
    }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result.payload));
  });
  const { url } = await listen(server, { purpose: "the Lambda API stand-in" });
  return {
    url,
    invocations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
