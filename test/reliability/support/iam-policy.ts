/*
 * IAM identity-policy evaluation, as far as this stack's roles need it: Allow and Deny statements with
 * Action/NotAction and Resource/NotResource (wildcards * and ?; actions case-insensitive, ARNs not),
 * condition operators String*, Arn* and Bool (with IfExists), and a request allowed only when some
 * statement allows it and none denies it (an explicit Deny wins). Unknown operators are refused, so that
 * a policy this does not understand fails loudly instead of being read as allowing.
 */

/** A statement whose values CloudFormation has already resolved to text. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** One call as IAM sees it: `service:Operation` on one resource ARN, with the request's condition keys. */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys (e.g. `events:source`), lower-cased key names as IAM compares them. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

export type Decision =
  | { readonly allowed: true; readonly allowedBy: readonly number[] }
  | { readonly allowed: false; readonly reason: "explicit-deny" | "no-allow"; readonly deniedBy?: number };

/** One action on one resource pattern that a role's Allow statement grants. */
export interface Grant {
  readonly action: string;
  readonly resource: string;
  readonly statement: number;
}

const list = (value: string | readonly string[] | undefined): readonly string[] =>
  value === undefined ? [] : typeof value === "string" ? [value] : value;

const patternCache = new Map<string, RegExp>();

/** IAM's wildcard match: `*` any run of characters, `?` exactly one, everything else literal. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const key = `${ignoreCase ? "i" : "c"}${pattern}`;
  let expression = patternCache.get(key);
  if (!expression) {
    const source = pattern
      .split("")
      .map((character) =>
        character === "*" ? ".*" : character === "?" ? "." : character.replace(/[.+^${}()|[\]\\]/g, "\\$&"),
      )
      .join("");
    expression = new RegExp(`^${source}$`, ignoreCase ? "is" : "s");
    patternCache.set(key, expression);
  }
  return expression.test(value);
}

const actionMatches = (patterns: readonly string[], action: string) =>
  patterns.some((pattern) => wildcardMatch(pattern, action, true));
const resourceMatches = (patterns: readonly string[], resource: string) =>
  patterns.some((pattern) => wildcardMatch(pattern, resource));

function conditionHolds(
  operator: string,
  conditions: Readonly<Record<string, string | readonly string[]>>,
  context: Readonly<Record<string, string | readonly string[]>>,
): boolean {
  const ifExists = operator.endsWith("IfExists");
  const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
  const compare: Record<string, (expected: string, actual: string) => boolean> = {
    StringEquals: (expected, actual) => expected === actual,
    StringNotEquals: (expected, actual) => expected === actual,
    StringEqualsIgnoreCase: (expected, actual) => expected.toLowerCase() === actual.toLowerCase(),
    StringNotEqualsIgnoreCase: (expected, actual) => expected.toLowerCase() === actual.toLowerCase(),
    StringLike: (expected, actual) => wildcardMatch(expected, actual),
    StringNotLike: (expected, actual) => wildcardMatch(expected, actual),
    ArnEquals: (expected, actual) => expected === actual,
    ArnNotEquals: (expected, actual) => expected === actual,
    ArnLike: (expected, actual) => wildcardMatch(expected, actual),
    ArnNotLike: (expected, actual) => wildcardMatch(expected, actual),
    Bool: (expected, actual) => expected.toLowerCase() === actual.toLowerCase(),
  };
  const match = compare[base];
  if (!match) throw new Error(`IAM condition operator ${operator} is not supported by this evaluator`);
  const negated = base.includes("Not");
  return Object.entries(conditions).every(([key, expectedValues]) => {
    const actualValues = list(context[key.toLowerCase()]);
    if (actualValues.length === 0) return ifExists || negated;
    /* A single-valued key: any expected value matching is a match; negated operators need none to. */
    const matched = actualValues.some((actual) =>
      list(expectedValues).some((expected) => match(expected, actual)),
    );
    return negated ? !matched : matched;
  });
}

function statementApplies(statement: PolicyStatement, request: AuthorizationRequest): boolean {
  const actionApplies =
    statement.Action !== undefined
      ? actionMatches(list(statement.Action), request.action)
      : !actionMatches(list(statement.NotAction), request.action);
  if (!actionApplies) return false;
  const resourceApplies =
    statement.Resource !== undefined
      ? resourceMatches(list(statement.Resource), request.resource)
      : !resourceMatches(list(statement.NotResource), request.resource);
  if (!resourceApplies) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, conditions]) =>
    conditionHolds(operator, conditions, request.context ?? {}),
  );
}

/** Whether the statements allow the request: an explicit Deny wins over any Allow; no Allow denies. */
export function evaluate(statements: readonly PolicyStatement[], request: AuthorizationRequest): Decision {
  const allowedBy: number[] = [];
  for (const [index, statement] of statements.entries()) {
    if (!statementApplies(statement, request)) continue;
    if (statement.Effect === "Deny") return { allowed: false, reason: "explicit-deny", deniedBy: index };
    allowedBy.push(index);
  }
  return allowedBy.length > 0 ? { allowed: true, allowedBy } : { allowed: false, reason: "no-allow" };
}

/** Every action × resource pattern the Allow statements grant (NotAction/NotResource grants are not listed). */
export function grantsOf(statements: readonly PolicyStatement[]): Grant[] {
  return statements.flatMap((statement, index) =>
    statement.Effect !== "Allow"
      ? []
      : list(statement.Action).flatMap((action) =>
          list(statement.Resource).map((resource) => ({ action, resource, statement: index })),
        ),
  );
}

/** Whether an allowed request used the grant: its statement allowed it, and its action and resource match. */
export function usesGrant(
  grant: Grant,
  request: AuthorizationRequest,
  allowedBy: readonly number[],
): boolean {
  return (
    allowedBy.includes(grant.statement) &&
    wildcardMatch(grant.action, request.action, true) &&
    wildcardMatch(grant.resource, request.resource)
  );
}
