/*
 * The zod that code bundled into the Lambdas imports (`import * as z from "../validation/zod.ts"`):
 * zod/mini, with English messages.
 *
 * zod/mini rather than zod's classic API because a classic schema carries every method of its kind,
 * so any use of it bundles nearly all of zod (93 KB minified), where zod/mini bundles only the
 * schemas and checks used (about 30 KB): the difference is what keeps each bundle within its 400 KB
 * budget (BENCHMARKS.md). zod/mini sets no locale of its own, and the configuration errors quote
 * zod's English messages. Code that is never bundled (CLI, emulator, tests) may use either API.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
