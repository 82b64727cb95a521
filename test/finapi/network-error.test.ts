import { describe, expect, it } from "vitest";
import { describeNetworkError } from "../../functions/finapi/network-error.ts";

/* The shape undici's fetch rejects with: "fetch failed", the socket's error (with its code) as the cause. */
const fetchFailed = (code: string) =>
  new TypeError("fetch failed", { cause: Object.assign(new Error(`connect ${code}`), { code }) });

describe("describeNetworkError", () => {
  it.each([
    ["ECONNREFUSED", "could not connect: connection refused (ECONNREFUSED)", false],
    ["ENOTFOUND", "could not connect: host not found (ENOTFOUND)", true],
    ["EAI_AGAIN", "could not connect: host lookup failed for now (EAI_AGAIN)", false],
    ["ECONNRESET", "the connection was closed before the answer was complete (ECONNRESET)", false],
    ["UND_ERR_SOCKET", "the connection was closed before the answer was complete (UND_ERR_SOCKET)", false],
    ["UND_ERR_CONNECT_TIMEOUT", "timed out (UND_ERR_CONNECT_TIMEOUT)", false],
    ["UND_ERR_HEADERS_TIMEOUT", "timed out (UND_ERR_HEADERS_TIMEOUT)", false],
    ["CERT_HAS_EXPIRED", "could not connect: TLS failure (CERT_HAS_EXPIRED)", true],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "could not connect: TLS failure (ERR_TLS_CERT_ALTNAME_INVALID)", true],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "could not connect: TLS failure (DEPTH_ZERO_SELF_SIGNED_CERT)", true],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "could not connect: TLS failure (ERR_SSL_WRONG_VERSION_NUMBER)", true],
    ["EHOSTUNREACH", "could not be reached (network error EHOSTUNREACH)", false],
  ])("names %s and says whether an immediate retry can help", (code, failure, permanent) => {
    expect(describeNetworkError(fetchFailed(code), 10_000)).toEqual({ failure, permanent });
  });

  it("names the per-call timeout an AbortSignal.timeout fired", () => {
    const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    expect(describeNetworkError(timeout, 250)).toEqual({
      failure: "timed out after 250 ms",
      permanent: false,
    });
  });

  it("finds a code one cause deeper, and falls back to a plain network error without one", () => {
    const nested = new TypeError("fetch failed", {
      cause: new Error("wrapped", { cause: fetchFailed("ENOTFOUND").cause }),
    });
    expect(describeNetworkError(nested, 1)).toMatchObject({ permanent: true });
    expect(describeNetworkError(new TypeError("fetch failed"), 1)).toEqual({
      failure: "could not be reached (network error)",
      permanent: false,
    });
  });
});
