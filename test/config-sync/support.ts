import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "aws-lambda";
import { vi } from "vitest";
import type { FinapiEmulator } from "../../emulator/index.ts";
import { lambdaContext as hostedLambdaContext } from "../../local/lambda-context.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "config-sync");

/** A fixture's text, e.g. `fixture("documents/acme.json")`. */
export function fixture(path: string): string {
  return readFileSync(join(FIXTURES, path), "utf8");
}

/** A fixture event, parsed, e.g. `event("parameter-update")` or `event("malformed/array")`. */
export function event(name: string): unknown {
  return JSON.parse(fixture(`events/${name}.json`));
}

/** A Parameter Store Change event for `name` with `operation`, as EventBridge delivers it. */
export function parameterChange(name: string, operation = "Update"): unknown {
  const base = event("parameter-update") as { detail: Record<string, unknown> };
  return { ...base, id: randomUUID(), detail: { ...base.detail, name, operation } };
}

/** A Lambda context whose remaining time stays at `remainingMs`. */
export function lambdaContext(remainingMs = 120_000): Context {
  return hostedLambdaContext({ functionName: "config-sync", remainingMs });
}

export interface CapturedOutput {
  /** The lines written to stdout or stderr since the capture started or was last cleared, raw. */
  readonly lines: readonly string[];
  /** Every line written since the capture started, `clear` or not: what secret scans look at. */
  readonly all: readonly string[];
  /** The structured log lines (Powertools Logger). */
  logs(): Record<string, unknown>[];
  /** The CloudWatch EMF lines (Powertools Metrics). */
  metrics(): Record<string, unknown>[];
  /** Metric name and client dimension of each EMF line, e.g. `SyncApplied acme`. */
  counted(): string[];
  clear(): void;
  stop(): void;
}

/**
 * Captures what Powertools writes (its Logger and Metrics write to the process's streams directly,
 * not through console; warnings and errors go to stderr), and keeps it out of the test output.
 */
export function captureOutput(): CapturedOutput {
  const lines: string[] = [];
  const all: string[] = [];
  const record = (chunk: unknown) => {
    const written = String(chunk)
      .split("\n")
      .filter((line) => line.trim() !== "");
    lines.push(...written);
    all.push(...written);
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation(record),
    vi.spyOn(process.stderr, "write").mockImplementation(record),
  ];
  const parsed = () =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    lines,
    all,
    logs: () => parsed().filter((line) => "level" in line),
    metrics: () => parsed().filter((line) => "_aws" in line),
    counted() {
      return parsed()
        .filter((line) => "_aws" in line)
        .flatMap((line) => {
          const aws = line._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
          return aws.CloudWatchMetrics.flatMap((set) =>
            set.Metrics.map((metric) => `${metric.Name} ${line.client}`),
          );
        });
    },
    clear: () => {
      lines.length = 0;
    },
    stop: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

/**
 * One capture per test (`start` in beforeEach, `stop` in afterEach) that keeps every test's lines in
 * `everyLine`, for the file's secret scan in afterAll.
 */
export function capturePerTest() {
  const everyLine: string[] = [];
  let current: CapturedOutput | undefined;
  return {
    everyLine,
    start(): CapturedOutput {
      current = captureOutput();
      return current;
    },
    stop(): void {
      current?.stop();
      everyLine.push(...(current?.all ?? []));
      current = undefined;
    },
  };
}

/** The access tokens the clients sent to these emulators, secrets to scan the output for. */
export function bearerTokens(emulators: readonly FinapiEmulator[]): string[] {
  return emulators.flatMap((emulator) =>
    emulator.requests.flatMap((request) => {
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
      return bearer ? [bearer] : [];
    }),
  );
}

/** The secrets found in `lines`, to assert that none is. */
export function leakedSecrets(lines: readonly string[], secrets: readonly string[]): string[] {
  return secrets.filter((secret) => lines.some((line) => line.includes(secret)));
}
