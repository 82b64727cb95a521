/** What the callback path `/user-sync/{client}/{secret}` names; neither part is trusted yet. */
export interface CallbackRoute {
  readonly client: string;
  readonly secret: string;
}

/*
 * An optional first segment lets API Gateway stage names (`/prod/user-sync/...`) through; a Function
 * URL or the `$default` stage has none. Segments are taken as they come, never URL-decoded: client
 * names and secrets are plain alphanumerics, so an encoded character can only make a path not match.
 */
const CALLBACK_PATH = /^(?:\/[^/]+)?\/user-sync\/([^/]+)\/([^/]+)$/;

export function parseCallbackPath(rawPath: string | undefined): CallbackRoute | undefined {
  const match = rawPath === undefined ? null : CALLBACK_PATH.exec(rawPath);
  if (!match?.[1] || !match[2]) return undefined;
  return { client: match[1], secret: match[2] };
}

/** The route as it may appear in logs: the client a trusted name, the secret masked. */
export function maskedRoute(clientName: string): string {
  return `/user-sync/${clientName}/***`;
}

/**
 * The route of a refused call as it may appear in logs: the client only if it is a configured one
 * (configured names are not secret, and other path text is the caller's, so it is left out).
 */
export function refusedRoute(route: CallbackRoute | undefined, clientNames: readonly string[]): string {
  if (!route) return "unrecognised";
  return maskedRoute(clientNames.includes(route.client) ? route.client : "?");
}
