import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";

/*
 * A throw-away TLS certificate for the local loop's Function URL: Function URLs are https, and finAPI's
 * live environment accepts only https callback URLs. Node can make keys but not certificates, so this
 * writes the few DER structures of an X.509 v3 certificate itself (RFC 5280): ECDSA P-256 with SHA-256,
 * self-signed, naming its host in subjectAltName.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const der = (tag: number, ...contents: Buffer[]) => {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const sequence = (...items: Buffer[]) => der(0x30, ...items);
const set = (...items: Buffer[]) => der(0x31, ...items);
const explicit = (number: number, content: Buffer) => der(0xa0 + number, content);
const octetString = (content: Buffer) => der(0x04, content);
const bitString = (content: Buffer) => der(0x03, Buffer.from([0]), content);
const utf8String = (text: string) => der(0x0c, Buffer.from(text, "utf8"));
const booleanTrue = () => der(0x01, Buffer.from([0xff]));

function objectIdentifier(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let value = arc; ; value = Math.floor(value / 128)) {
      groups.unshift(value % 128);
      if (value < 128) break;
    }
    bytes.push(...groups.map((group, index) => (index < groups.length - 1 ? group | 0x80 : group)));
  }
  return der(0x06, Buffer.from(bytes));
}

/* UTCTime (years before 2050), as RFC 5280 asks: YYMMDDHHMMSSZ. */
function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, "").slice(2, 14);
  return der(0x17, Buffer.from(`${text}Z`, "ascii"));
}

function subjectAltName(host: string): Buffer {
  const name =
    isIP(host) === 4
      ? der(0x87, Buffer.from(host.split(".").map(Number)))
      : der(0x82, Buffer.from(host, "ascii"));
  return sequence(objectIdentifier("2.5.29.17"), octetString(sequence(name)));
}

export interface SelfSignedCertificate {
  /** PEM, for `https.createServer({ key })`. */
  readonly key: string;
  /** PEM, for the server and for whoever must trust it. */
  readonly cert: string;
}

/** A certificate for `host` (an IPv4 address or a DNS name), valid from a day ago for `validDays`. */
export function selfSignedCertificate(host: string, validDays = 30, now = new Date()): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const ecdsaWithSha256 = sequence(objectIdentifier("1.2.840.10045.4.3.2"));
  const name = sequence(
    set(sequence(objectIdentifier("2.5.4.3"), utf8String(`finapi-config-sync local ${host}`))),
  );
  const serial = randomBytes(16);
  /* Positive and without a leading zero byte: DER allows an INTEGER no padding. */
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const tbsCertificate = sequence(
    explicit(0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    ecdsaWithSha256,
    name,
    sequence(
      utcTime(new Date(now.getTime() - DAY_MS)),
      utcTime(new Date(now.getTime() + validDays * DAY_MS)),
    ),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    explicit(
      3,
      sequence(
        subjectAltName(host),
        /* basicConstraints cA: the certificate is its own trust anchor. */
        sequence(objectIdentifier("2.5.29.19"), booleanTrue(), octetString(sequence(booleanTrue()))),
      ),
    ),
  );
  const signature = sign("sha256", tbsCertificate, privateKey);
  const certificate = sequence(tbsCertificate, ecdsaWithSha256, bitString(signature));
  const base64Lines = certificate.toString("base64").match(/.{1,64}/g) ?? [];
  return {
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    cert: `-----BEGIN CERTIFICATE-----\n${base64Lines.join("\n")}\n-----END CERTIFICATE-----\n`,
  };
}
