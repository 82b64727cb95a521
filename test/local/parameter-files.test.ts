import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type ParameterFile,
  type ParameterFiles,
  startParameterFiles,
} from "../../local/aws/parameter-files.ts";
import { type ParameterStoreChangeEvent, type SsmStandIn, startSsm } from "../../local/aws/ssm.ts";

/* Only how long a missing change takes to fail the test: file watching is slow on a starved machine. */
const WAIT_MS = 60_000;

describe("startParameterFiles", () => {
  let directory: string;
  let ssm: SsmStandIn;
  let files: ParameterFiles | undefined;
  let changes: ParameterStoreChangeEvent[];
  let listeners: (() => void)[];
  let rejected: { file: ParameterFile; reason: string }[];
  let unknown: string[];

  const sandbox = () => ({
    parameterName: "/finapi-config-sync/sandbox",
    path: join(directory, "sandbox.json"),
  });
  const live = () => ({ parameterName: "/finapi-config-sync/live", path: join(directory, "live.json") });

  /** Resolves once `count` change events have arrived in all (bounded wait, no fixed sleep). */
  const changesReach = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (changes.length < count) return;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        () => reject(new Error(`expected ${count} change(s), got ${changes.length}`)),
        WAIT_MS,
      );
      listeners.push(check);
      check();
    });

  const rejectionsReach = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (rejected.length < count) return;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => reject(new Error(`expected ${count} rejection(s)`)), WAIT_MS);
      listeners.push(check);
      check();
    });

  const unknownReach = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (unknown.length < count) return;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => reject(new Error(`expected ${count} unknown file(s)`)), WAIT_MS);
      listeners.push(check);
      check();
    });

  const notify = () => {
    for (const listener of listeners) listener();
  };

  const start = async (settleMs = 20) => {
    files = await startParameterFiles({
      ssm,
      files: [sandbox(), live()],
      settleMs,
      onRejected: (file, reason) => {
        rejected.push({ file, reason });
        notify();
      },
      onUnknownFile: (path) => {
        unknown.push(path);
        notify();
      },
    });
    return files;
  };

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "parameter-files-"));
    changes = [];
    listeners = [];
    rejected = [];
    unknown = [];
    ssm = await startSsm({
      onChange: (event) => {
        changes.push(event);
        notify();
      },
    });
    await writeFile(sandbox().path, '{"refreshTokensValidityPeriod": 3600}\n');
    await writeFile(live().path, '{"refreshTokensValidityPeriod": 7200}\n');
  });

  afterEach(async () => {
    files?.close();
    await ssm.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("puts every file as its parameter when it starts: a Create change each", async () => {
    await start();
    expect(changes.map((change) => [change.detail.operation, change.detail.name])).toEqual([
      ["Create", "/finapi-config-sync/sandbox"],
      ["Create", "/finapi-config-sync/live"],
    ]);
    expect(ssm.valueOf(sandbox().parameterName)).toBe('{"refreshTokensValidityPeriod": 3600}\n');
  });

  it("turns an edit into an Update with the new content", async () => {
    await start();
    await writeFile(sandbox().path, '{"refreshTokensValidityPeriod": 60}');
    await changesReach(3);
    expect(changes[2]?.detail).toMatchObject({ operation: "Update", name: sandbox().parameterName });
    expect(ssm.valueOf(sandbox().parameterName)).toBe('{"refreshTokensValidityPeriod": 60}');
  });

  it("turns a burst of writes into one change with the last content", async () => {
    await start(150);
    for (const seconds of [60, 120, 180])
      await writeFile(live().path, `{"refreshTokensValidityPeriod": ${seconds}}`);
    await changesReach(3);
    await files?.syncAll();
    expect(changes).toHaveLength(3);
    expect(ssm.valueOf(live().parameterName)).toBe('{"refreshTokensValidityPeriod": 180}');
  });

  it("sees a file replaced by renaming another one into place, as editors save", async () => {
    await start();
    const temporary = join(directory, ".sandbox.json.swp");
    await writeFile(temporary, '{"userAccessTokensValidityPeriod": 900}');
    await rename(temporary, sandbox().path);
    await changesReach(3);
    expect(ssm.valueOf(sandbox().parameterName)).toBe('{"userAccessTokensValidityPeriod": 900}');
  });

  it("reports a *.json file that is no parameter, at start and when one is written, and puts nothing", async () => {
    await writeFile(join(directory, "acme.json"), "{}");
    await writeFile(join(directory, "notes.txt"), "not a document");
    await start();
    expect(unknown).toEqual([join(directory, "acme.json")]);
    await writeFile(join(directory, "other.json"), "{}");
    await unknownReach(2);
    expect(unknown[1]).toBe(join(directory, "other.json"));
    expect(changes).toHaveLength(2);
  });

  it("does not report the deletion of an unknown file", async () => {
    const acme = join(directory, "acme.json");
    await writeFile(acme, "{}");
    await start();
    await rm(acme);
    /* Another unknown file after it: once that one is reported, a report of the deletion would have been too. */
    const later = join(directory, "later.json");
    await writeFile(later, "{}");
    await unknownReach(2);
    expect(unknown).toEqual([acme, later]);
  });

  it("changes nothing when the content is the same as the parameter's", async () => {
    await start();
    await writeFile(sandbox().path, '{"refreshTokensValidityPeriod": 3600}\n');
    await files?.syncAll();
    expect(changes).toHaveLength(2);
  });

  it("turns a deleted file into a Delete change", async () => {
    await start();
    await rm(live().path);
    await changesReach(3);
    expect(changes[2]?.detail).toMatchObject({ operation: "Delete", name: live().parameterName });
    expect(ssm.valueOf(live().parameterName)).toBeUndefined();
  });

  it("reports a file Parameter Store refuses (empty) and keeps the parameter's last value", async () => {
    await start();
    await writeFile(sandbox().path, "");
    await rejectionsReach(1);
    expect(rejected[0]?.file.parameterName).toBe(sandbox().parameterName);
    expect(rejected[0]?.reason).toMatch(
      /^Parameter Store refused it: Parameter value must be 1 to 4096 characters/,
    );
    expect(ssm.valueOf(sandbox().parameterName)).toBe('{"refreshTokensValidityPeriod": 3600}\n');
  });

  it("puts nothing for a file that does not exist, and creates its parameter once the file appears", async () => {
    await rm(live().path);
    await start();
    expect(changes).toHaveLength(1);
    await writeFile(live().path, "{}");
    await changesReach(2);
    expect(changes[1]?.detail).toMatchObject({ operation: "Create", name: live().parameterName });
  });
});
