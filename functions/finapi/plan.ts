import * as z from "../validation/zod.ts";
import type { ClientConfiguration } from "./api-types.ts";
import { redactSecrets, redactUrl } from "./redact.ts";
import {
  CALLBACK_URL_FIELDS,
  type ClientConfigurationParams,
  MANAGED_FIELDS,
  type ManagedField,
} from "./schema.ts";

export const fieldChangeSchema = z.object({
  field: z.enum(MANAGED_FIELDS),
  /** finAPI's current value; null when finAPI has none (a cleared URL). */
  from: z.union([z.string(), z.number(), z.null()]),
  to: z.union([z.string(), z.number()]),
});
export type FieldChange = z.infer<typeof fieldChangeSchema>;

const isUrlField = (field: ManagedField) => (CALLBACK_URL_FIELDS as readonly string[]).includes(field);

/* finAPI reports a cleared URL as null; the document clears it with "". Both mean "no URL". */
function normalized(field: ManagedField, value: string | number | null | undefined): string | number | null {
  if (value === undefined || (isUrlField(field) && value === "")) return null;
  return value;
}

/**
 * The managed fields whose desired value differs from finAPI's current one, in the schema's field order.
 * Fields the document leaves out are unmanaged and never appear.
 */
export function planChanges(desired: ClientConfigurationParams, current: ClientConfiguration): FieldChange[] {
  return MANAGED_FIELDS.flatMap((field): FieldChange[] => {
    const to = desired[field];
    if (to === undefined) return [];
    const from = normalized(field, current[field]);
    return normalized(field, to) === from ? [] : [{ field, from, to }];
  });
}

/** The PATCH body that makes finAPI match: exactly the fields that differ. */
export function patchFor(changes: readonly FieldChange[]): ClientConfigurationParams {
  return Object.fromEntries(changes.map((change) => [change.field, change.to])) as ClientConfigurationParams;
}

/** The same changes with every URL masked so that they can be logged, stored and printed. */
export function redactChanges(
  changes: readonly FieldChange[],
  secrets: readonly string[] = [],
): FieldChange[] {
  const safe = <T extends string | number | null>(value: T): T =>
    (typeof value === "string" ? redactSecrets(redactUrl(value), secrets) : value) as T;
  return changes.map((change) => ({ ...change, from: safe(change.from), to: safe(change.to) }));
}

/** Terraform-style lines, `~ field: from -> to`. */
export function formatChanges(changes: readonly FieldChange[]): string {
  const show = (value: string | number | null) =>
    typeof value === "string" ? JSON.stringify(value) : String(value);
  return changes
    .map((change) => `  ~ ${change.field}: ${show(change.from)} -> ${show(change.to)}`)
    .join("\n");
}
