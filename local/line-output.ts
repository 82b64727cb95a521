/** Where a local command (`npm start`, `npm run demo`) writes, a line at a time. */
export interface LineOutput {
  readonly write: (line: string) => void;
  readonly fail: (line: string) => void;
}

/** The process's standard output and standard error: what the commands write to when run as programs. */
export const processLineOutput: LineOutput = {
  write: (line) => process.stdout.write(`${line}\n`),
  fail: (line) => process.stderr.write(`${line}\n`),
};
