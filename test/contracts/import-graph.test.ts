import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * The module layout as a checked rule: the Lambda function folders are siblings that share only
 * `functions/contracts/` and generic modules; the stack and the CLI see contracts and the pure core,
 * never a function's internals; and no module imports itself round a cycle.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCANNED_DIRECTORIES = ["functions", "infra", "cli"];
const FUNCTION_FOLDERS = ["config-sync", "user-sync-callback", "deletion-publisher"];
/** What infra/ and cli/ may import from functions/: the contracts, the core and the generic toolkit. */
const STACK_AND_CLI_MAY_IMPORT = [
  "functions/contracts/",
  "functions/finapi/",
  "functions/validation/",
  "functions/commons/",
];

function sourceFiles(directory: string): string[] {
  return readdirSync(join(ROOT, directory), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/*
 * Static imports and re-exports at the start of a line (how the formatter writes them), side-effect
 * imports, and dynamic `import("...")`; a comment that quotes an import does not start a line with it.
 */
const IMPORT_PATTERNS = [
  /^(?:import|export)\s+(?:type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\}|[\w$]+(?:\s*,\s*\{[^}]*\})?)\s+from\s+"([^"]+)"/gm,
  /^import\s+"([^"]+)"/gm,
  /\bimport\(\s*"([^"]+)"\s*\)/g,
];

/** Relative imports of a file, as paths from the repository root. */
function localImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return IMPORT_PATTERNS.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => match[1] ?? ""))
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)));
}

function functionFolderOf(file: string): string | undefined {
  const [top, folder] = file.split("/");
  return top === "functions" && folder !== undefined && FUNCTION_FOLDERS.includes(folder)
    ? folder
    : undefined;
}

type ImportGraph = ReadonlyMap<string, readonly string[]>;

function importGraph(): ImportGraph {
  const files = SCANNED_DIRECTORIES.flatMap(sourceFiles);
  return new Map(files.map((file) => [file, localImports(file)]));
}

/** Import edges that break the layout, one line each. */
function layoutViolations(graph: ImportGraph): string[] {
  const violations: string[] = [];
  for (const [file, imports] of graph) {
    const folder = functionFolderOf(file);
    for (const imported of imports) {
      const importedFolder = functionFolderOf(imported);
      if (folder !== undefined && importedFolder !== undefined && importedFolder !== folder) {
        violations.push(
          `${file} imports ${imported}: function folders share code only through functions/contracts/`,
        );
      }
      if (folder === undefined && file.startsWith("functions/") && importedFolder !== undefined) {
        violations.push(`${file} imports ${imported}: a shared module must not depend on a function folder`);
      }
      const fromStackOrCli = file.startsWith("infra/") || file.startsWith("cli/");
      if (
        fromStackOrCli &&
        imported.startsWith("functions/") &&
        !STACK_AND_CLI_MAY_IMPORT.some((prefix) => imported.startsWith(prefix))
      ) {
        violations.push(
          `${file} imports ${imported}: infra/ and cli/ import only ${STACK_AND_CLI_MAY_IMPORT.join(", ")}`,
        );
      }
    }
  }
  return violations;
}

/** Every import cycle, each as the files round it (found by depth-first search over the graph). */
function importCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const finished = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (file: string): void => {
    if (onPath.has(file)) {
      cycles.push([...path.slice(path.indexOf(file)), file]);
      return;
    }
    if (finished.has(file)) return;
    onPath.add(file);
    path.push(file);
    for (const imported of graph.get(file) ?? []) visit(imported);
    path.pop();
    onPath.delete(file);
    finished.add(file);
  };
  for (const file of graph.keys()) visit(file);
  return cycles;
}

describe("the import graph of functions/, infra/ and cli/", () => {
  const graph = importGraph();

  it("scans the three trees and resolves their imports", () => {
    expect(graph.get("functions/config-sync/handler.ts")).toContain("functions/config-sync/app.ts");
    expect(graph.get("cli/commands/status.ts")).toEqual(
      expect.arrayContaining(["functions/contracts/config-sync.ts", "cli/status-table.ts"]),
    );
    /* A multi-line import list. */
    expect(graph.get("infra/constructs/config-sync.ts")).toContain("functions/contracts/config-sync.ts");
  });

  it("has no import between function folders, none of function internals from infra/ or cli/", () => {
    expect(layoutViolations(graph)).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(importCycles(graph)).toEqual([]);
  });
});

describe("the function folders", () => {
  it.each(FUNCTION_FOLDERS)("give %s one shape: handler.ts wires app.ts and dependencies.ts", (folder) => {
    const graph = importGraph();
    const inFolder = (file: string) => `functions/${folder}/${file}`;
    expect(graph.get(inFolder("handler.ts"))).toEqual(
      expect.arrayContaining([inFolder("app.ts"), inFolder("dependencies.ts")]),
    );
    expect(graph.has(inFolder("app.ts"))).toBe(true);
    expect(readFileSync(join(ROOT, inFolder("handler.ts")), "utf8")).toMatch(/^export const handler = /m);
  });
});

describe("layoutViolations", () => {
  it("names an import from one function folder into another", () => {
    const graph = new Map([["functions/config-sync/config.ts", ["functions/user-sync-callback/config.ts"]]]);
    expect(layoutViolations(graph)).toEqual([
      "functions/config-sync/config.ts imports functions/user-sync-callback/config.ts: function folders share code only through functions/contracts/",
    ]);
  });

  it("names an import of function internals from infra/ or cli/, and from a shared module", () => {
    const graph = new Map([
      [
        "infra/constructs/config-sync.ts",
        ["functions/config-sync/invocation.ts", "functions/contracts/defaults.ts"],
      ],
      ["cli/commands/status.ts", ["functions/deletion-publisher/config.ts"]],
      ["functions/contracts/status.ts", ["functions/config-sync/status-store.ts"]],
    ]);
    expect(layoutViolations(graph)).toEqual([
      "infra/constructs/config-sync.ts imports functions/config-sync/invocation.ts: infra/ and cli/ import only functions/contracts/, functions/finapi/, functions/validation/, functions/commons/",
      "cli/commands/status.ts imports functions/deletion-publisher/config.ts: infra/ and cli/ import only functions/contracts/, functions/finapi/, functions/validation/, functions/commons/",
      "functions/contracts/status.ts imports functions/config-sync/status-store.ts: a shared module must not depend on a function folder",
    ]);
  });

  it("lets a function folder import its own files, contracts and the core", () => {
    const graph = new Map([
      [
        "functions/config-sync/app.ts",
        ["functions/config-sync/dependencies.ts", "functions/contracts/client-name.ts"],
      ],
      ["infra/constructs/config-sync.ts", ["functions/finapi/schema.ts"]],
    ]);
    expect(layoutViolations(graph)).toEqual([]);
  });
});

describe("importCycles", () => {
  it("finds two modules that import each other", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["a.ts"]],
    ]);
    expect(importCycles(graph)).toEqual([["a.ts", "b.ts", "a.ts"]]);
  });

  it("finds a longer cycle and passes a diamond", () => {
    expect(
      importCycles(
        new Map([
          ["a.ts", ["b.ts"]],
          ["b.ts", ["c.ts"]],
          ["c.ts", ["a.ts"]],
        ]),
      ),
    ).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
    expect(
      importCycles(
        new Map([
          ["a.ts", ["b.ts", "c.ts"]],
          ["b.ts", ["d.ts"]],
          ["c.ts", ["d.ts"]],
        ]),
      ),
    ).toEqual([]);
  });
});
