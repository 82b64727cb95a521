import { Duration, Token } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import * as z from "zod";

/**
 * A construct's props that break a rule, found before the construct created anything: the message
 * lists every problem, each naming the prop and the rule.
 */
export class ConstructPropsError extends Error {
  /** Each problem as `<prop path>: <rule>`. */
  readonly problems: readonly string[];

  constructor(path: string, construct: string, problems: readonly string[]) {
    super(`${path}: invalid ${construct} props:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConstructPropsError";
    this.problems = problems;
  }
}

/** `clients[1].name` from a zod issue path. */
export function propPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`,
    )
    .join("");
}

/** Every problem the schema finds in the props, as `<prop path>: <rule>`. */
export function schemaProblems(schema: z.ZodType, props: unknown): string[] {
  const parsed = schema.safeParse(props);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) =>
    issue.path.length === 0 ? issue.message : `${propPath(issue.path)}: ${issue.message}`,
  );
}

/**
 * Throws one ConstructPropsError listing every problem, if there is any. Constructs call it first
 * thing, before `super`, with the scope and id they were given: props that break a rule leave nothing
 * behind, not even the construct's own node in the scope.
 */
export function checkProps(
  construct: string,
  scope: IConstruct,
  id: string,
  problems: readonly string[],
): void {
  if (problems.length > 0) throw new ConstructPropsError(constructPath(scope, id), construct, problems);
}

/** The path a construct with this id gets in this scope. */
export function constructPath(scope: IConstruct, id: string): string {
  return scope.node.path === "" ? id : `${scope.node.path}/${id}`;
}

/** Whether a number is a token CDK resolves at deployment: no rule can see through it at synth time. */
const unresolved = (value: number) => Token.isUnresolved(value);

/** A whole number from `min` to `max`, or a token. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER, why = "") {
  const bounds = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  const message = `must be a whole number ${bounds}${why ? ` (${why})` : ""}`;
  return z
    .number({ error: message })
    .refine((value) => unresolved(value) || (Number.isInteger(value) && value >= min && value <= max), {
      message,
    });
}

/**
 * A Duration from `min` to `max`, in whole seconds (what Lambda, SQS and EventBridge take), or one
 * whose amount is a token.
 */
export function durationBetween(min: Duration, max: Duration, why = "") {
  const message = `must be a Duration of ${min.toHumanString()} to ${max.toHumanString()} in whole seconds${why ? ` (${why})` : ""}`;
  return z
    .custom<Duration>((value) => value instanceof Duration, { message })
    .refine(
      (duration) => {
        if (duration.isUnresolved()) return true;
        const seconds = duration.toSeconds({ integral: false });
        return Number.isInteger(seconds) && seconds >= min.toSeconds() && seconds <= max.toSeconds();
      },
      { message },
    );
}

/** A string that is not empty, of at most `max` characters, or a token. */
export function text(max: number) {
  const message = `must be a string of 1 to ${max} characters`;
  return z
    .string({ error: message })
    .refine((value) => Token.isUnresolved(value) || (value.length >= 1 && value.length <= max), {
      message,
    });
}

/** The names that occur more than once. */
export function duplicates(values: readonly string[]): string[] {
  return [...new Set(values.filter((value, index) => values.indexOf(value) !== index))];
}
