import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface RunningProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (now or later); rejects after `timeoutMs` or at exit. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code; rejects when the process has not exited within `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | null>;
}

/**
 * Starts `node SCRIPT ARGS...` from the repository root with only PATH and `env` in its environment
 * (Node 24 is the node running the tests), and watches its output.
 */
export function startProcess(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): RunningProcess {
  return watchProcess(
    spawn(process.execPath, [script, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    }),
  );
}

/**
 * Starts `npm run SCRIPT -- ARGS...` from the repository root in a process group of its own, as a
 * terminal runs a command: `process.kill(-child.pid, signal)` is then what Ctrl-C does. npm runs on
 * the Node that runs the tests (first on PATH).
 */
export function startNpmScript(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): RunningProcess {
  const npmEnvironment = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? ROOT };
  return watchProcess(
    spawn("npm", ["run", "--silent", script, "--", ...args], {
      cwd: ROOT,
      env: { ...npmEnvironment, ...env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    }),
  );
}

function watchProcess(child: ChildProcessWithoutNullStreams): RunningProcess {
  let stdout = "";
  let stderr = "";
  let exitCode: number | null | undefined;
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const watcher of watchers) watcher();
  };
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    notify();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    notify();
  });
  child.on("close", (code) => {
    exitCode = code;
    notify();
  });

  const waitUntil = <T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const done = (finish: () => void) => {
        clearTimeout(timer);
        watchers.delete(watcher);
        finish();
      };
      const watcher = () => {
        const value = check();
        if (value !== undefined) done(() => resolve(value));
        else if (exitCode !== undefined)
          done(() =>
            reject(
              new Error(
                `${what}: the process exited (${exitCode}) first.\nstdout:\n${stdout}\nstderr:\n${stderr}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`${what}: not within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
          ),
        timeoutMs,
      );
      watchers.add(watcher);
      watcher();
    });

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForOutput: (pattern, timeoutMs) =>
      waitUntil(`output matching ${pattern}`, () => stdout.match(pattern) ?? undefined, timeoutMs),
    exited: (timeoutMs) =>
      new Promise((resolve, reject) => {
        if (exitCode !== undefined) {
          resolve(exitCode);
          return;
        }
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(
            new Error(
              `the process did not exit within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        }, timeoutMs);
        child.once("close", (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      }),
  };
}
