import { type FaultProxy, operation, type ProxiedRequest, type ProxyFault, route } from "./fault-proxy.ts";
import type { SeededRandom } from "./seeded-random.ts";

/** An AWS JSON-protocol error answer, as SSM, Secrets Manager, DynamoDB and EventBridge give them. */
export function awsError(status: number, type: string, message: string): ProxyFault {
  return {
    kind: "status",
    status,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type },
    body: JSON.stringify({ __type: type, message }),
  };
}

/** finAPI's error answer for a status (its ErrorMessage format), optionally with Retry-After. */
export function finapiError(status: number, retryAfter?: string): ProxyFault {
  const code = status === 429 ? "TOO_MANY_REQUESTS" : "UNKNOWN_ERROR";
  return {
    kind: "status",
    status,
    headers: retryAfter === undefined ? {} : { "retry-after": retryAfter },
    body: JSON.stringify({
      errors: [{ message: `injected HTTP ${status}`, code, type: "TECHNICAL" }],
      date: "2026-11-21T10:00:00.000+0000",
      requestId: "injected",
      endpoint: "-",
      authContext: "-",
      bank: null,
    }),
  };
}

/** EventBridge's partial failure: HTTP 200, the entry refused inside the answer (the SDK does not retry it). */
export const eventBridgeEntryFailure: ProxyFault = {
  kind: "status",
  status: 200,
  headers: { "content-type": "application/x-amz-json-1.1" },
  body: JSON.stringify({
    FailedEntryCount: 1,
    Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "Internal failure." }],
  }),
};

export const FINAPI_ROUTES = {
  token: route("POST", "/oauth/token"),
  get: route("GET", "/api/v1/clientConfiguration"),
  patch: route("PATCH", "/api/v1/clientConfiguration"),
  any: (_request: ProxiedRequest) => true,
} as const;

export type FinapiRoute = keyof typeof FINAPI_ROUTES;

/** A fault to arm: on which proxy, for which requests, what, and how many times in a row. */
export interface FaultPlan {
  /** The fault class it counts under in the report. */
  readonly label: string;
  readonly proxy: FaultProxy;
  readonly matches: (request: ProxiedRequest) => boolean;
  readonly fault: ProxyFault;
  readonly times: number;
}

export function arm(plan: FaultPlan): void {
  plan.proxy.arm(plan.label, plan.matches, plan.fault, plan.times);
}

export interface Proxies {
  readonly finapi: FaultProxy;
  readonly ssm: FaultProxy;
  readonly secretsManager: FaultProxy;
  readonly dynamodb: FaultProxy;
  readonly eventBridge: FaultProxy;
}

const DYNAMODB_OPERATIONS = operation(
  "PutItem",
  "GetItem",
  "UpdateItem",
  "DeleteItem",
  "BatchGetItem",
  "BatchWriteItem",
);

/** finAPI misbehaving: 429 (Retry-After 0, 1 s or none), a 5xx, a dropped connection, or a slow answer. */
export function finapiFault(random: SeededRandom, proxies: Proxies): FaultPlan {
  const where: FinapiRoute = random.weighted([
    ["any", 3],
    ["token", 1],
    ["get", 2],
    ["patch", 2],
  ]);
  const matches = FINAPI_ROUTES[where];
  const kind = random.weighted([
    ["429", 3],
    ["5xx", 3],
    ["reset", 2],
    ["slow", 2],
  ] as const);
  switch (kind) {
    case "429": {
      const retryAfter = random.weighted([
        [undefined, 6],
        ["0", 3],
        ["1", 1],
      ] as const);
      return {
        label: "finAPI 429",
        proxy: proxies.finapi,
        matches,
        fault: finapiError(429, retryAfter),
        times: random.int(1, 3),
      };
    }
    case "5xx":
      return {
        label: "finAPI 5xx",
        proxy: proxies.finapi,
        matches,
        fault: finapiError(random.pick([500, 502, 503, 504])),
        times: random.int(1, 3),
      };
    case "reset":
      return {
        label: "finAPI connection reset",
        proxy: proxies.finapi,
        matches,
        fault: { kind: "reset" },
        times: random.int(1, 2),
      };
    case "slow":
      return {
        label: "finAPI slow",
        proxy: proxies.finapi,
        matches,
        fault: { kind: "delay", ms: random.int(100, 600) },
        times: random.int(1, 3),
      };
  }
}

/** A burst of SSM throttling; 3 in a row outlast the SDK's 3 attempts. */
export function ssmThrottling(random: SeededRandom, proxies: Proxies): FaultPlan {
  return {
    label: "SSM throttling",
    proxy: proxies.ssm,
    matches: operation("GetParameters"),
    fault: awsError(400, "ThrottlingException", "Rate exceeded"),
    times: random.int(1, 3),
  };
}

/** A burst of Secrets Manager throttling, at most `longest` in a row. */
export function secretsThrottling(random: SeededRandom, proxies: Proxies, longest: number): FaultPlan {
  return {
    label: "Secrets Manager throttling",
    proxy: proxies.secretsManager,
    matches: operation("GetSecretValue", "BatchGetSecretValue"),
    fault: awsError(400, "ThrottlingException", "Rate exceeded"),
    times: random.int(1, longest),
  };
}

/** DynamoDB unavailable: 5xx answers, dropped connections, and requests never answered. */
export function dynamoDbUnavailable(random: SeededRandom, proxies: Proxies): FaultPlan {
  const kind = random.weighted([
    ["5xx", 4],
    ["reset", 3],
    ["hang", 1],
  ] as const);
  return {
    label: "DynamoDB unavailable",
    proxy: proxies.dynamodb,
    matches: DYNAMODB_OPERATIONS,
    fault: kind === "5xx" ? awsError(500, "InternalServerError", "Internal server error") : { kind },
    times: kind === "hang" ? random.int(1, 2) : random.int(1, 5),
  };
}

/** EventBridge refusing PutEvents as a whole (5xx or throttling) or refusing the entry inside a 200. */
export function eventBridgeFailure(random: SeededRandom, proxies: Proxies): FaultPlan {
  const kind = random.weighted([
    ["total", 3],
    ["throttled", 1],
    ["partial", 3],
  ] as const);
  if (kind === "partial") {
    return {
      label: "EventBridge partial failure",
      proxy: proxies.eventBridge,
      matches: operation("PutEvents"),
      fault: eventBridgeEntryFailure,
      times: 1,
    };
  }
  return {
    label: "EventBridge total failure",
    proxy: proxies.eventBridge,
    matches: operation("PutEvents"),
    fault:
      kind === "total"
        ? awsError(500, "InternalException", "Internal failure")
        : awsError(400, "ThrottlingException", "Rate exceeded"),
    times: random.int(1, 3),
  };
}

/*
 * The deletion queue redrives after 5 receives and the publisher makes 3 attempts per receive: 15
 * failures in a row outlast them all, so the deletion ends in the dead-letter queue.
 */
const PUT_EVENTS_ATTEMPTS_BEFORE_DEAD_LETTER = 5 * 3;

/** EventBridge refusing every PutEvents for longer than the deletion queue keeps retrying a message. */
export function eventBridgeOutage(proxies: Proxies): FaultPlan {
  return {
    label: "EventBridge outage (outlasting the queue's receives)",
    proxy: proxies.eventBridge,
    matches: operation("PutEvents"),
    fault: awsError(500, "InternalException", "Internal failure"),
    times: PUT_EVENTS_ATTEMPTS_BEFORE_DEAD_LETTER,
  };
}

/**
 * Slows finAPI's next three answers by up to 150 ms each, so that a short Lambda timeout ends the run at
 * a point that varies from run to run: before finAPI, mid-token, mid-GET, mid-PATCH or before the status.
 */
export function stallForTimeout(random: SeededRandom, proxies: Proxies): FaultPlan {
  return {
    label: "finAPI slow",
    proxy: proxies.finapi,
    matches: FINAPI_ROUTES.any,
    fault: { kind: "delay", ms: random.int(20, 150) },
    times: 3,
  };
}
