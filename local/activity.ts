import type { CallbackDelivery } from "../emulator/index.ts";
import type { ClientResult } from "../functions/config-sync/app.ts";
import type { Trigger } from "../functions/contracts/config-sync.ts";
import type { PublishedEvent } from "./aws/eventbridge.ts";

/** What the user-sync-callback made of one request, from the one metric each request counts. */
export type CallbackOutcome =
  | "forwarded"
  | "duplicate"
  | "unauthenticated"
  | "invalid"
  | "ignored-event"
  | "dead-lettered"
  | "lost"
  | "failed";

/**
 * Something that happened in the local loop, in the order it happened: what the live log prints and
 * what the demo (and the tests) wait for.
 */
export type Activity =
  | {
      readonly kind: "parameter-change";
      readonly client: string;
      readonly parameterName: string;
      readonly operation: string;
    }
  | {
      readonly kind: "parameter-file-rejected";
      readonly client: string;
      readonly file: string;
      readonly reason: string;
    }
  | { readonly kind: "schedule" }
  | { readonly kind: "sync"; readonly trigger: Trigger; readonly result: ClientResult }
  /**
   * The run reconciled nothing: the parameter was deleted or is no client's, or the input was refused.
   * `client` is the client whose parameter changed, for a run a parameter change started.
   */
  | {
      readonly kind: "sync-skipped";
      readonly trigger: Trigger;
      readonly reason: string;
      readonly client?: string;
    }
  /** The invocation failed (a transient failure Lambda would retry, or a timeout); `client` as above. */
  | {
      readonly kind: "sync-failed";
      readonly trigger: Trigger;
      readonly error: string;
      readonly client?: string;
    }
  /**
   * A parameter file that is no client's parameter: the loop has no client named after it. `example`
   * is where its document would make it one (absent when the file's name is not a client name).
   */
  | {
      readonly kind: "parameter-file-unknown";
      readonly file: string;
      readonly client: string;
      readonly example?: string;
    }
  /** finAPI (the emulator) POSTed a deletion to a client's callback URL; `url` holds the path secret. */
  | { readonly kind: "finapi-callback"; readonly client: string; readonly delivery: CallbackDelivery }
  | {
      readonly kind: "callback";
      readonly status: number;
      readonly outcome: CallbackOutcome;
      /** The authenticated client; absent when the path named no configured client and secret. */
      readonly client?: string;
      /** The deleted user's id, when the body held a valid one. */
      readonly userId?: string;
    }
  | { readonly kind: "deletion-forwarded"; readonly event: PublishedEvent };

export type ActivityKind = Activity["kind"];
export type ActivityOf<Kind extends ActivityKind> = Extract<Activity, { kind: Kind }>;

/** Raised when an awaited activity did not happen in time; names what was awaited. */
export class ActivityTimeoutError extends Error {
  override readonly name = "ActivityTimeoutError";
}

/** Every activity so far, and a way to wait for one that matches. */
export class ActivityLog {
  readonly #activities: Activity[] = [];
  readonly #listeners = new Set<(activity: Activity) => void>();

  get all(): readonly Activity[] {
    return this.#activities;
  }

  /** A position to wait from: only activities recorded after it count. */
  mark(): number {
    return this.#activities.length;
  }

  record(activity: Activity): void {
    this.#activities.push(activity);
    for (const listener of this.#listeners) listener(activity);
  }

  subscribe(listener: (activity: Activity) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The activities of one kind recorded since `mark` that match. */
  since<Kind extends ActivityKind>(
    mark: number,
    kind: Kind,
    matches: (activity: ActivityOf<Kind>) => boolean = () => true,
  ): ActivityOf<Kind>[] {
    return this.#activities
      .slice(mark)
      .filter((activity): activity is ActivityOf<Kind> => activity.kind === kind)
      .filter(matches);
  }

  /**
   * Resolves once `count` activities of `kind` that match have been recorded since `mark` (including
   * those already there), with them; rejects with ActivityTimeoutError after `timeoutMs`.
   */
  waitFor<Kind extends ActivityKind>(
    what: string,
    options: {
      readonly since: number;
      readonly kind: Kind;
      readonly matches?: (activity: ActivityOf<Kind>) => boolean;
      readonly count?: number;
      readonly timeoutMs: number;
    },
  ): Promise<ActivityOf<Kind>[]> {
    const { since, kind, matches, count = 1, timeoutMs } = options;
    const found = () => this.since(since, kind, matches);
    return new Promise((resolve, reject) => {
      const check = () => {
        const seen = found();
        if (seen.length < count) return false;
        clearTimeout(timer);
        unsubscribe();
        resolve(seen.slice(0, count));
        return true;
      };
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new ActivityTimeoutError(`${what}: not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.subscribe(() => {
        check();
      });
      check();
    });
  }
}
