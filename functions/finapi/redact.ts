export const REDACTED = "***";

/*
 * How unguessable URL secrets look: 20 or more URL-safe characters that are either hex or mix upper case,
 * lower case and digits (the hosted callback's are 40 alphanumerics). Path words such as
 * `notifications-v2` are shorter, or lack that mix.
 */
function looksSecret(segment: string): boolean {
  if (!/^[A-Za-z0-9._~-]{20,}$/.test(segment)) return false;
  const hex = /^[0-9a-fA-F]+$/.test(segment) && /\d/.test(segment) && /[a-fA-F]/.test(segment);
  return hex || (/[a-z]/.test(segment) && /[A-Z]/.test(segment) && /\d/.test(segment));
}

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
    .map((segment) => (looksSecret(segment) ? REDACTED : segment))
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
