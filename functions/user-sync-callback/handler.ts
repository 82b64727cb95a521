import { createCallbackHandler } from "./app.ts";
import { loadCallbackConfig } from "./config.ts";
import { createDefaultDependencies } from "./dependencies.ts";

/** The user-sync-callback Lambda: configuration is checked here, once per container, before any request. */
export const handler = createCallbackHandler(createDefaultDependencies(loadCallbackConfig(process.env)));
