/** Why a request got no answer, in words an operator can act on. */
export interface NetworkFailure {
  /** For example "connection refused (ECONNREFUSED)"; never a URL's path, query or credentials. */
  readonly failure: string;
  /**
   * Whether an immediate retry can only fail the same way: a host that does not exist, or a TLS
   * peer that cannot be trusted, stays so for the rest of this run.
   */
  readonly permanent: boolean;
}

const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/* OpenSSL's certificate verdicts as Node names them, besides the CERT_* and ERR_TLS_* / ERR_SSL_* families. */
const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "HOSTNAME_MISMATCH",
]);

function isTlsCode(code: string): boolean {
  return (
    code.startsWith("CERT_") ||
    code.startsWith("ERR_TLS_") ||
    code.startsWith("ERR_SSL_") ||
    code.startsWith("ERR_OSSL_") ||
    TLS_CODES.has(code)
  );
}

/* fetch wraps the socket's error ("fetch failed"); the code sits on a cause, sometimes one level deeper. */
function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * Names the cause of a failed fetch from the error's code (undici hands on Node's: ECONNREFUSED,
 * ENOTFOUND, EAI_AGAIN, CERT_*, ERR_TLS_*, or its own UND_ERR_*). `timeoutMs` is the per-call timeout
 * that an AbortSignal.timeout turned into a TimeoutError.
 */
export function describeNetworkError(error: unknown, timeoutMs: number): NetworkFailure {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return { failure: `timed out after ${timeoutMs} ms`, permanent: false };
  }
  const code = errorCode(error);
  if (code === undefined) return { failure: "could not be reached (network error)", permanent: false };
  if (code === "ECONNREFUSED")
    return { failure: "could not connect: connection refused (ECONNREFUSED)", permanent: false };
  if (code === "ENOTFOUND")
    return { failure: "could not connect: host not found (ENOTFOUND)", permanent: true };
  if (code === "EAI_AGAIN") {
    return { failure: "could not connect: host lookup failed for now (EAI_AGAIN)", permanent: false };
  }
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE") {
    return {
      failure: `the connection was closed before the answer was complete (${code})`,
      permanent: false,
    };
  }
  if (code === "ETIMEDOUT" || TIMEOUT_CODES.has(code))
    return { failure: `timed out (${code})`, permanent: false };
  if (isTlsCode(code)) return { failure: `could not connect: TLS failure (${code})`, permanent: true };
  return { failure: `could not be reached (network error ${code})`, permanent: false };
}
