import * as z from "zod";
import type { CallbackDelivery } from "./callbacks.ts";
import {
  type ClientConfiguration,
  clientConfigurationParamsSchema,
  type Drift,
  emulatedEnvironmentSchema,
} from "./client-configuration.ts";
import type { EmulatedUserSpec } from "./users.ts";

/** A finAPI client the emulator knows: its credentials, environment and starting configuration. */
export const emulatedClientSpecSchema = z.strictObject({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  environment: emulatedEnvironmentSchema.default("sandbox"),
  /**
   * The finAPI user base the client belongs to: its users, and the clients that hear of their deletion.
   * Sandbox, live and each mandator are separate user bases; all clients of one share an environment.
   * @default the environment
   */
  userBase: z.string().min(1).optional(),
  /** Applied through finAPI's PATCH rules for the environment; the rest is finAPI's defaults. */
  configuration: clientConfigurationParamsSchema.optional(),
  /**
   * A mandator admin client (finAPI's `isMandatorAdmin`) may call the /api/v1/mandatorAdmin services,
   * POST /api/v1/mandatorAdmin/deleteUsers among them.
   */
  mandatorAdmin: z.boolean().default(false),
});
export type EmulatedClientSpec = z.input<typeof emulatedClientSpecSchema>;

const faultMatchSchema = z.strictObject({
  /** Compared case-insensitively with the request's method and with its X-HTTP-Method-Override. */
  method: z.string().optional(),
  /** The exact path, without the query string. */
  path: z.string().optional(),
});

/** Served instead of (or, for `delay`, before) normal handling, once, to the next matching request. */
export const faultSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    match: faultMatchSchema.optional(),
    kind: z.literal("status"),
    status: z.int().min(200).max(599),
    headers: z.record(z.string(), z.string()).optional(),
    /** A string is sent as it is (text/plain unless `headers` say otherwise), anything else as JSON. */
    body: z.unknown().optional(),
  }),
  z.strictObject({ match: faultMatchSchema.optional(), kind: z.literal("hang") }),
  z.strictObject({ match: faultMatchSchema.optional(), kind: z.literal("reset") }),
  z.strictObject({
    match: faultMatchSchema.optional(),
    kind: z.literal("delay"),
    ms: z.number().nonnegative(),
  }),
]);
export type Fault = z.input<typeof faultSchema>;

/** A request as the emulator received it, and the status it answered (0: no answer, see faults). */
export const recordedRequestSchema = z.object({
  method: z.string(),
  /** The request target as sent: path and query string. */
  path: z.string(),
  /** Lower-case names; repeated headers joined with ", ". */
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  status: z.int(),
  /** The client the request authenticated as (token or credentials), when it did. */
  clientId: z.string().optional(),
});
export type RecordedRequest = z.infer<typeof recordedRequestSchema>;

export const finapiEmulatorOptionsSchema = z.strictObject({
  port: z.int().min(0).max(65_535).default(0),
  host: z.string().min(1).default("127.0.0.1"),
  /** Added to every response, for benchmarks. */
  latencyMs: z.number().nonnegative().default(0),
  clients: z.array(emulatedClientSpecSchema).default([]),
  /** ms epoch, for token expiry. */
  clock: z.custom<() => number>((value) => typeof value === "function").default(() => Date.now),
  /** How long a user-synchronization callback may take to answer before it counts as failed. */
  callbackTimeoutMs: z.number().positive().default(10_000),
  /**
   * Called with each request once it was answered (not for one a fault leaves unanswered). The record
   * holds credentials and tokens: print only its method, path and status.
   */
  onRequest: z.custom<(request: RecordedRequest) => void>((value) => typeof value === "function").optional(),
  /** Called with each user-synchronization callback once it was answered or failed (finAPI never retries). */
  onCallback: z
    .custom<(delivery: CallbackDelivery) => void>((value) => typeof value === "function")
    .optional(),
});
export type FinapiEmulatorOptions = z.input<typeof finapiEmulatorOptionsSchema>;

export interface FinapiEmulator {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  addClient(spec: EmulatedClientSpec): void;
  /** The full object GET /api/v1/clientConfiguration would return for the client. */
  configurationOf(clientId: string): ClientConfiguration;
  /** Changes finAPI's state by hand, bypassing the API and its rules. */
  drift(clientId: string, values: Drift): void;
  /** Every issued token becomes invalid: the next API call with one gets 401. */
  expireTokens(): void;
  /** Puts a user into a user base (`spec.userBase`, "sandbox" by default), bypassing the API (and sending no callback). */
  addUser(spec: EmulatedUserSpec): void;
  /** The ids of the users in the user base, as they were created. @default userBase "sandbox" */
  userIds(userBase?: string): string[];
  /**
   * Every user-synchronization callback sent so far (one per deleted user and client of its user base
   * with a userSynchronizationCallbackUrl), in the order they were answered or failed.
   */
  readonly callbacks: readonly CallbackDelivery[];
  /** Resolves once every callback sent so far has been answered or has failed. */
  callbacksSettled(): Promise<void>;
  /** Every request, in the order received. */
  readonly requests: readonly RecordedRequest[];
  clearRequests(): void;
  enqueueFault(fault: Fault): void;
  close(): Promise<void>;
}
