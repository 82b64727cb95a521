/*
 * Where a finAPI client may send its client secret. The token request carries the secret in its form
 * body, so the base URL must be https; plain http is left for a finAPI on this machine (the emulator),
 * which nobody on the network can read.
 */

/** Loopback hosts: `localhost`, 127.0.0.0/8 and `::1`, as the WHATWG URL parser spells them. */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

export interface BaseUrlRule {
  /** Whether http:// is allowed for a loopback host (an emulator on this machine). */
  readonly loopbackHttp: boolean;
}

/** Anything deployed calls finAPI over https only; a local run may call an emulator on a loopback host. */
export const DEPLOYED_BASE_URL_RULE: BaseUrlRule = { loopbackHttp: false };
export const LOCAL_BASE_URL_RULE: BaseUrlRule = { loopbackHttp: true };

/** The rule as one phrase, for messages that name a field: "--base-url must be …". */
export function describeBaseUrlRule(rule: BaseUrlRule): string {
  return rule.loopbackHttp
    ? "must be an absolute https:// URL (http:// only for a loopback host: localhost, 127.0.0.0/8, ::1)"
    : "must be an absolute https:// URL";
}

/**
 * Checks a finAPI base URL against the rule: undefined when it holds, else the rule's phrase. User info
 * is refused too (the secret would travel in the URL's own credentials otherwise), as are a query and a
 * fragment (paths are appended to the base URL).
 */
export function finapiBaseUrlProblem(value: string, rule: BaseUrlRule): string | undefined {
  const url = URL.parse(value);
  const problem = describeBaseUrlRule(rule);
  if (!url || url.hostname === "") return problem;
  if (url.username !== "" || url.password !== "") return `${problem} without user info`;
  if (url.search !== "" || url.hash !== "") return `${problem} without a query or fragment`;
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && rule.loopbackHttp && isLoopbackHost(url.hostname)) return undefined;
  return problem;
}
