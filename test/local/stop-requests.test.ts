import { describe, expect, it } from "vitest";
import { REPEAT_WINDOW_MS, StopRequests } from "../../local/stop-requests.ts";

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("StopRequests", () => {
  it("stops on the first signal", () => {
    expect(new StopRequests(manualClock().now).receive("SIGINT")).toBe("stop");
    expect(new StopRequests(manualClock().now).receive("SIGTERM")).toBe("stop");
  });

  it("takes the same signal within the window as the same request passed on (npm's copy of a Ctrl-C)", () => {
    const clock = manualClock();
    const requests = new StopRequests(clock.now);
    expect(requests.receive("SIGINT")).toBe("stop");
    expect(requests.receive("SIGINT")).toBe("repeat");
    clock.advance(REPEAT_WINDOW_MS - 1);
    expect(requests.receive("SIGINT")).toBe("repeat");
  });

  it("forces the exit on the same signal once the window has passed (a second Ctrl-C)", () => {
    const clock = manualClock();
    const requests = new StopRequests(clock.now);
    requests.receive("SIGINT");
    requests.receive("SIGINT");
    clock.advance(REPEAT_WINDOW_MS);
    expect(requests.receive("SIGINT")).toBe("force");
  });

  it("forces the exit on a different signal at once", () => {
    const requests = new StopRequests(manualClock().now);
    requests.receive("SIGTERM");
    expect(requests.receive("SIGINT")).toBe("force");
  });

  it("measures the window from the first signal, not from the last repeat", () => {
    const clock = manualClock();
    const requests = new StopRequests(clock.now, 100);
    requests.receive("SIGINT");
    clock.advance(60);
    expect(requests.receive("SIGINT")).toBe("repeat");
    clock.advance(60);
    expect(requests.receive("SIGINT")).toBe("force");
  });
});
