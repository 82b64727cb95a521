import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import httpErrorHandler from "@middy/http-error-handler";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { USER_DELETED_EVENT, type UserSyncCallbackPayload } from "../finapi/user.ts";
import { CallbackMetric, CLIENT_DIMENSION } from "../observability/metrics.ts";
import { authenticateCallback } from "./authenticate.ts";
import type { CallbackConfig } from "./config.ts";
import { describeError } from "./decide.ts";
import type { UserDeletedDetail } from "./events.ts";
import type { DeadLetterWriter } from "./forward.ts";
import type { OnceForwarder } from "./forward-once.ts";
import { HttpRejection, notFound, readCallbackPayload, readHttpEvent } from "./request.ts";
import { maskedRoute, parseCallbackPath, refusedRoute } from "./route.ts";
import type { CallbackSecretSource } from "./secret-source.ts";

export interface CallbackDependencies {
  readonly config: CallbackConfig;
  readonly secrets: CallbackSecretSource;
  readonly forwardOnce: OnceForwarder;
  readonly writeDeadLetter: DeadLetterWriter;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => Date;
}

/** A Function URL request (payload 2.0) or an API Gateway REST API proxy request (payload 1.0). */
export type CallbackEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;

type CallbackMetricName = (typeof CallbackMetric)[keyof typeof CallbackMetric];

const MAX_LOGGED_EVENT_NAME = 64;

/* Left of the invocation, when publishing is given up, for releasing the record and writing the dead letter. */
const DEAD_LETTER_RESERVE_MS = 4_000;

function publishDeadline(context: Context): AbortSignal | undefined {
  if (typeof context.getRemainingTimeInMillis !== "function") return undefined;
  const budgetMs = context.getRemainingTimeInMillis() - DEAD_LETTER_RESERVE_MS;
  return budgetMs > 0
    ? AbortSignal.timeout(budgetMs)
    : AbortSignal.abort(new DOMException("no time left to publish", "AbortError"));
}

const accepted = (): APIGatewayProxyStructuredResultV2 => ({ statusCode: 202 });

/**
 * The user-sync-callback as a middy handler: authenticate the path, validate the request, forward the
 * deletion once, and keep it in the dead-letter queue when forwarding fails. Every outcome is logged and
 * counted; the request path (it holds the secret) and the event are never logged.
 */
export function createCallbackHandler(dependencies: CallbackDependencies) {
  const { config, secrets, forwardOnce, writeDeadLetter, logger, metrics } = dependencies;
  const now = dependencies.now ?? (() => new Date());

  /* Each count is emitted per client and, as a second dimension set, service-wide: alarms watch the total. */
  const count = (name: CallbackMetricName, client?: string) => {
    const metric = metrics.singleMetric();
    if (client !== undefined) metric.addDimension(CLIENT_DIMENSION, client).addDimensions({});
    metric.addMetric(name, MetricUnit.Count, 1);
  };

  const keepDeadLetter = async (detail: UserDeletedDetail, reason: string) => {
    try {
      await writeDeadLetter({ ...detail, reason });
      logger.error("deletion not forwarded; kept in the dead-letter queue", {
        userId: detail.userId,
        reason,
      });
    } catch (error) {
      count(CallbackMetric.DeadLetterFailed, detail.client);
      logger.critical("deletion not forwarded and not kept: the dead-letter write failed", {
        userId: detail.userId,
        reason,
        deadLetterError: describeError(error),
      });
      throw new HttpRejection(500, JSON.stringify({ message: "the deletion could not be kept" }));
    }
  };

  const handle = async (
    event: CallbackEvent,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const receivedAt = now();
    const request = readHttpEvent(event);
    const route = parseCallbackPath(request.path);
    const client = route && (await authenticateCallback(route, config.clients, secrets));
    if (!client) {
      logger.warn("callback refused: unknown path, client or secret", {
        route: refusedRoute(
          route,
          config.clients.map((configured) => configured.name),
        ),
      });
      count(CallbackMetric.Unauthenticated);
      throw notFound();
    }
    logger.appendKeys({ client: client.name, route: maskedRoute(client.name) });

    let payload: UserSyncCallbackPayload;
    try {
      payload = readCallbackPayload(request);
    } catch (error) {
      if (error instanceof HttpRejection) {
        logger.warn("callback rejected", { statusCode: error.statusCode, reason: error.reason });
        count(CallbackMetric.Invalid, client.name);
      }
      throw error;
    }
    if (payload.event !== USER_DELETED_EVENT) {
      logger.info("callback event ignored: only DELETED is forwarded", {
        userId: payload.userId,
        event: payload.event.slice(0, MAX_LOGGED_EVENT_NAME),
      });
      count(CallbackMetric.IgnoredEvent, client.name);
      return accepted();
    }

    const detail: UserDeletedDetail = {
      userId: payload.userId,
      event: USER_DELETED_EVENT,
      client: client.name,
      receivedAt: receivedAt.toISOString(),
    };
    const decision = await forwardOnce(detail, context, publishDeadline(context));
    switch (decision.outcome) {
      case "forwarded":
        logger.info("deletion forwarded", { userId: detail.userId, eventId: decision.eventId });
        count(CallbackMetric.Forwarded, client.name);
        return accepted();
      case "forwarded-unrecorded":
        logger.warn("deletion forwarded, but its idempotency record was not completed", {
          userId: detail.userId,
          eventId: decision.eventId,
          problem: decision.problem,
        });
        count(CallbackMetric.Forwarded, client.name);
        return accepted();
      case "duplicate":
        logger.info("duplicate deletion not forwarded again", { userId: detail.userId });
        count(CallbackMetric.Duplicate, client.name);
        return accepted();
      case "dead-letter":
        count(CallbackMetric.ForwardFailed, client.name);
        if (!decision.recordReleased) {
          logger.warn("idempotency record not released; repeats wait for its in-progress expiry", {
            userId: detail.userId,
          });
        }
        await keepDeadLetter(detail, decision.reason);
        return accepted();
    }
  };

  return middy<CallbackEvent, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(httpHeaderNormalizer())
    .use(
      httpErrorHandler({
        fallbackMessage: JSON.stringify({ message: "internal error" }),
        logger: (error) => {
          if (!(error instanceof HttpRejection)) {
            logger.error("callback failed unexpectedly", { error: describeError(error) });
          }
        },
      }),
    )
    .handler(handle);
}
