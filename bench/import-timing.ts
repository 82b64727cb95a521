import { pathToFileURL } from "node:url";

/*
 * Runs in a fresh Node process (bench/cold-import.ts starts it): imports one module, as Lambda's init
 * imports the handler, and reports how long the import took.
 */
const target = process.argv[2];
if (!target) throw new Error("usage: node bench/import-timing.ts <module>");
const startedAt = performance.now();
await import(pathToFileURL(target).href);
const importMs = performance.now() - startedAt;
process.stdout.write(JSON.stringify({ importMs }), () => process.exit(0));
