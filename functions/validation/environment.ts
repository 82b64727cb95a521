import { issuePath } from "./issues.ts";
import * as z from "./zod.ts";

/** A variable that must be set to something: unset or empty "is required", a non-string breaks `rule`. */
export const requiredVariable = (rule: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : rule) })
    .check(z.minLength(1, { error: "is required" }));

/**
 * A variable's text parsed as JSON, for the document's schema to follow in a pipe. The error never
 * quotes JSON.parse's message, which repeats part of the text.
 */
export const jsonText = z.pipe(
  z.string(),
  z.transform((text: string, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.issues.push({ code: "custom", message: "is not valid JSON", input: text });
      return z.NEVER;
    }
  }),
);

/** A Lambda's environment as the runtime passes it (`process.env`). */
export type Environment = Readonly<Record<string, string | undefined>>;

/* An unset variable and an empty one mean the same to a shell user; both are "not set". */
function withoutEmpty(environment: Environment): Environment {
  return Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ""));
}

/* `VARIABLE: rule`, or `VARIABLE [place.inside]: rule` for a problem inside a JSON variable. */
function describeVariableIssue(issue: z.core.$ZodIssue): string {
  const [variable, ...inside] = issue.path;
  if (variable === undefined) return issue.message;
  const where = inside.length > 0 ? `${String(variable)} [${issuePath(inside)}]` : String(variable);
  return `${where}: ${issue.message}`;
}

/**
 * Reads a Lambda's configuration from its environment when the module loads, or fails with one
 * message that names every bad variable, the place inside it and the rule, never a value.
 */
export function loadEnvironment<Schema extends z.ZodMiniType>(
  functionName: string,
  schema: Schema,
  environment: Environment,
  /** Problems of configuration read beside the environment (the client registry), reported with it. */
  otherProblems: readonly string[] = [],
): z.output<Schema> {
  const result = schema.safeParse(withoutEmpty(environment));
  if (result.success && otherProblems.length === 0) return result.data;
  const problems = [
    ...new Set([...(result.success ? [] : result.error.issues.map(describeVariableIssue)), ...otherProblems]),
  ];
  throw new Error(`${functionName} configuration is invalid: ${problems.join("; ")}`);
}
