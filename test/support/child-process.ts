import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/*
 * The one way tests run a process: from the repository root, with only PATH and what the test gives
 * in its environment (nothing of the developer's shell leaks in), output watched as it comes.
 * Asynchronous on purpose: the stand-ins answering the process live in the test's event loop.
 */

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, in the order they were written. */
  readonly output: string;
}

export interface RunOptions {
  /** Added to PATH, which every process gets. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to the process's stdin, which is then closed; without it stdin is closed from the start. */
  readonly stdin?: string;
  /** Kills the process (SIGKILL) and fails when it has not exited by then. */
  readonly timeoutMs?: number;
}

/** Runs `command ARGS...` to its end and answers its exit code and output. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...options.env },
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      output += chunk.toString();
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`${command} did not exit within ${options.timeoutMs} ms.\n${output}`));
          }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}

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
