import * as z from "../validation/zod.ts";
import type { FinapiClient } from "./client.ts";
import { type Deadline, FinapiOutOfTimeError } from "./deadline.ts";
import { FinapiError, FinapiRejectedError } from "./errors.ts";
import { type Log, silentLog } from "./log.ts";
import { fieldChangeSchema, patchFor, planChanges, redactChanges } from "./plan.ts";
import { redactSecrets } from "./redact.ts";
import {
  type ClientConfigurationParams,
  type DesiredDocument,
  type FinapiEnvironment,
  type Violation,
  validateDesiredState,
  violationSchema,
} from "./schema.ts";

export const syncModeSchema = z.enum(["apply", "report-only"]);
export type SyncMode = z.infer<typeof syncModeSchema>;

const finapiErrorDetailSchema = z.object({
  message: z.string(),
  code: z.optional(z.string()),
  type: z.optional(z.string()),
});

/**
 * What one reconcile of one client came to. Every value in it is already redacted: it is logged,
 * stored as the client's last status and printed as it is.
 */
export const reconcileOutcomeSchema = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("in-sync"), finapiRequestId: z.string() }),
  z.object({
    outcome: z.literal("applied"),
    changes: z.array(fieldChangeSchema),
    finapiRequestId: z.string(),
  }),
  z.object({
    outcome: z.literal("drift-reported"),
    changes: z.array(fieldChangeSchema),
    /** True when a manual dry run asked not to patch; false when the client is report-only. */
    dryRun: z.boolean(),
    finapiRequestId: z.string(),
  }),
  z.object({ outcome: z.literal("invalid"), violations: z.array(violationSchema) }),
  z.object({
    outcome: z.literal("rejected"),
    message: z.string(),
    status: z.optional(z.number()),
    finapiErrors: z.array(finapiErrorDetailSchema),
    finapiRequestId: z.string(),
  }),
  z.object({
    outcome: z.literal("failed"),
    message: z.string(),
    /** Whether running again later may succeed (finAPI unavailable) rather than repeat the failure. */
    retryable: z.boolean(),
    finapiRequestId: z.optional(z.string()),
  }),
]);
export type ReconcileOutcome = z.infer<typeof reconcileOutcomeSchema>;
export type OutcomeName = ReconcileOutcome["outcome"];

/** The document to apply after all, or the outcome to end with when it cannot be had. */
export type LatestDocument =
  | { readonly ok: true; readonly document: DesiredDocument }
  | { readonly ok: false; readonly outcome: ReconcileOutcome };

export interface ReconcileRequest {
  /** The desired state, validated for `environment` (parseDesiredDocument). */
  readonly document: DesiredDocument;
  readonly environment: FinapiEnvironment;
  readonly client: FinapiClient;
  /** @default "apply" */
  readonly mode?: SyncMode;
  /** Compute and report the changes without patching. @default false */
  readonly dryRun?: boolean;
  /**
   * Values the sync manages for fields the document leaves out (the hosted callback URL). A value in
   * the document wins. @default {}
   */
  readonly defaults?: ClientConfigurationParams;
  /** Values masked wherever they would appear in the outcome (the callback path secret). @default [] */
  readonly secrets?: readonly string[];
  /** @default silentLog */
  readonly log?: Log;
  /** The caller's deadline: no finAPI call is made that could end past it. @default - none */
  readonly deadline?: Deadline;
  /**
   * For a `document` that may be stale (the caller took it from a cache): called once finAPI is found
   * to differ and before anything is patched, for the document to apply instead. finAPI's configuration
   * is not fetched again: the plan is made anew against the answer already in hand.
   * @default - `document` is current
   */
  readonly latestDocument?: () => Promise<LatestDocument>;
}

function failureOutcome(error: unknown, secrets: readonly string[]): ReconcileOutcome {
  const message = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
  if (error instanceof FinapiRejectedError) {
    return {
      outcome: "rejected",
      message,
      ...(error.status === undefined ? {} : { status: error.status }),
      finapiErrors: error.details.map((detail) => ({
        ...detail,
        message: redactSecrets(detail.message, secrets),
      })),
      finapiRequestId: error.requestId,
    };
  }
  if (error instanceof FinapiOutOfTimeError) {
    return { outcome: "failed", message, retryable: error.retryable };
  }
  if (error instanceof FinapiError) {
    return { outcome: "failed", message, retryable: error.retryable, finapiRequestId: error.requestId };
  }
  return { outcome: "failed", message, retryable: true };
}

/*
 * The managed defaults the document leaves to them, validated: the document itself already is, and a
 * default it overrides does not matter.
 */
function desiredState(
  document: DesiredDocument,
  defaults: ClientConfigurationParams,
  environment: FinapiEnvironment,
):
  | { readonly ok: true; readonly value: ClientConfigurationParams }
  | { readonly ok: false; readonly violations: readonly Violation[] } {
  const used = Object.fromEntries(Object.entries(defaults).filter(([field]) => !(field in document)));
  if (Object.keys(used).length === 0) return { ok: true, value: document };
  const checked = validateDesiredState(used, environment);
  return checked.ok ? { ok: true, value: { ...checked.value, ...document } } : checked;
}

/**
 * Makes finAPI match the validated document: GET the current configuration, PATCH only the fields that
 * differ (nothing when in sync), then check that finAPI's answer holds the desired values. Never
 * throws: every failure is an outcome.
 */
export async function reconcile(request: ReconcileRequest): Promise<ReconcileOutcome> {
  const { client, environment, mode = "apply", dryRun = false, secrets = [], log = silentLog } = request;
  const defaults = request.defaults ?? {};
  const callOptions = request.deadline ? { deadline: request.deadline } : {};
  const merged = desiredState(request.document, defaults, environment);
  if (!merged.ok) return { outcome: "invalid", violations: [...merged.violations] };
  let desired: ClientConfigurationParams = merged.value;

  try {
    const current = await client.getClientConfiguration(callOptions);
    let changes = planChanges(desired, current.body);
    if (changes.length === 0) return { outcome: "in-sync", finapiRequestId: current.requestId };
    const patching = mode === "apply" && !dryRun;
    if (patching && request.latestDocument) {
      const latest = await request.latestDocument();
      if (!latest.ok) return latest.outcome;
      const latestMerged = desiredState(latest.document, defaults, environment);
      if (!latestMerged.ok) return { outcome: "invalid", violations: [...latestMerged.violations] };
      desired = latestMerged.value;
      changes = planChanges(desired, current.body);
      if (changes.length === 0) return { outcome: "in-sync", finapiRequestId: current.requestId };
    }
    const shown = redactChanges(changes, secrets);
    if (!patching) {
      return { outcome: "drift-reported", changes: shown, dryRun, finapiRequestId: current.requestId };
    }
    log.info("patching finAPI client configuration", { changes: shown });
    const patched = await client.patchClientConfiguration(patchFor(changes), callOptions);
    const remaining = planChanges(desired, patched.body);
    if (remaining.length > 0) {
      const fields = remaining.map((change) => change.field).join(", ");
      return {
        outcome: "failed",
        message: `finAPI accepted the PATCH but still reports different values for ${fields}`,
        retryable: false,
        finapiRequestId: patched.requestId,
      };
    }
    return { outcome: "applied", changes: shown, finapiRequestId: patched.requestId };
  } catch (error) {
    return failureOutcome(error, secrets);
  }
}
