/**
 * A clock that only moves when the code under test sleeps, so backoff and token lifetimes are tested
 * without waiting. `sleeps` records every wait asked for.
 */
export function fakeTime(start = Date.parse("2026-11-21T10:00:00Z")) {
  let current = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => current,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      current += ms;
    },
    advance: (ms: number) => {
      current += ms;
    },
  };
}
