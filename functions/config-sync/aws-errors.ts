interface SdkErrorShape {
  readonly name?: string;
  readonly $fault?: "client" | "server";
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/*
 * Throttling comes back as a client fault (HTTP 400) without a retry trait for unmodelled errors such
 * as SSM's ThrottlingException; these are the names the SDK's own retry strategy treats as throttling.
 */
const THROTTLING_ERROR_NAMES: readonly string[] = [
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "LimitExceededException",
  "ProvisionedThroughputExceededException",
  "TransactionInProgressException",
  "BandwidthLimitExceeded",
  "PriorRequestNotComplete",
  "SlowDown",
];

/* config-sync's sources call the SDK themselves: what they throw is the SDK's own error. */
function sdkErrorOf(error: unknown): SdkErrorShape {
  return typeof error === "object" && error !== null ? (error as SdkErrorShape) : {};
}

/** The AWS error's name (`ParameterNotFound`, `AccessDeniedException`, ...): safe to log, unlike some messages. */
export function awsErrorName(error: unknown): string {
  return sdkErrorOf(error).name ?? "UnknownError";
}

/**
 * Whether calling again later may succeed: throttling, a fault on AWS's side, or no answer at all
 * (network, timeout). Other client faults (not found, access denied, a KMS key that may not be used)
 * are configuration mistakes that retries cannot fix.
 */
export function isTransientAwsError(error: unknown): boolean {
  const sdkError = sdkErrorOf(error);
  if (sdkError.$retryable !== undefined || sdkError.$metadata?.httpStatusCode === 429) return true;
  if (sdkError.name !== undefined && THROTTLING_ERROR_NAMES.includes(sdkError.name)) return true;
  return sdkError.$fault !== "client";
}
