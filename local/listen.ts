import { Server as HttpsServer } from "node:https";
import type { AddressInfo, Server } from "node:net";

/** A port the local loop was told to use is taken. */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  readonly port: number;
  /** What wanted the port, e.g. "the finAPI emulator". */
  readonly purpose: string;

  constructor(port: number, host: string, purpose: string) {
    super(`port ${port} on ${host} is already in use (wanted by ${purpose})`);
    this.port = port;
    this.purpose = purpose;
  }
}

/** Whether `error` is the operating system saying that the address is taken. */
export function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE";
}

export const LOOPBACK = "127.0.0.1";

export interface ListenOptions {
  /** @default 0 (the operating system picks a free port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** What wants the port, named in PortInUseError, e.g. "the finAPI emulator". @default "a local server" */
  readonly purpose?: string;
}

export interface Listening {
  readonly port: number;
  /** `http://` or, for an HTTPS server, `https://`, with the host and the port. */
  readonly url: string;
}

/**
 * Starts a server of the local loop, a stand-in or a test on the loopback interface (a port the
 * operating system picks unless told), or fails with PortInUseError when the port is taken. The
 * server does not keep the process alive: its owner closes it, and one left open must not hold
 * `npm start` or a test run.
 */
export async function listen(server: Server, options: ListenOptions = {}): Promise<Listening> {
  const host = options.host ?? LOOPBACK;
  const port = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        isAddressInUse(error) ? new PortInUseError(port, host, options.purpose ?? "a local server") : error,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const address = server.address() as AddressInfo;
  const scheme = server instanceof HttpsServer ? "https" : "http";
  return { port: address.port, url: `${scheme}://${host}:${address.port}` };
}
