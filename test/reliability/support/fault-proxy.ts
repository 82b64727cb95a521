import {
  createServer,
  request as forwardRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import { listen } from "../../../local/listen.ts";

/** What the proxy does to a request a fault is armed for, instead of (or on top of) passing it on. */
export type ProxyFault =
  /** Answered at once with this status, headers and body; the service never sees the request. */
  | {
      readonly kind: "status";
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  /** The connection is dropped before any answer (ECONNRESET on the caller's side). */
  | { readonly kind: "reset" }
  /** Passed on; the service's answer is held back this long (a slow service). */
  | { readonly kind: "delay"; readonly ms: number }
  /** Never answered: the caller waits until its own timeout gives up. */
  | { readonly kind: "hang" };

export interface ProxiedRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** The AWS operation from `X-Amz-Target` (`GetParameter`, `PutItem`, ...), when there is one. */
  readonly operation?: string;
}

export interface FiredFault {
  readonly label: string;
  readonly kind: ProxyFault["kind"];
  readonly request: ProxiedRequest;
}

export interface FaultProxy {
  /** Where callers are pointed instead of the service (no trailing slash). */
  readonly url: string;
  /** Every fault served so far, in order. */
  readonly fired: readonly FiredFault[];
  /** How many requests passed through or were faulted. */
  readonly requestCount: number;
  /** The next `times` requests that `matches` accepts get `fault`; armed faults are served in arming order. */
  arm(label: string, matches: (request: ProxiedRequest) => boolean, fault: ProxyFault, times?: number): void;
  /** How many armed faults have not been served yet. */
  pending(): number;
  /**
   * Resolves when the proxy next holds an answer back: a delay fault's answer has come from the service
   * and waits, or a hang fault has taken its request. What a test waits for to act at that point.
   */
  holding(): Promise<void>;
  /** Disarms every fault not served yet: the service is healthy again. */
  clear(): void;
  close(): Promise<void>;
}

interface ArmedFault {
  readonly label: string;
  readonly matches: (request: ProxiedRequest) => boolean;
  readonly fault: ProxyFault;
  remaining: number;
}

/** Matches an AWS JSON-protocol operation by name. */
export const operation =
  (...names: readonly string[]) =>
  (request: ProxiedRequest): boolean =>
    request.operation !== undefined && names.includes(request.operation);

/** Matches an HTTP method and path exactly. */
export const route =
  (method: string, path: string) =>
  (request: ProxiedRequest): boolean =>
    request.method === method && request.path === path;

function describe(request: IncomingMessage): ProxiedRequest {
  const target = request.headers["x-amz-target"];
  const operationName = typeof target === "string" ? target.split(".").at(-1) : undefined;
  return {
    method: request.method ?? "GET",
    path: new URL(request.url ?? "/", "http://proxy.invalid").pathname,
    ...(operationName ? { operation: operationName } : {}),
  };
}

/**
 * An HTTP proxy in front of one service (a stand-in or the finAPI emulator) that serves armed faults:
 * error answers, dropped connections, slow answers and hangs. Unlike the stand-ins' own `failNext`,
 * armed faults can be counted as they fire and disarmed all at once when "the outage is over".
 */
export async function startFaultProxy(upstreamUrl: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  const armed: ArmedFault[] = [];
  const fired: FiredFault[] = [];
  const held = new Set<ServerResponse>();
  const holdingWaiters: (() => void)[] = [];
  let requestCount = 0;

  const hold = (outgoing: ServerResponse) => {
    held.add(outgoing);
    for (const resolve of holdingWaiters.splice(0)) resolve();
  };

  const take = (request: ProxiedRequest): ArmedFault | undefined => {
    const index = armed.findIndex((candidate) => candidate.matches(request));
    const found = armed[index];
    if (!found) return undefined;
    found.remaining -= 1;
    if (found.remaining <= 0) armed.splice(index, 1);
    return found;
  };

  const pass = (incoming: IncomingMessage, outgoing: ServerResponse, delayMs: number) => {
    const headers: OutgoingHttpHeaders = { ...incoming.headers, host: upstream.host };
    const upstreamRequest = forwardRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("end", () => {
          const send = () => {
            held.delete(outgoing);
            if (outgoing.destroyed) return;
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
          };
          if (delayMs > 0) {
            hold(outgoing);
            setTimeout(send, delayMs).unref();
          } else send();
        });
        answer.on("error", () => outgoing.destroy());
      },
    );
    upstreamRequest.on("error", () => outgoing.destroy());
    incoming.pipe(upstreamRequest);
  };

  const server = createServer((incoming, outgoing) => {
    requestCount += 1;
    const request = describe(incoming);
    const armedFault = take(request);
    if (!armedFault) {
      pass(incoming, outgoing, 0);
      return;
    }
    const { fault, label } = armedFault;
    fired.push({ label, kind: fault.kind, request });
    switch (fault.kind) {
      case "status":
        incoming.resume();
        incoming.on("end", () => {
          outgoing
            .writeHead(fault.status, { "content-type": "application/json", ...fault.headers })
            .end(fault.body ?? "");
        });
        return;
      case "reset":
        incoming.resume();
        incoming.socket.destroy();
        return;
      case "delay":
        pass(incoming, outgoing, fault.ms);
        return;
      case "hang":
        incoming.resume();
        hold(outgoing);
        outgoing.on("close", () => held.delete(outgoing));
        return;
    }
  });
  server.keepAliveTimeout = 1_000;
  const { url } = await listen(server, { purpose: "a fault proxy" });

  return {
    url,
    fired,
    get requestCount() {
      return requestCount;
    },
    arm(label, matches, fault, times = 1) {
      armed.push({ label, matches, fault, remaining: times });
    },
    pending: () => armed.reduce((sum, fault) => sum + fault.remaining, 0),
    holding: () => new Promise<void>((resolve) => holdingWaiters.push(resolve)),
    clear: () => {
      armed.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
