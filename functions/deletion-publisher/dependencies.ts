import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { AWS_CLIENT_CONFIG } from "../aws/client-config.ts";
import { createPowertools } from "../commons/powertools.ts";
import type { PublisherDependencies } from "./app.ts";
import type { PublisherConfig } from "./config.ts";
import { createEventBusPublisher } from "./event-bus.ts";
import { createDynamoDbPublishedMarks } from "./published-marks.ts";

const SERVICE_NAME = "deletion-publisher";

/**
 * PutEvents gets 10 s per attempt instead of the house 1 s. A timed-out PutEvents that EventBridge
 * accepted anyway is retried and publishes the deletion a second time (the cause of the duplicates in
 * issue 12); PutEvents answers in milliseconds, so 10 s lets a slow answer arrive and leaves a
 * timeout to real outages. The publisher is asynchronous, nobody waits on it.
 */
export const PUT_EVENTS_CLIENT_CONFIG = {
  ...AWS_CLIENT_CONFIG,
  requestHandler: { ...AWS_CLIENT_CONFIG.requestHandler, requestTimeout: 10_000 },
};

/*
 * Every attempt of one record's three calls timing out (the GetItem and PutItem at the house 1 s,
 * PutEvents at 10 s, each plus its connection timeout), and the SDK's backoff between attempts.
 */
const attemptsMs = (config: typeof AWS_CLIENT_CONFIG) =>
  config.maxAttempts * (config.requestHandler.connectionTimeout + config.requestHandler.requestTimeout);
const BACKOFF_ALLOWANCE_MS = 5_000;
export const RECORD_TIME_BUDGET_MS =
  2 * attemptsMs(AWS_CLIENT_CONFIG) + attemptsMs(PUT_EVENTS_CLIENT_CONFIG) + BACKOFF_ALLOWANCE_MS;

/** The real AWS-backed dependencies; endpoints, region and credentials come from the SDK's usual sources. */
export function createDefaultDependencies(config: PublisherConfig): PublisherDependencies {
  return {
    publish: createEventBusPublisher(new EventBridgeClient(PUT_EVENTS_CLIENT_CONFIG), config.eventBusName),
    publishedMarks: createDynamoDbPublishedMarks(
      new DynamoDBClient(AWS_CLIENT_CONFIG),
      config.deletionsTableName,
    ),
    recordTimeBudgetMs: RECORD_TIME_BUDGET_MS,
    ...createPowertools(SERVICE_NAME),
  };
}
