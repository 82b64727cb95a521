import { type Environment, loadEnvironment, requiredVariable } from "../validation/environment.ts";
import * as z from "../validation/zod.ts";

/** The publisher's environment, as the CDK stack sets it. */
export const publisherEnvironmentSchema = z.pipe(
  z.object({
    EVENT_BUS_NAME: requiredVariable("must be an EventBridge bus name or ARN"),
    DELETIONS_TABLE_NAME: requiredVariable("must be a DynamoDB table name"),
  }),
  z.transform((environment) => ({
    eventBusName: environment.EVENT_BUS_NAME,
    deletionsTableName: environment.DELETIONS_TABLE_NAME,
  })),
);
export type PublisherConfig = z.output<typeof publisherEnvironmentSchema>;

/** Reads the configuration from the environment, or fails with one message naming every bad variable and its rule. */
export function loadPublisherConfig(environment: Environment): PublisherConfig {
  return loadEnvironment("deletion-publisher", publisherEnvironmentSchema, environment);
}
