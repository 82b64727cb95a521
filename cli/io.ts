/** Where a command writes and what it reads of its environment; a child process uses the real ones. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads all of standard input, for a FILE given as `-`; absent where there is none. */
  readonly readStdin?: () => Promise<string>;
}

/** Exit codes shared by every command, terraform-style for `plan`. */
export const ExitCode = {
  Ok: 0,
  Invalid: 1,
  ChangesPending: 2,
  Error: 3,
  Usage: 64,
} as const;

/** A mistake in how the command was called: printed with the command's usage, exit 64. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
