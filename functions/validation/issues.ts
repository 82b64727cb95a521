/**
 * The part of a zod issue that messages are made of. zod/mini's issues (the Lambdas) and classic
 * zod's (cli/, infra/) both have it, so one formatter serves both.
 */
export interface SchemaIssue {
  readonly code?: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** The keys an `unrecognized_keys` issue is about. */
  readonly keys?: readonly string[];
}

/** Where an issue is, as dotted segments (`clients.1.name`); "" for the value as a whole. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

export interface IssueFormat {
  /**
   * What the value as a whole is called: an issue about it reads `body must be JSON`. Without it the
   * message stands alone.
   */
  readonly whole?: string;
  /** One line per key of an `unrecognized_keys` issue (say what the fields are, suggest the nearest). */
  readonly unknownKey?: (key: string, path: readonly PropertyKey[]) => string;
}

/**
 * Each issue as `path: rule` (the field and the rule it breaks, never the value), in order and
 * without repeats: a union's branches may report the same problem twice.
 */
export function describeIssues(issues: readonly SchemaIssue[], format: IssueFormat = {}): string[] {
  const lines = issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys" && format.unknownKey !== undefined && issue.keys !== undefined) {
      const unknownKey = format.unknownKey;
      return issue.keys.map((key) => unknownKey(key, issue.path));
    }
    const path = issuePath(issue.path);
    if (path !== "") return [`${path}: ${issue.message}`];
    return [format.whole === undefined ? issue.message : `${format.whole} ${issue.message}`];
  });
  return [...new Set(lines)];
}
