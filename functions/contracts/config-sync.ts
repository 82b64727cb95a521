/*
 * What the config-sync Lambda, the stack and the CLI agree on: the Parameter Store Change events the
 * stack routes to it, the timeout the stack gives it, and the status record it writes and
 * `finapi-config status` reads. The function folder imports this; infra/ and cli/ import only this.
 */
import { reconcileOutcomeSchema } from "../finapi/reconcile.ts";
import * as z from "../validation/zod.ts";

/** The Parameter Store Change operations the stack's rule forwards and the function understands. */
export const PARAMETER_OPERATIONS = ["Create", "Update", "LabelParameterVersion", "Delete"] as const;

/**
 * config-sync's Lambda timeout (infra/constructs/config-sync.ts sets it from this); the function shares
 * it out in functions/config-sync/time-budget.ts.
 */
export const CONFIG_SYNC_TIMEOUT_MS = 120_000;

/** What started a reconcile; stored with each client's last outcome. */
export const triggerSchema = z.enum(["parameter-change", "schedule", "manual"]);
export type Trigger = z.infer<typeof triggerSchema>;

/**
 * One item per client in the status table (partition key `client`): the last reconcile's outcome,
 * flattened so that the DynamoDB console shows `outcome` as a column, with when, why and from which
 * parameter version. Every value is already redacted.
 */
export const clientStatusSchema = z.intersection(
  z.object({
    client: z.string(),
    /** ISO 8601, when the outcome was reached. */
    at: z.iso.datetime(),
    trigger: triggerSchema,
    parameterVersion: z.optional(z.int()),
    /** The Lambda request id, to find the invocation's log lines. */
    lambdaRequestId: z.optional(z.string()),
  }),
  reconcileOutcomeSchema,
);
export type ClientStatus = z.infer<typeof clientStatusSchema>;

/** The status table's partition key. */
export const STATUS_TABLE_KEY = "client";
