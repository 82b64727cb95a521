import * as z from "zod";

/** finAPI's user-synchronization notification: the body POSTed to a client's callback URL. */
export const userSyncNotificationSchema = z.object({
  userId: z.string(),
  event: z.literal("DELETED"),
});
export type UserSyncNotification = z.infer<typeof userSyncNotificationSchema>;

/** One notification to send: a deleted user, and the client whose userSynchronizationCallbackUrl gets it. */
export interface UserSyncCallback {
  readonly clientId: string;
  /** The user base the user was deleted from (the client's). */
  readonly userBase: string;
  readonly url: string;
  readonly notification: UserSyncNotification;
}

/**
 * A notification as the emulator sent it, and how the callback answered. finAPI ignores the answer and
 * never retries, so this record is the only trace of a failed callback. `url` holds the callback's
 * secret path: redact it (functions/finapi/redact.ts) before printing.
 */
export const callbackDeliverySchema = z.object({
  clientId: z.string(),
  /** The user base the user was deleted from. */
  userBase: z.string(),
  url: z.string(),
  userId: z.string(),
  event: z.literal("DELETED"),
  /** The callback's HTTP status, when it answered. */
  status: z.int().optional(),
  /** Why there was no answer (connection refused, timeout, ...), when there was none. */
  error: z.string().optional(),
});
export type CallbackDelivery = z.infer<typeof callbackDeliverySchema>;

export interface CallbackSenderOptions {
  readonly timeoutMs: number;
  readonly onDelivery?: ((delivery: CallbackDelivery) => void) | undefined;
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `no answer within ${timeoutMs} ms`;
  }
  if (error instanceof DOMException && error.name === "AbortError") return "the emulator was closed";
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return `could not connect (${cause.code})`;
  return error instanceof Error ? error.name : "failed";
}

/**
 * Sends user-synchronization notifications the way finAPI does: a JSON POST per client, in the
 * background after the deletion was answered, the answer ignored, never retried.
 */
export class CallbackSender {
  readonly deliveries: CallbackDelivery[] = [];
  readonly #options: CallbackSenderOptions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #closing = new AbortController();

  constructor(options: CallbackSenderOptions) {
    this.#options = options;
  }

  send(callbacks: readonly UserSyncCallback[]): void {
    for (const callback of callbacks) {
      const delivery = this.#deliver(callback).finally(() => this.#inFlight.delete(delivery));
      this.#inFlight.add(delivery);
    }
  }

  /** Resolves once every notification sent so far has been answered or has failed. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** Abandons the notifications still in flight. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.settled();
  }

  async #deliver({ clientId, userBase, url, notification }: UserSyncCallback): Promise<void> {
    const { timeoutMs, onDelivery } = this.#options;
    const base = { clientId, userBase, url, userId: notification.userId, event: notification.event };
    let delivery: CallbackDelivery;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(notification),
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#closing.signal]),
      });
      await response.body?.cancel();
      delivery = { ...base, status: response.status };
    } catch (error) {
      delivery = { ...base, error: describeFailure(error, timeoutMs) };
    }
    this.deliveries.push(delivery);
    onDelivery?.(delivery);
  }
}
