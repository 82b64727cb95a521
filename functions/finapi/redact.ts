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

/*
 * The hosted callback's path: whatever follows `/user-sync/<client>/` is the client's secret (or a
 * caller's guess at it), however short or plain it looks, so all of it is masked.
 */
const CALLBACK_PATH = /^(.*?\/user-sync\/[^/]+\/)(.+)$/;
const CALLBACK_PATH_IN_TEXT = /(\/user-sync\/[^/\s?#]+\/)[^\s]+/g;

/**
 * A URL fit for logs and diffs: the password of its user info, every query value and every
 * secret-looking path segment are masked, and in a callback URL everything after
 * `/user-sync/<client>/` (path, query and fragment). Text that is not a URL comes back unchanged,
 * except that a callback path in it is masked the same way.
 */
export function redactUrl(url: string): string {
  const parsed = URL.parse(url);
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    return url.replace(CALLBACK_PATH_IN_TEXT, `$1${REDACTED}`);
  }
  if (parsed.password) parsed.password = REDACTED;
  const callback = CALLBACK_PATH.exec(parsed.pathname);
  if (callback?.[1]) {
    parsed.search = "";
    parsed.hash = "";
    parsed.pathname = callback[1];
    return `${parsed.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED)}${REDACTED}`;
  }
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
