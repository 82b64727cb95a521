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
