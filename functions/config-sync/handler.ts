import { createConfigSyncHandler } from "./app.ts";
import { loadConfigSyncConfig } from "./config.ts";
import { createDefaultDependencies } from "./dependencies.ts";

/**
 * The config-sync Lambda: configuration is checked here, once per container, before the first event
 * (a bad one fails the cold start with a message naming the variable).
 */
export const handler = createConfigSyncHandler(createDefaultDependencies(loadConfigSyncConfig(process.env)));
