import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scanJsonKeys } from "../../functions/finapi/json-keys.ts";
import { fuzzParameters } from "../fuzz/settings.ts";

describe("scanJsonKeys", () => {
  it("finds each key's line and column, 1-based, and the document's for $", () => {
    const text = '\n  {\n  "a": 1,\r\n    "b": {"c": [10, {"d": true}]}\n}';
    const { positions, repeated } = scanJsonKeys(text);
    expect(Object.fromEntries(positions)).toEqual({
      $: { line: 2, column: 3 },
      a: { line: 3, column: 3 },
      b: { line: 4, column: 5 },
      "b.c": { line: 4, column: 11 },
      "b.c.1.d": { line: 4, column: 22 },
    });
    expect(repeated).toEqual([]);
  });

  it("reports every repetition of a key in one object with where it first appeared", () => {
    const text = '{"a": 1,\n "b": {"a": 2, "x": 0, "x": 1},\n "a": 3,\n "a": 4}';
    expect(scanJsonKeys(text).repeated).toEqual([
      { path: "b.x", position: { line: 2, column: 24 }, first: { line: 2, column: 16 } },
      { path: "a", position: { line: 3, column: 2 }, first: { line: 1, column: 2 } },
      { path: "a", position: { line: 4, column: 2 }, first: { line: 1, column: 2 } },
    ]);
  });

  it("compares keys as JSON.parse decodes them, escapes and all", () => {
    const text = '{"ab": 1, "a\\u0062": 2, "a\\"": 3, "a\\\\": 4}';
    expect(scanJsonKeys(text).repeated.map((key) => key.path)).toEqual(["ab"]);
  });

  it("points at the last occurrence of a repeated key, whose value JSON.parse keeps", () => {
    expect(scanJsonKeys('{"a": 1,\n"a": "x"}').positions.get("a")).toEqual({ line: 2, column: 1 });
  });

  it("does not take a key for a string value, nor punctuation inside strings for structure", () => {
    const { positions, repeated } = scanJsonKeys('{"a": "b", "c": "{\\"a\\": [,]}", "b": ["a", "a"]}');
    expect([...positions.keys()]).toEqual(["$", "a", "c", "b"]);
    expect(repeated).toEqual([]);
  });

  it("walks nesting deeper than a recursive walk's stack would allow", () => {
    const depth = 30_000;
    const text = `${"[".repeat(depth)}{"a": 1, "a": 2}${"]".repeat(depth)}`;
    expect(scanJsonKeys(text).repeated).toHaveLength(1);
  }, 30_000);

  it("places every key where JSON.stringify wrote a key, and finds as many as it wrote", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        const { positions, repeated } = scanJsonKeys(text);
        expect(repeated).toEqual([]);
        const lines = text.split("\n");
        for (const [path, { line, column }] of positions) {
          if (path === "$") continue;
          const rest = lines[line - 1]?.slice(column - 1) ?? "";
          const token = /^"(?:[^"\\]|\\.)*"/.exec(rest)?.[0] ?? "";
          expect(rest.slice(token.length)).toMatch(/^\s*:/);
          expect(path.endsWith(JSON.parse(token) as string)).toBe(true);
        }
        const keysWritten = JSON.stringify(value, (_, member: unknown) => member).match(
          /"(?:[^"\\]|\\.)*":/g,
        );
        expect(new Set(positions.keys()).size - 1).toBeLessThanOrEqual(keysWritten?.length ?? 0);
      }),
      fuzzParameters(500),
    );
  });
});
