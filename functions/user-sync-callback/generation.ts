import type { UserDeletedDetail } from "../contracts/user-deletion.ts";
import type { FinapiEnvironment } from "../finapi/schema.ts";

/**
 * The current deletion of one user of one user base, as the deletions table keeps it: finAPI sends each
 * deletion once to every client of the user base, so the deliveries of one deletion are told apart
 * from a later deletion of a re-created user by the clients that delivered it and by time.
 */
export interface DeletionGeneration {
  readonly deletionId: string;
  readonly userBase: string;
  readonly environment: FinapiEnvironment;
  readonly userId: string;
  readonly event: UserDeletedDetail["event"];
  /** The client whose delivery started this deletion. */
  readonly client: string;
  /** When that first delivery was received, epoch ms. */
  readonly firstDeliveredAt: number;
  /** Every client that delivered this deletion so far. */
  readonly deliveredBy: readonly string[];
  /** Whether a delivery has seen the deletion's message accepted by the deletion queue. */
  readonly enqueued: boolean;
}

/** One authenticated delivery of a deletion. */
export interface Delivery {
  readonly userBase: string;
  readonly environment: FinapiEnvironment;
  readonly userId: string;
  readonly event: UserDeletedDetail["event"];
  readonly client: string;
  /** When it was received, epoch ms. */
  readonly at: number;
}

/** Why a delivery starts a new deletion. */
export type NewDeletionReason =
  | "first-known"
  | "client-delivered-again"
  | "every-client-delivered"
  | "fan-out-window-passed";

export type DeliveryVerdict =
  | { readonly kind: "new"; readonly reason: NewDeletionReason }
  /* `of`: the current deletion, which the delivery is a copy of. */
  | { readonly kind: "duplicate"; readonly of: DeletionGeneration };

export interface DeliveryFacts {
  /** The deletion the table holds for the delivery's (userBase, userId), if any. */
  readonly current: DeletionGeneration | undefined;
  readonly client: string;
  /** The names of every configured client of the delivery's user base. */
  readonly clientsOfUserBase: readonly string[];
  /** When the delivery was received, epoch ms. */
  readonly now: number;
  readonly fanOutWindowMs: number;
}

/**
 * Whether a delivery is finAPI's copy of the current deletion through another client (a duplicate)
 * or a new deletion. finAPI sends a deletion to each client once, so a client delivering again means
 * the user was re-created and deleted again; so does a delivery once every client delivered, or one
 * after the fan-out window.
 */
export function judgeDelivery(facts: DeliveryFacts): DeliveryVerdict {
  const { current } = facts;
  if (current === undefined) return { kind: "new", reason: "first-known" };
  if (facts.now >= current.firstDeliveredAt + facts.fanOutWindowMs) {
    return { kind: "new", reason: "fan-out-window-passed" };
  }
  if (facts.clientsOfUserBase.every((client) => current.deliveredBy.includes(client))) {
    return { kind: "new", reason: "every-client-delivered" };
  }
  if (current.deliveredBy.includes(facts.client)) return { kind: "new", reason: "client-delivered-again" };
  return { kind: "duplicate", of: current };
}

/** A fresh deletion started by the delivery. */
export function startGeneration(delivery: Delivery, deletionId: string): DeletionGeneration {
  return {
    deletionId,
    userBase: delivery.userBase,
    environment: delivery.environment,
    userId: delivery.userId,
    event: delivery.event,
    client: delivery.client,
    firstDeliveredAt: delivery.at,
    deliveredBy: [delivery.client],
    enqueued: false,
  };
}

/** The detail every delivery of the deletion hands off: the same, whichever delivery sends it. */
export function detailOf(generation: DeletionGeneration): UserDeletedDetail {
  return {
    deletionId: generation.deletionId,
    userBase: generation.userBase,
    environment: generation.environment,
    userId: generation.userId,
    event: generation.event,
    client: generation.client,
    receivedAt: new Date(generation.firstDeliveredAt).toISOString(),
  };
}
