import { expect } from "vitest";

export interface MetricLine {
  readonly name: string;
  readonly dimensionSets: string[][];
  readonly client: unknown;
}

export interface CapturedOutput {
  /** Every line written to stdout or stderr since the last clear. */
  lines(): string[];
  /** The structured log lines (Powertools Logger). */
  logs(): Record<string, unknown>[];
  /** The EMF metric lines (Powertools Metrics), one entry per metric. */
  metrics(): MetricLine[];
  /** How many times the metric was counted, for one client or for the unauthenticated (no client). */
  count(name: string, client?: string): number;
  clear(): void;
  restore(): void;
}

/**
 * Captures what the process writes to stdout and stderr: Powertools Logger and Metrics write there
 * through their own Console instances, so this sees exactly what CloudWatch would.
 */
export function captureOutput(): CapturedOutput {
  let written: string[] = [];
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (chunk: unknown) => {
    written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;

  const lines = () =>
    written
      .join("")
      .split("\n")
      .filter((line) => line !== "");
  const parsed = () =>
    lines().flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
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
    logs: () => parsed().filter((line) => line._aws === undefined),
    metrics,
    count: (name, client) =>
      metrics().filter((metric) => metric.name === name && metric.client === client).length,
    clear: () => {
      written = [];
    },
    restore: () => {
      process.stdout.write = originals.stdout;
      process.stderr.write = originals.stderr;
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
