import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { type AwsJsonCall, AwsServiceError, startAwsJsonServer } from "./json-protocol-server.ts";

const REGION = "eu-central-1";
const ACCOUNT = "000000000000";
const MAC_ALGORITHMS: Readonly<Record<string, string>> = {
  HMAC_SHA_224: "sha224",
  HMAC_SHA_256: "sha256",
  HMAC_SHA_384: "sha384",
  HMAC_SHA_512: "sha512",
};

interface HmacKey {
  readonly keyId: string;
  readonly arn: string;
  readonly material: Buffer;
}

export interface KmsStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_KMS`. */
  readonly url: string;
  readonly calls: readonly AwsJsonCall[];
  /** Creates an HMAC_256 key (GENERATE_VERIFY_MAC) and returns its ARN; its material never leaves the stand-in. */
  createHmacKey(): string;
  failNext(operation: string, error: AwsServiceError, times?: number): void;
  close(): Promise<void>;
}

function requireString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (typeof value !== "string" || value === "") {
    throw new AwsServiceError("ValidationException", `${key} must be a non-empty string`);
  }
  return value;
}

/**
 * A local KMS with the HMAC part the callback uses: CreateKey (HMAC key specs) and GenerateMac, by key
 * id or ARN. Blobs travel base64-encoded, as in AWS's JSON protocol.
 */
export async function startKms(): Promise<KmsStandIn> {
  const keys = new Map<string, HmacKey>();

  const createHmacKey = (): HmacKey => {
    const keyId = randomUUID();
    const key = {
      keyId,
      arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`,
      material: randomBytes(32),
    };
    keys.set(keyId, key);
    return key;
  };

  const find = (keyId: string): HmacKey => {
    const key = keys.get(keyId) ?? [...keys.values()].find((candidate) => candidate.arn === keyId);
    if (!key) throw new AwsServiceError("NotFoundException", `Key '${keyId}' does not exist`);
    return key;
  };

  const server = await startAwsJsonServer({
    targetPrefix: "TrentService",
    operations: {
      CreateKey: (input) => {
        if (input.KeySpec !== "HMAC_256" || input.KeyUsage !== "GENERATE_VERIFY_MAC") {
          throw new AwsServiceError(
            "UnsupportedOperationException",
            "the stand-in creates HMAC_256 keys for GENERATE_VERIFY_MAC only",
          );
        }
        const key = createHmacKey();
        return { KeyMetadata: { KeyId: key.keyId, Arn: key.arn, KeySpec: "HMAC_256" } };
      },
      GenerateMac: (input) => {
        const key = find(requireString(input, "KeyId"));
        const algorithm = MAC_ALGORITHMS[requireString(input, "MacAlgorithm")];
        if (!algorithm)
          throw new AwsServiceError("ValidationException", "MacAlgorithm is not an HMAC algorithm");
        const message = Buffer.from(requireString(input, "Message"), "base64");
        if (message.length === 0 || message.length > 4096) {
          throw new AwsServiceError("ValidationException", "Message must be 1 to 4096 bytes");
        }
        return {
          KeyId: key.arn,
          MacAlgorithm: input.MacAlgorithm,
          Mac: createHmac(algorithm, key.material).update(message).digest("base64"),
        };
      },
    },
  });

  return {
    url: server.url,
    calls: server.calls,
    createHmacKey: () => createHmacKey().arn,
    failNext: (operation, error, times) => server.failNext(operation, error, times),
    close: () => server.close(),
  };
}
