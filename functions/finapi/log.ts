/**
 * What the core needs of a logger: Powertools Logger satisfies it in the Lambdas, a console writer in
 * the CLI. Keys in `details` become structured log fields.
 */
export interface Log {
  debug(message: string, ...details: [Record<string, unknown>] | []): void;
  info(message: string, ...details: [Record<string, unknown>] | []): void;
  warn(message: string, ...details: [Record<string, unknown>] | []): void;
  error(message: string, ...details: [Record<string, unknown>] | []): void;
}

export const silentLog: Log = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
