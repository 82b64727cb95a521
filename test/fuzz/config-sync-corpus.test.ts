import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import { deployLocally, type LocalDeployment } from "../reliability/support/deployment.ts";
import { recordSection } from "../reliability/support/report.ts";
import { type SynthesizedStack, synthesizeStack } from "../reliability/support/synthesized-stack.ts";
import { SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";

const CORPUS = join(REPOSITORY_ROOT, "test/fixtures/fuzz/config-sync-events");
const expectationsSchema = z.record(
  z.string(),
  z.object({ outcome: z.enum(["rejected", "ignored"]), mentions: z.array(z.string()).min(1) }),
);
const expectations = expectationsSchema.parse(
  JSON.parse(readFileSync(join(CORPUS, "expectations.json"), "utf8")),
);
const corpus = readdirSync(CORPUS)
  .filter((file) => file !== "expectations.json")
  .sort();

describe("the config-sync bundle on a corpus of malformed and unexpected events", () => {
  let stack: SynthesizedStack;
  let deployment: LocalDeployment;
  const outcomes = new Map<string, number>();

  beforeAll(async () => {
    stack = synthesizeStack();
    deployment = await deployLocally(stack);
  }, SYNTH_TIMEOUT_MS);

  afterAll(async () => {
    recordSection("config-sync-corpus", {
      kind: "table",
      header: [`config-sync on ${corpus.length} malformed or unexpected events`, "Events"],
      rows: [...outcomes].map(([outcome, count]) => [outcome, String(count)]),
    });
    await deployment?.close();
    stack?.remove();
  });

  it("has an expectation for every event in the corpus, and an event for every expectation", () => {
    expect(corpus).toEqual(Object.keys(expectations).sort());
  });

  it.each(corpus)(
    "answers %s with a reason that names the field and the rule, touching nothing",
    async (file) => {
      const expected = expectations[file];
      if (!expected) throw new Error(`no expectation for ${file}`);
      const event: unknown = JSON.parse(readFileSync(join(CORPUS, file), "utf8"));
      const callsBefore = Object.values(deployment.faults).map((proxy) => proxy.requestCount);

      const result = await deployment.configSync.invoke(event);

      expect(result).toMatchObject({ ok: true, payload: { results: [] } });
      const payload = (result as { payload: Record<string, unknown> }).payload;
      const reason = String(payload[expected.outcome]);
      for (const mention of expected.mentions) expect(reason).toContain(mention);
      expect(Object.values(deployment.faults).map((proxy) => proxy.requestCount)).toEqual(callsBefore);
      outcomes.set(expected.outcome, (outcomes.get(expected.outcome) ?? 0) + 1);
    },
  );

  it("logs why each event was refused, and no secret", () => {
    const refusals = deployment.lines.filter((line) => line.includes('"input rejected"'));
    expect(refusals).toHaveLength(
      Object.values(expectations).filter((each) => each.outcome === "rejected").length,
    );
    const leaked = deployment
      .secrets()
      .filter((secret) => deployment.lines.some((line) => line.includes(secret)));
    expect(leaked).toEqual([]);
  });
});
