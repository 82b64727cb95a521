/**
 * How long after a stop request the same signal still counts as that request. A terminal sends Ctrl-C's
 * SIGINT to every process in its foreground group, and `npm start` passes the one it got on to the
 * loop as well: one Ctrl-C reaches the loop twice, a moment apart (longer on a starved machine).
 */
export const REPEAT_WINDOW_MS = 2_000;

/** What a stop signal asks for: the first stops cleanly, a later one gives up waiting. */
export type StopRequest = "stop" | "repeat" | "force";

/**
 * Tells the first stop signal from a repeat of it and from a second, impatient one: the first stops,
 * the same signal within `repeatWindowMs` of it is the same request passed on (ignored), and any
 * signal after that forces the exit.
 */
export class StopRequests {
  readonly #now: () => number;
  readonly #repeatWindowMs: number;
  #first: { readonly signal: NodeJS.Signals; readonly at: number } | undefined;

  constructor(now: () => number = Date.now, repeatWindowMs = REPEAT_WINDOW_MS) {
    this.#now = now;
    this.#repeatWindowMs = repeatWindowMs;
  }

  receive(signal: NodeJS.Signals): StopRequest {
    const at = this.#now();
    if (this.#first === undefined) {
      this.#first = { signal, at };
      return "stop";
    }
    const passedOn = signal === this.#first.signal && at - this.#first.at < this.#repeatWindowMs;
    return passedOn ? "repeat" : "force";
  }
}
