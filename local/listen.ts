import type { Server } from "node:http";

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

/** Starts listening, or fails with PortInUseError when the port is taken. */
export async function listen(server: Server, port: number, host: string, purpose: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(isAddressInUse(error) ? new PortInUseError(port, host, purpose) : error),
    );
    server.listen(port, host, () => resolve());
  });
}
