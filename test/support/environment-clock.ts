/**
 * Time as the code in one Lambda execution environment sees it, moved by the code under test: a wait
 * (`sleep`) or a slow answer (`pass`) moves it, and the alarms on the way ring in order (middy's early
 * timeout is one). `freeze` models Lambda freezing the environment after an invocation answered: what
 * would wake pending work (a wait's end, an answer's arrival) is parked until `thaw`, when the next
 * invocation starts in the same environment. No wall-clock time passes.
 */
export function environmentClock(start = Date.parse("2026-11-21T10:00:00Z")) {
  let current = start;
  let frozen = false;
  const alarms: { at: number; ring: () => void }[] = [];
  const parked: (() => void)[] = [];
  let onFreeze: (() => void) | undefined;
  let nextWaitStallsMs = 0;

  function passTo(time: number) {
    for (;;) {
      alarms.sort((a, b) => a.at - b.at);
      const next = alarms[0];
      if (next === undefined || next.at > time) break;
      alarms.shift();
      current = Math.max(current, next.at);
      next.ring();
    }
    current = Math.max(current, time);
  }

  /** Runs `wake` now, or when the environment is thawed if it is frozen. */
  function whenAwake(wake: () => void) {
    if (frozen) parked.push(wake);
    else wake();
  }

  return {
    now: () => current,
    /** Rings `ring` once the clock reaches `at`; returns the cancel. */
    alarm(at: number, ring: () => void): () => void {
      const alarm = { at, ring };
      alarms.push(alarm);
      return () => {
        const index = alarms.indexOf(alarm);
        if (index !== -1) alarms.splice(index, 1);
      };
    },
    /** `ms` pass (finAPI takes that long to answer, the world moves on): the alarms on the way ring. */
    pass(ms: number) {
      passTo(current + ms);
    },
    /** The finAPI client's wait: rejects when `signal` fires; in a frozen environment it ends at thaw. */
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        const stalledMs = nextWaitStallsMs;
        nextWaitStallsMs = 0;
        passTo(current + ms + stalledMs);
        whenAwake(resolve);
      });
    },
    /** The environment gets no CPU during the next wait: it ends `ms` late, after the alarms due meanwhile. */
    stallNextWait(ms: number) {
      nextWaitStallsMs = ms;
    },
    whenAwake,
    get frozen() {
      return frozen;
    },
    freeze() {
      frozen = true;
      onFreeze?.();
    },
    /** Resolves when the environment is next frozen. */
    untilFrozen(): Promise<void> {
      return new Promise((resolve) => {
        onFreeze = resolve;
      });
    },
    /** The next invocation starts: the parked work resumes. */
    thaw() {
      frozen = false;
      for (const wake of parked.splice(0)) wake();
    },
  };
}

export type EnvironmentClock = ReturnType<typeof environmentClock>;
