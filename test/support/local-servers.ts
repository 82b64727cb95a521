import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listen } from "../../local/listen.ts";

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export interface LocalServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request that reached the server, body included. */
  readonly requests: readonly ReceivedRequest[];
  close(): Promise<void>;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A local server that records what reaches it and answers with `answer` (by default 200 `{}`):
 * the other origin of a redirect, which must receive nothing, or a peer that never answers.
 */
export async function startLocalServer(
  answer: (request: ReceivedRequest, response: ServerResponse) => void = (_, response) =>
    response.writeHead(200, { "content-type": "application/json" }).end("{}"),
): Promise<LocalServer> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const received = {
        method: request.method ?? "GET",
        path: request.url ?? "/",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(received);
      answer(received, response);
    });
  });
  const { url } = await listen(server, { purpose: "a test server" });
  return { url, requests, close: () => closeServer(server) };
}

/** A port on 127.0.0.1 that nothing listens on (it was bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const { port } = await listen(server);
  await closeServer(server);
  return port;
}

/**
 * Writes `totalBytes` of JSON-looking filler to the response, generated chunk by chunk as the socket
 * drains (never held whole), and resolves with how many bytes were handed to the socket before the
 * peer went away or everything was written.
 */
export function streamFiller(response: ServerResponse, totalBytes: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, "a");
  let written = 0;
  return new Promise((resolve) => {
    const finish = () => resolve(written);
    response.once("close", finish);
    const pump = () => {
      while (written < totalBytes && !response.destroyed) {
        const size = Math.min(chunk.length, totalBytes - written);
        written += size;
        if (!response.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
          response.once("drain", pump);
          return;
        }
      }
      if (written >= totalBytes) response.end();
    };
    response.writeHead(200, { "content-type": "application/json" });
    pump();
  });
}
