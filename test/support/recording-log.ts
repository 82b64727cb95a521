import type { Log } from "../../functions/finapi/log.ts";

export interface LogLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** A Log that keeps every line, so tests can assert on them and scan them for secrets. */
export function recordingLog(): Log & { readonly lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const record = (level: LogLine["level"]) => (message: string, details?: Record<string, unknown>) => {
    lines.push(details ? { level, message, details } : { level, message });
  };
  return {
    lines,
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
    text: () => lines.map((line) => JSON.stringify(line)).join("\n"),
  };
}
