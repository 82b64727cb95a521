import { existsSync, readFileSync, writeFileSync } from "node:fs";

/**
 * Replaces what lies between `<!-- name:start -->` and `<!-- name:end -->` in a Markdown file, keeping
 * the hand-written text around it; a file without the markers gets them appended.
 */
export function writeGeneratedBlock(path: string, name: string, content: string): void {
  const start = `<!-- ${name}:start (generated: do not edit by hand) -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n\n${content.trim()}\n\n${end}`;
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from !== -1 && to > from
      ? `${current.slice(0, from)}${block}${current.slice(to + end.length)}`
      : `${current.trimEnd()}${current.trim() === "" ? "" : "\n\n"}${block}\n`;
  writeFileSync(path, next);
}
