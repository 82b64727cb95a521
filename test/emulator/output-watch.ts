import { vi } from "vitest";

/**
 * Records everything written to stdout, stderr and the console from now on (still passing it through),
 * so that a test can check that no secret was ever printed.
 */
export function watchProcessOutput(): { text(): string; restore(): void } {
  const chunks: string[] = [];
  const record = (...parts: unknown[]) => {
    chunks.push(parts.map((part) => (typeof part === "string" ? part : String(part))).join(" "));
  };
  const spies = [
    ...(["stdout", "stderr"] as const).map((stream) => {
      const write = process[stream].write.bind(process[stream]);
      return vi.spyOn(process[stream], "write").mockImplementation(((chunk: unknown, ...rest: never[]) => {
        record(chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : chunk);
        return write(chunk as string, ...rest);
      }) as typeof process.stdout.write);
    }),
    ...(["log", "info", "warn", "error", "debug"] as const).map((method) => {
      const original = console[method].bind(console);
      return vi.spyOn(console, method).mockImplementation((...parts: unknown[]) => {
        record(...parts);
        original(...parts);
      });
    }),
  ];
  return {
    text: () => chunks.join("\n"),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
