import { expect, vi } from "vitest";

export interface MetricLine {
  readonly name: string;
  readonly dimensionSets: string[][];
  readonly client: unknown;
}

export interface CapturedOutput {
  /** Every line written to stdout or stderr since the capture started or was last cleared. */
  lines(): string[];
  /** Every line written since the capture started, `clear` or not: what secret scans look at. */
  all(): string[];
  /** The structured log lines (Powertools Logger). */
  logs(): Record<string, unknown>[];
  /** The EMF metric lines (Powertools Metrics), one entry per metric. */
  metrics(): MetricLine[];
  /** How many times the metric was counted, for one client or for the unauthenticated (no client). */
  count(name: string, client?: string): number;
  /** Metric name and client dimension of each metric counted, e.g. `SyncApplied acme`. */
  counted(): string[];
  clear(): void;
  stop(): void;
}

const splitLines = (written: readonly string[]) =>
  written
    .join("")
    .split("\n")
    .filter((line) => line.trim() !== "");

/**
 * Captures what the process writes to stdout and stderr, and keeps it out of the test output:
 * Powertools Logger and Metrics write there through their own Console instances (warnings and errors
 * to stderr), so this sees exactly what CloudWatch would.
 */
export function captureOutput(): CapturedOutput {
  const everything: string[] = [];
  let sinceClear: string[] = [];
  const record = (chunk: unknown) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
    everything.push(text);
    sinceClear.push(text);
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation(record),
    vi.spyOn(process.stderr, "write").mockImplementation(record),
  ];

  const lines = () => splitLines(sinceClear);
  const parsed = () =>
    lines().flatMap((line) => {
      try {
        const value: unknown = JSON.parse(line);
        return typeof value === "object" && value !== null ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  const metrics = () =>
    parsed().flatMap((line) => {
      const aws = line._aws as
        | { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
        | undefined;
      return (aws?.CloudWatchMetrics ?? []).flatMap((directive) =>
        directive.Metrics.map((metric) => ({
          name: metric.Name,
          dimensionSets: directive.Dimensions,
          client: line.client,
        })),
      );
    });

  return {
    lines,
    all: () => splitLines(everything),
    logs: () => parsed().filter((line) => line._aws === undefined && "level" in line),
    metrics,
    count: (name, client) =>
      metrics().filter((metric) => metric.name === name && metric.client === client).length,
    counted: () => metrics().map((metric) => `${metric.name} ${metric.client}`),
    clear: () => {
      sinceClear = [];
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
      everyLine.push(...(current?.all() ?? []));
      current = undefined;
    },
  };
}

/** Fails naming the line if any captured line contains any of the secrets. */
export function expectNoSecretIn(output: CapturedOutput, secrets: readonly string[]): void {
  for (const line of output.lines()) {
    for (const secret of secrets) {
      expect(line.includes(secret), `a secret appears in: ${line.replaceAll(secret, "<SECRET>")}`).toBe(
        false,
      );
    }
  }
}
