/*
 * How the stack matches and grants many parameter and secret names without listing each one: a name
 * under a path (`/finapi/acme`, `finapi/acme/credentials`) belongs to its first path segment
 * (`/finapi/`, `finapi/`); a name at the root (`/acme`) or without a path (`acme`) stands for itself.
 */

/** A name's first path segment with its slashes (`/finapi/` for `/finapi/live/acme`), or undefined at the root. */
export function topLevelPath(name: string): string | undefined {
  const match = /^(\/?[^/]+\/)[^/]/.exec(name);
  return match?.[1];
}

/** An entry of an EventBridge pattern's value list: an exact string or a prefix match. */
export type NameMatcher = string | { readonly prefix: string };

/*
 * SSM treats "/name" and "name" as one parameter (one ARN), and an event names it the way it was
 * created, which may not be how the context spells it: each match comes in both spellings.
 */
function bothSpellings(name: string): string[] {
  const bare = name.replace(/^\//, "");
  return [`/${bare}`, bare];
}

/**
 * The `detail.name` matchers of a Parameter Store Change rule for `parameterNames`: a prefix match on
 * each top-level path they live under, an exact match for each name at the root; both spellings of
 * each, sorted, so that the pattern grows with the paths, not with the clients.
 */
export function parameterNameMatchers(parameterNames: readonly string[]): NameMatcher[] {
  const prefixes = new Set<string>();
  const exact = new Set<string>();
  for (const name of parameterNames) {
    const path = topLevelPath(name);
    for (const spelling of bothSpellings(path ?? name)) (path ? prefixes : exact).add(spelling);
  }
  return [...[...exact].sort(), ...[...prefixes].sort().map((prefix) => ({ prefix }))];
}

/**
 * How many of the stack's names one top-level path may hold before a grant covers the path (`path*`)
 * rather than each name: an inline policy may hold 10,240 characters in all, about 100 ARNs.
 */
export const EXACT_GRANTS_PER_PATH = 10;

/**
 * The resource names to grant for `names`: each name itself, except that the names of a top-level
 * path holding more than EXACT_GRANTS_PER_PATH of them are granted as that path followed by `*`.
 * Order follows the first appearance of each name or path.
 */
export function grantedNames(names: readonly string[]): {
  readonly exact: string[];
  readonly paths: string[];
} {
  const byPath = new Map<string, number>();
  for (const name of names) {
    const path = topLevelPath(name);
    if (path) byPath.set(path, (byPath.get(path) ?? 0) + 1);
  }
  const widened = (name: string) => {
    const path = topLevelPath(name);
    return path !== undefined && (byPath.get(path) ?? 0) > EXACT_GRANTS_PER_PATH ? path : undefined;
  };
  return {
    exact: names.filter((name) => widened(name) === undefined),
    paths: [...new Set(names.map(widened).filter((path): path is string => path !== undefined))],
  };
}
