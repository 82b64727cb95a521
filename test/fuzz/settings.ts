import * as z from "zod";

/*
 * How many cases each fuzzer runs, and from which seed: `npm test` runs the short default, `npm run fuzz`
 * sets FUZZ_RUNS=10000. fast-check prints the seed of a failing run; FUZZ_SEED replays it.
 */
const fuzzEnvironmentSchema = z.object({
  FUZZ_RUNS: z
    .string()
    .regex(/^[1-9]\d*$/, { error: "must be a positive whole number of runs" })
    .transform(Number)
    .optional(),
  FUZZ_SEED: z
    .string()
    .regex(/^-?\d+$/, { error: "must be a whole number (the seed fast-check printed)" })
    .transform(Number)
    .optional(),
});

function readFuzzEnvironment() {
  const result = fuzzEnvironmentSchema.safeParse(process.env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`fuzz settings are invalid: ${problems.join("; ")}`);
}

const settings = readFuzzEnvironment();

/** FUZZ_RUNS when set, otherwise the fuzzer's own default (what `npm test` runs). */
export function fuzzRuns(defaultRuns: number): number {
  return settings.FUZZ_RUNS ?? defaultRuns;
}

/** fast-check parameters: the run count, and FUZZ_SEED when a failure is being replayed. */
export function fuzzParameters(defaultRuns: number): { numRuns: number; seed?: number } {
  return {
    numRuns: fuzzRuns(defaultRuns),
    ...(settings.FUZZ_SEED === undefined ? {} : { seed: settings.FUZZ_SEED }),
  };
}

/**
 * A test timeout that grows with the run count: `msPerRun` is about what a case takes on an idle
 * machine, and a loaded one takes up to ten times that (the callback fuzzer's 3,000 cases passed 20 s
 * at a load of 23 on 2 cores); never under 2 minutes.
 */
export function fuzzTimeoutMs(runs: number, msPerRun: number): number {
  return Math.max(120_000, Math.ceil(10 * runs * msPerRun));
}
