import { X509Certificate } from "node:crypto";
import { createServer, request } from "node:https";
import { describe, expect, it } from "vitest";
import { listen } from "../../local/listen.ts";
import { selfSignedCertificate } from "../../local/self-signed-certificate.ts";

const NOW = new Date("2026-11-21T10:00:00Z");

describe("selfSignedCertificate", () => {
  it("makes a certificate for the address, signed by its own key, valid from a day before for the days asked", () => {
    const { cert } = selfSignedCertificate("127.0.0.1", 30, NOW);
    const certificate = new X509Certificate(cert);
    expect(certificate.subjectAltName).toBe("IP Address:127.0.0.1");
    expect(certificate.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(new Date(certificate.validFrom)).toEqual(new Date("2026-11-20T10:00:00Z"));
    expect(new Date(certificate.validTo)).toEqual(new Date("2026-12-21T10:00:00Z"));
  });

  it("encodes every random serial number as DER wants it (positive, no padding), so each certificate parses", () => {
    /* A serial starting with a zero byte once made one certificate in 256 unreadable. */
    for (let attempt = 0; attempt < 512; attempt += 1) {
      const { serialNumber } = new X509Certificate(selfSignedCertificate("127.0.0.1").cert);
      expect(serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    }
  });

  it("names a DNS host in subjectAltName", () => {
    expect(new X509Certificate(selfSignedCertificate("localhost").cert).subjectAltName).toBe("DNS:localhost");
  });

  it("serves TLS that a client trusting the certificate accepts and one that does not refuses", async () => {
    const { key, cert } = selfSignedCertificate("127.0.0.1");
    const server = createServer({ key, cert }, (_request, response) => response.end("ok"));
    const { port } = await listen(server);
    const get = (ca?: string) =>
      new Promise<string>((resolve, reject) => {
        request({ host: "127.0.0.1", port, ...(ca ? { ca } : {}) }, (response) => {
          response.setEncoding("utf8");
          let body = "";
          response.on("data", (chunk: string) => {
            body += chunk;
          });
          response.on("end", () => resolve(body));
        })
          .on("error", reject)
          .end();
      });
    try {
      await expect(get(cert)).resolves.toBe("ok");
      await expect(get()).rejects.toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
