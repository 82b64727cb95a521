import { type FSWatcher, watch } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { AwsServiceError } from "./json-protocol-server.ts";
import type { SsmStandIn } from "./ssm.ts";

/** A file whose content is a parameter's value. */
export interface ParameterFile {
  readonly parameterName: string;
  readonly path: string;
}

export interface ParameterFilesOptions {
  /** The Parameter Store the files are mirrored into; its change events are what the files' edits cause. */
  readonly ssm: SsmStandIn;
  readonly files: readonly ParameterFile[];
  /** A file's content that Parameter Store refused (empty, too long) or a file that could not be read. */
  readonly onRejected?: (file: ParameterFile, reason: string) => void;
  /**
   * A `*.json` file beside the parameter files that is none of them (at start, and after each edit of
   * it): someone expected it to be a parameter.
   */
  readonly onUnknownFile?: (path: string) => void;
  /**
   * How long a file must stay unchanged before it is read: editors write in bursts (truncate, write,
   * rename), and one edit must be one Parameter Store change. @default 100
   */
  readonly settleMs?: number;
}

export interface ParameterFiles {
  /** Reads every file now and puts each changed one (what the watcher does on its own after an edit). */
  syncAll(): Promise<void>;
  close(): void;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (found) => found.isFile(),
    () => false,
  );
}

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EISDIR" ? "is a directory" : `cannot be read (${code ?? "error"})`;
}

/**
 * A Parameter Store backed by files: each file is one parameter. Writing, replacing or renaming a file
 * into place puts its content as a new version (a "Parameter Store Change" Create or Update event);
 * deleting the file deletes the parameter (a Delete event). A file whose content did not change causes
 * nothing, as putting the same value again is not an edit anyone meant.
 */
export async function startParameterFiles(options: ParameterFilesOptions): Promise<ParameterFiles> {
  const { ssm, onRejected, onUnknownFile } = options;
  const settleMs = options.settleMs ?? 100;
  const files = options.files.map((file) => ({ ...file, path: resolve(file.path) }));
  const pending = new Map<string, NodeJS.Timeout>();
  /* One read-and-put at a time per file, so that a slow read cannot put an older content last. */
  const inFlight = new Map<string, Promise<void>>();

  const syncFile = async (file: ParameterFile): Promise<void> => {
    let content: string | undefined;
    try {
      content = await readFile(file.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        onRejected?.(file, describeReadError(error));
        return;
      }
    }
    const current = ssm.valueOf(file.parameterName);
    if (content === undefined) {
      if (current !== undefined) ssm.deleteParameter(file.parameterName);
      return;
    }
    if (content === current) return;
    try {
      ssm.putParameter(file.parameterName, content, { type: "String" });
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      onRejected?.(file, `Parameter Store refused it: ${error.message}`);
    }
  };

  const queueSync = (file: ParameterFile): Promise<void> => {
    const previous = inFlight.get(file.path) ?? Promise.resolve();
    const next = previous.then(() => syncFile(file));
    inFlight.set(file.path, next);
    return next;
  };

  const scheduleSync = (file: ParameterFile) => {
    clearTimeout(pending.get(file.path));
    const timer = setTimeout(() => {
      pending.delete(file.path);
      void queueSync(file);
    }, settleMs);
    timer.unref();
    pending.set(file.path, timer);
  };

  /* In the given order, one after the other, so that the change events come in that order too. */
  const syncAll = async () => {
    for (const file of files) await queueSync(file);
  };

  const directories = [...new Set(files.map((file) => dirname(file.path)))];
  const isUnknown = (directory: string, name: string) =>
    name.endsWith(".json") && !files.some((file) => file.path === join(directory, name));
  const reportIfPresent = async (path: string) => {
    if (await isFile(path)) onUnknownFile?.(path);
  };
  const scheduleReport = (path: string) => {
    clearTimeout(pending.get(path));
    const timer = setTimeout(() => {
      pending.delete(path);
      void reportIfPresent(path);
    }, settleMs);
    timer.unref();
    pending.set(path, timer);
  };

  await syncAll();
  if (onUnknownFile) {
    for (const directory of directories) {
      for (const name of (await readdir(directory)).sort()) {
        if (isUnknown(directory, name)) await reportIfPresent(join(directory, name));
      }
    }
  }
  /* Directories, not files, are watched: an editor that saves by renaming a new file into place replaces the file's inode. */
  const watchers: FSWatcher[] = directories.map((directory) =>
    watch(directory, { persistent: false }, (_event, name) => {
      if (name !== null && isUnknown(directory, name)) scheduleReport(join(directory, name));
      const touched = name === null ? files : files.filter((file) => basename(file.path) === name);
      for (const file of touched) {
        if (dirname(file.path) === directory) scheduleSync(file);
      }
    }),
  );

  return {
    syncAll,
    close() {
      for (const watcher of watchers) watcher.close();
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    },
  };
}
