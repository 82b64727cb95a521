export const REDACTED = "***";

/*
 * A path segment this long made of letters and digits is how unguessable URL secrets look (the hosted
 * callback's is 40 alphanumerics); ordinary path words are shorter or lack digits.
 */
const SECRET_LOOKING_SEGMENT = /^(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}$/;

/**
 * A URL fit for logs and diffs: the password of its user info, every query value and every
 * secret-looking path segment are masked. Text that is not a URL comes back unchanged.
 */
export function redactUrl(url: string): string {
  const parsed = URL.parse(url);
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) return url;
  if (parsed.password) parsed.password = REDACTED;
  for (const key of [...parsed.searchParams.keys()]) parsed.searchParams.set(key, REDACTED);
  parsed.pathname = parsed.pathname
    .split("/")
    .map((segment) => (SECRET_LOOKING_SEGMENT.test(segment) ? REDACTED : segment))
    .join("/");
  return parsed.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED);
}

/** Replaces every occurrence of the given secrets in `text`; secrets shorter than 4 characters are ignored. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((secret) => secret.length >= 4)
    .sort((a, b) => b.length - a.length)
    .reduce((redacted, secret) => redacted.replaceAll(secret, REDACTED), text);
}
