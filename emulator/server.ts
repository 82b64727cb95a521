import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CallbackSender } from "./callbacks.ts";
import {
  type Fault,
  type FinapiEmulator,
  type FinapiEmulatorOptions,
  faultSchema,
  finapiEmulatorOptionsSchema,
  type RecordedRequest,
} from "./contract.ts";
import { type ApiReply, EmulatedFinapi, effectiveMethodOf, pathnameOf, requestIdOf } from "./finapi-api.ts";
import { defaultErrorBody } from "./responses.ts";

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function matches(fault: Fault, record: RecordedRequest): boolean {
  const { method, path } = fault.match ?? {};
  if (path !== undefined && path !== pathnameOf(record.path)) return false;
  if (method === undefined) return true;
  const wanted = method.toUpperCase();
  return wanted === record.method || wanted === effectiveMethodOf(record.method, record.headers);
}

function serialise(body: unknown): { text: string; contentType?: string } {
  if (body === undefined) return { text: "" };
  if (typeof body === "string") return { text: body, contentType: "text/plain; charset=utf-8" };
  return { text: JSON.stringify(body), contentType: "application/json;charset=UTF-8" };
}

/**
 * Starts a finAPI emulator: a real HTTP server that answers POST /oauth/token (client, password and
 * refresh-token grants), GET/PATCH /api/v1/clientConfiguration, the users' creation and deletion
 * (DELETE /api/v1/users, POST /api/v1/mandatorAdmin/deleteUsers) like finAPI, POSTs each deletion to
 * the userSynchronizationCallbackUrl of every client of the user's user base (sandbox and live clients,
 * say, have separate user bases), records every request and serves injected faults.
 * It writes nothing to stdout or stderr.
 */
export async function startFinapiEmulator(options: FinapiEmulatorOptions = {}): Promise<FinapiEmulator> {
  const { port, host, latencyMs, clients, clock, callbackTimeoutMs, onCallback, onRequest } =
    finapiEmulatorOptionsSchema.parse(options);
  const finapi = new EmulatedFinapi(clock);
  for (const spec of clients) finapi.addClient(spec);
  const callbacks = new CallbackSender({ timeoutMs: callbackTimeoutMs, onDelivery: onCallback });

  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const takeFault = (record: RecordedRequest): Fault | undefined => {
    const index = faults.findIndex((fault) => matches(fault, record));
    return index === -1 ? undefined : faults.splice(index, 1)[0];
  };

  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const record: RecordedRequest = {
      method: request.method ?? "GET",
      path: request.url ?? "/",
      headers: flattenHeaders(request.headers),
      body: await readBody(request),
      status: 0,
    };
    requests.push(record);
    const requestId = requestIdOf(record.headers);
    const fault = takeFault(record);
    if (fault?.kind === "hang") return;
    if (fault?.kind === "reset") {
      request.socket.destroy();
      return;
    }
    const endpointContext = () => ({
      requestId: requestId.requestId,
      endpoint: `${effectiveMethodOf(record.method, record.headers)} ${pathnameOf(record.path)}`,
      authContext: "-",
      now: clock(),
    });
    let reply: ApiReply;
    if (fault?.kind === "status") {
      const defaultBody = fault.status >= 400 ? defaultErrorBody(fault.status, endpointContext()) : undefined;
      reply = { status: fault.status, body: fault.body ?? defaultBody, headers: fault.headers ?? {} };
    } else {
      try {
        const { method, path: target, headers, body } = record;
        reply = finapi.handle({ method, target, headers, body }, requestId);
      } catch {
        reply = { status: 500, body: defaultErrorBody(500, endpointContext()) };
      }
    }
    const delay = latencyMs + (fault?.kind === "delay" ? fault.ms : 0);
    if (delay > 0) await sleep(delay);
    /* The users are deleted whether or not the caller is still there to hear it, so the clients hear of it. */
    const notify = () => callbacks.send(reply.callbacks ?? []);
    if (response.destroyed) {
      notify();
      return;
    }
    const { text, contentType } = serialise(reply.body);
    response.setHeader("x-request-id", requestId.requestId);
    if (contentType) response.setHeader("content-type", contentType);
    for (const [name, value] of Object.entries(reply.headers ?? {})) response.setHeader(name, value);
    record.status = reply.status;
    if (reply.clientId !== undefined) record.clientId = reply.clientId;
    response.writeHead(reply.status).end(text);
    onRequest?.(record);
    notify();
  };

  const server = createServer((request, response) => {
    answer(request, response).catch(() => {
      // The socket failed mid-request (the client went away); there is nobody left to answer.
      response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const address = server.address() as AddressInfo;

  return {
    url: `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`,
    addClient: (spec) => finapi.addClient(spec),
    configurationOf: (clientId) => finapi.configurationOf(clientId),
    drift: (clientId, values) => finapi.drift(clientId, values),
    expireTokens: () => finapi.expireTokens(),
    addUser: (spec) => finapi.addUser(spec),
    userIds: (userBase) => finapi.userIds(userBase),
    callbacks: callbacks.deliveries,
    callbacksSettled: () => callbacks.settled(),
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    enqueueFault: (fault: Fault) => {
      faults.push(faultSchema.parse(fault));
    },
    close: async () => {
      await callbacks.close();
      await new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
