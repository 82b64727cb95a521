import { createDeletionPublisherHandler } from "./app.ts";
import { loadPublisherConfig } from "./config.ts";
import { createDefaultDependencies } from "./dependencies.ts";

/** The deletion-publisher Lambda: configuration is checked here, once per container, before any batch. */
export const handler = createDeletionPublisherHandler(
  createDefaultDependencies(loadPublisherConfig(process.env)),
);
