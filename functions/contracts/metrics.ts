/**
 * The CloudWatch metrics both Lambdas emit (Powertools Metrics, EMF). The stack's alarms and
 * dashboard refer to these names, so they live in one place.
 */
export const METRICS_NAMESPACE = "FinapiConfigSync";

/**
 * The namespace a deployed stack's functions emit into and its alarms watch: one per stack, because
 * an alarm over every client of a namespace would otherwise also watch another stack's clients.
 */
export const stackMetricsNamespace = (stackName: string) => `${METRICS_NAMESPACE}/${stackName}`;

/** The dimension that names the finAPI client a metric is about. */
export const CLIENT_DIMENSION = "client";

/** One metric per reconcile outcome, each with the client dimension. */
export const SyncMetric = {
  InSync: "SyncInSync",
  Applied: "SyncApplied",
  DriftReported: "SyncDriftReported",
  Invalid: "SyncInvalid",
  Rejected: "SyncRejected",
  Failed: "SyncFailed",
  ParameterDeleted: "SyncParameterDeleted",
} as const;

/** The user-sync-callback's counters; unauthenticated calls carry no client dimension (the path is untrusted). */
export const CallbackMetric = {
  Forwarded: "CallbackForwarded",
  Duplicate: "CallbackDuplicate",
  Unauthenticated: "CallbackUnauthenticated",
  Invalid: "CallbackInvalid",
  IgnoredEvent: "CallbackIgnoredEvent",
  ForwardFailed: "CallbackForwardFailed",
  DeadLetterFailed: "CallbackDeadLetterFailed",
  /* The deletions table failed, so a delivery was handed off as a new deletion: it may be a duplicate. */
  DeletionStoreFailed: "CallbackDeletionStoreFailed",
  /** A configured client's secret cannot be used (revoked, misconfigured, or unreadable with nothing kept). */
  SecretUnusable: "CallbackSecretUnusable",
} as const;

/** The deletion publisher's counters, per deletion taken from the deletion queue (no client dimension). */
export const PublisherMetric = {
  Published: "Published",
  AlreadyPublished: "AlreadyPublished",
  PublishFailed: "PublishFailed",
  UnreadableMessage: "UnreadableMessage",
} as const;
