import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listen, PortInUseError } from "../../local/listen.ts";
import { selfSignedCertificate } from "../../local/self-signed-certificate.ts";

describe("listen", () => {
  const servers: Server[] = [];
  const track = <T extends Server>(server: T) => {
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  });

  it("binds 127.0.0.1 on a port the operating system picks and answers its http URL", async () => {
    const server = track(createServer());
    const listening = await listen(server);
    expect(listening.port).toBeGreaterThan(0);
    expect(listening.url).toBe(`http://127.0.0.1:${listening.port}`);
    expect(server.address()).toMatchObject({ address: "127.0.0.1", port: listening.port });
  });

  it("answers an https URL for an HTTPS server", async () => {
    const { key, cert } = selfSignedCertificate("127.0.0.1");
    const listening = await listen(track(createHttpsServer({ key, cert })));
    expect(listening.url).toBe(`https://127.0.0.1:${listening.port}`);
  });

  it("fails with PortInUseError naming the port, the host and what wanted it when the port is taken", async () => {
    const { port } = await listen(track(createServer()));
    const failure = listen(createServer(), { port, purpose: "the finAPI emulator" });
    await expect(failure).rejects.toThrow(PortInUseError);
    await expect(failure).rejects.toThrow(
      `port ${port} on 127.0.0.1 is already in use (wanted by the finAPI emulator)`,
    );
  });
});
