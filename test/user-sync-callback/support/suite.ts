import { afterAll, afterEach, beforeAll, vi } from "vitest";
import { type CapturedOutput, captureOutput, expectNoSecretIn } from "../../support/output-capture.ts";
import { allSecrets, type CallbackHandler, type CallbackStandIns, startCallbackStandIns } from "./harness.ts";

export interface CallbackSuite {
  readonly standIns: CallbackStandIns;
  readonly output: CapturedOutput;
  readonly handler: CallbackHandler;
}

/**
 * Registers what every suite of the real handler needs: the stand-ins, the handler module loaded against
 * them, and the captured output scanned for every secret after each test. The fields are set once
 * `beforeAll` has run.
 */
export function useCallbackSuite(): CallbackSuite {
  const suite = {} as { standIns: CallbackStandIns; output: CapturedOutput; handler: CallbackHandler };

  beforeAll(async () => {
    suite.standIns = await startCallbackStandIns();
    suite.output = captureOutput();
    /* The handler reads its environment when its module loads: a fresh copy for this file's stand-ins. */
    vi.resetModules();
    ({ handler: suite.handler } = await import("../../../functions/user-sync-callback/handler.ts"));
  });

  afterEach(() => {
    try {
      expectNoSecretIn(suite.output, allSecrets);
    } finally {
      suite.output.clear();
    }
  });

  afterAll(async () => {
    suite.output.stop();
    await suite.standIns.close();
  });

  return suite;
}
