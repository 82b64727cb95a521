import { randomUUID } from "node:crypto";
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
import { describeError } from "../commons/errors.ts";
import { CallbackMetric, CLIENT_DIMENSION } from "../contracts/metrics.ts";
import type { UserDeletedDetail } from "../contracts/user-deletion.ts";
import { USER_DELETED_EVENT, type UserSyncCallbackPayload } from "../finapi/user.ts";
import { authenticateCallback } from "./authenticate.ts";
import type { CallbackConfig } from "./config.ts";
import type { DeletionStore, Registration } from "./deletion-store.ts";
import { type Delivery, detailOf, startGeneration } from "./generation.ts";
import type { DeadLetterSender, DeletionQueueSender } from "./queue.ts";
import { HttpRejection, notFound, readCallbackPayload, readHttpEvent } from "./request.ts";
import { maskedRoute, parseCallbackPath, refusedRoute } from "./route.ts";
import type { CallbackSecretSource } from "./secret-source.ts";

export interface CallbackDependencies {
  readonly config: CallbackConfig;
  readonly secrets: CallbackSecretSource;
  readonly deletions: DeletionStore;
  readonly sendToDeletionQueue: DeletionQueueSender;
  readonly sendToDeadLetterQueue: DeadLetterSender;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => Date;
}

/** A Function URL request (payload 2.0) or an API Gateway REST API proxy request (payload 1.0). */
export type CallbackEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;

type CallbackMetricName = (typeof CallbackMetric)[keyof typeof CallbackMetric];

const MAX_LOGGED_EVENT_NAME = 64;

/* Left of the invocation, when the hand-off is given up, for writing the dead letter. */
const DEAD_LETTER_RESERVE_MS = 4_000;

function handOffDeadline(context: Context): AbortSignal | undefined {
  if (typeof context.getRemainingTimeInMillis !== "function") return undefined;
  const budgetMs = context.getRemainingTimeInMillis() - DEAD_LETTER_RESERVE_MS;
  return budgetMs > 0
    ? AbortSignal.timeout(budgetMs)
    : AbortSignal.abort(new DOMException("no time left to hand the deletion off", "AbortError"));
}

const accepted = (): APIGatewayProxyStructuredResultV2 => ({ statusCode: 202 });

/**
 * The user-sync-callback as a middy handler: authenticate the path, validate the request, tell a new
 * deletion from finAPI's copy of the current one through another client (the deletions table), and
 * answer 202 only once the deletion's message is in the deletion queue or the dead-letter queue.
 * Every outcome is logged and counted; the request path (it holds the secret) and the event are never
 * logged.
 */
export function createCallbackHandler(dependencies: CallbackDependencies) {
  const { config, secrets, deletions, sendToDeletionQueue, sendToDeadLetterQueue, logger, metrics } =
    dependencies;
  const now = dependencies.now ?? (() => new Date());
  const clientsOfUserBase = (userBase: string) =>
    config.clients.filter((client) => client.userBase === userBase).map((client) => client.name);

  /* Each count is emitted per client and, as a second dimension set, service-wide: alarms watch the total. */
  const count = (name: CallbackMetricName, client?: string) => {
    const metric = metrics.singleMetric();
    if (client !== undefined) metric.addDimension(CLIENT_DIMENSION, client).addDimensions({});
    metric.addMetric(name, MetricUnit.Count, 1);
  };

  const keepDeadLetter = async (detail: UserDeletedDetail, reason: string, client: string) => {
    try {
      await sendToDeadLetterQueue({ ...detail, reason });
      logger.error("deletion not forwarded; kept in the dead-letter queue", {
        userId: detail.userId,
        deletionId: detail.deletionId,
        reason,
      });
    } catch (error) {
      count(CallbackMetric.DeadLetterFailed, client);
      logger.critical("deletion not forwarded and not kept: the dead-letter write failed", {
        userId: detail.userId,
        deletionId: detail.deletionId,
        reason,
        deadLetterError: describeError(error),
      });
      throw new HttpRejection(500, JSON.stringify({ message: "the deletion could not be kept" }));
    }
  };

  /*
   * A table that cannot say whether the delivery is new cannot prove it a duplicate: it is handed off
   * as a new deletion, since a rare second event is better than a lost deletion.
   */
  const register = async (delivery: Delivery, deadline: AbortSignal | undefined) => {
    try {
      return await deletions.register(delivery, clientsOfUserBase(delivery.userBase), deadline);
    } catch (error) {
      count(CallbackMetric.DeletionStoreFailed, delivery.client);
      logger.warn(
        "deletions table failed; handing the delivery off as a new deletion, which may be a duplicate",
        {
          userId: delivery.userId,
          error: describeError(error),
        },
      );
      return undefined;
    }
  };

  const markEnqueued = async (registration: Registration) => {
    try {
      await deletions.markEnqueued(registration.generation);
    } catch (error) {
      /* Only costs a later copy of this deletion a send that the queue or the publisher drops. */
      logger.warn("deletion enqueued, but the deletions table did not record it", {
        userId: registration.generation.userId,
        deletionId: registration.generation.deletionId,
        error: describeError(error),
      });
    }
  };

  const handle = async (
    event: CallbackEvent,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const receivedAt = now();
    const request = readHttpEvent(event);
    const route = parseCallbackPath(request.path);
    const authentication = route
      ? await authenticateCallback(route, config.clients, secrets)
      : ({ outcome: "refused" } as const);
    if (authentication.outcome === "secret-unusable" && authentication.verdict.reason === "outage") {
      /* Nothing was learnt about the caller: finAPI is told to try again, not that the URL is wrong. */
      logger.error("callback not authenticated: Secrets Manager and the kept digests both failed", {
        client: authentication.client.name,
        errorName: authentication.verdict.errorName,
      });
      throw new HttpRejection(503, JSON.stringify({ message: "try again later" }), { "Retry-After": "10" });
    }
    if (authentication.outcome === "secret-unusable") {
      const { client, verdict } = authentication;
      logger.error("callback refused: the client's secret is not usable", {
        client: client.name,
        reason: verdict.reason,
        errorName: verdict.errorName,
      });
      count(CallbackMetric.SecretUnusable, client.name);
      throw notFound();
    }
    if (authentication.outcome !== "authenticated") {
      logger.warn("callback refused: unknown path, client or secret", {
        route: refusedRoute(
          route,
          config.clients.map((configured) => configured.name),
        ),
      });
      count(CallbackMetric.Unauthenticated);
      throw notFound();
    }
    const { client } = authentication;
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

    const delivery: Delivery = {
      userBase: client.userBase,
      environment: client.environment,
      userId: payload.userId,
      event: USER_DELETED_EVENT,
      client: client.name,
      at: receivedAt.getTime(),
    };
    logger.appendKeys({ userBase: client.userBase });
    const deadline = handOffDeadline(context);
    const registration = await register(delivery, deadline);
    if (registration?.kind === "duplicate" && registration.generation.enqueued) {
      logger.info("duplicate deletion not forwarded again", {
        userId: delivery.userId,
        deletionId: registration.generation.deletionId,
      });
      count(CallbackMetric.Duplicate, client.name);
      return accepted();
    }

    /* A duplicate whose deletion is not known to be enqueued sends the same message: the queue keeps one. */
    const detail = detailOf(registration?.generation ?? startGeneration(delivery, randomUUID()));
    try {
      await sendToDeletionQueue(detail, deadline);
    } catch (error) {
      count(CallbackMetric.ForwardFailed, client.name);
      await keepDeadLetter(
        detail,
        `the deletion queue did not take it: ${describeError(error)}`,
        client.name,
      );
      return accepted();
    }
    if (registration) await markEnqueued(registration);
    if (registration?.kind === "duplicate") {
      logger.info("duplicate deletion not forwarded again", {
        userId: detail.userId,
        deletionId: detail.deletionId,
        handedOffAgain: true,
      });
      count(CallbackMetric.Duplicate, client.name);
    } else {
      logger.info("deletion forwarded", {
        userId: detail.userId,
        deletionId: detail.deletionId,
        ...(registration ? { why: registration.reason } : { unrecorded: true }),
      });
      count(CallbackMetric.Forwarded, client.name);
    }
    return accepted();
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
