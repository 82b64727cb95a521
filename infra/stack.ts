import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { StackConfig } from "./config.ts";
import { CallbackIngress } from "./constructs/callback-ingress.ts";
import { ConfigSync } from "./constructs/config-sync.ts";
import { Monitoring, type WatchedFunction, type WatchedQueue } from "./constructs/monitoring.ts";
import { UserSyncCallback } from "./constructs/user-sync-callback.ts";

export interface FinapiConfigSyncStackProps extends StackProps {
  /** The validated CDK context (see config.ts). */
  readonly config: StackConfig;
}

/**
 * finAPI client configuration as code: config-sync keeps each client's configuration equal to its
 * document in Parameter Store; the optional hosted callback forwards finAPI's user deletions to an
 * EventBridge bus. Everything alarms to one topic and shows on one dashboard.
 */
export class FinapiConfigSyncStack extends Stack {
  readonly configSync: ConfigSync;
  readonly callback?: UserSyncCallback;
  /** How finAPI reaches the hosted callback (a Function URL, or API Gateway behind AWS WAF). */
  readonly callbackIngress?: CallbackIngress;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: FinapiConfigSyncStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.callback = config.hostCallback
      ? new UserSyncCallback(this, "UserSyncCallback", {
          clients: config.clients.map(({ name, userBase, environment }) => ({ name, userBase, environment })),
          reservedConcurrency: config.callbackReservedConcurrency,
          secretRotationOverlap: Duration.hours(config.callbackSecretRotationOverlapHours),
          fanOutWindowSeconds: config.callbackFanOutWindowSeconds,
          logRetention,
          logLevel: config.logLevel,
        })
      : undefined;
    this.callbackIngress =
      this.callback &&
      new CallbackIngress(this, "CallbackIngress", {
        handler: this.callback.handler.function,
        kind: config.callbackIngress,
        rateLimitPerFiveMinutes: config.callbackRateLimit,
        allowedCidrs: config.callbackAllowedCidrs,
        logRetention,
        // About what the reserved instances serve at 100 ms a request; more is answered 429 without invoking.
        throttlingRateLimit: config.callbackReservedConcurrency * 10,
      });
    const hostedCallback = this.callback &&
      this.callbackIngress && { baseUrl: this.callbackIngress.baseUrl, secrets: this.callback.secrets };

    this.configSync = new ConfigSync(this, "ConfigSync", {
      clients: config.clients,
      reconcileSchedule: config.reconcileSchedule,
      hostedCallback,
      logRetention,
      logLevel: config.logLevel,
    });

    const functions: WatchedFunction[] = [
      { label: "config-sync", function: this.configSync.handler.function },
    ];
    const queues: WatchedQueue[] = [
      {
        label: "config-sync-failed-invocations",
        queue: this.configSync.failedInvocations.queue,
        meaning:
          "a config-sync run failed after Lambda's retries. The message holds the event and the error; fix the cause, then invoke config-sync again (the next scheduled run also catches up).",
      },
      {
        label: "config-sync-undelivered-events",
        queue: this.configSync.undeliveredEvents.queue,
        meaning:
          "EventBridge could not invoke config-sync (permissions, throttling beyond the retry window). The next scheduled run catches up; check the function's resource policy.",
      },
    ];
    if (this.callback) {
      functions.push(
        { label: "user-sync-callback", function: this.callback.handler.function },
        { label: "deletion-publisher", function: this.callback.deletions.publisher.function },
      );
      queues.push({
        label: "user-deletions",
        queue: this.callback.deletions.deadLetters.queue,
        meaning:
          "a user deletion the callback could not queue, or the publisher could not put on the event bus in 5 tries. Fix the cause (the deletion-publisher log names each deletion), then move the messages back: aws sqs start-message-move-task --source-arn <this queue's ARN> --destination-arn <the deletion queue's ARN>. A deletion already on the bus is skipped, so the move is safe.",
      });
    }

    this.monitoring = new Monitoring(this, "Monitoring", {
      name: this.stackName,
      clients: config.clients,
      functions,
      queues,
      callbackFunction: this.callback?.handler.function,
      deletionPipeline: this.callback && {
        publisher: this.callback.deletions.publisher.function,
        queue: this.callback.deletions.queue,
      },
      unauthenticatedAlarmThreshold: config.unauthenticatedAlarmThreshold,
      alarmEmail: config.alarmEmail,
    });

    this.addOutputs(queues);
  }

  private addOutputs(queues: readonly WatchedQueue[]): void {
    if (this.callback && this.callbackIngress) {
      new CfnOutput(this, "CallbackBaseUrl", {
        description:
          "The hosted callback's base URL. A client's callback URL is <base>/user-sync/<client>/<secret>, the secret being the value of its CallbackSecret output; config-sync registers it with finAPI.",
        value: this.callbackIngress.baseUrl,
      });
      for (const [name, secret] of this.callback.secrets) {
        new CfnOutput(this, `CallbackSecret-${name}`, {
          description: `The Secrets Manager secret holding the path secret of client ${name}'s callback URL (the ARN, never the value)`,
          value: secret.secretArn,
        });
      }
      const { bus, queue } = this.callback.deletions;
      new CfnOutput(this, "EventBusName", {
        description:
          "The EventBridge bus carrying finAPI User Deleted events (source finapi.user-sync; only the deletion publisher may put them)",
        value: bus.eventBusName,
      });
      new CfnOutput(this, "EventBusArn", { value: bus.eventBusArn });
      new CfnOutput(this, "DeletionQueueUrl", {
        description:
          "The SQS FIFO queue between the callback and the deletion publisher: where a redrive from the user-deletions dead-letter queue goes",
        value: queue.queueUrl,
      });
      new CfnOutput(this, "DeletionQueueArn", { value: queue.queueArn });
      new CfnOutput(this, "DeletionDeadLetterQueueArn", {
        description: "The user-deletions dead-letter queue: the source of a redrive to the deletion queue",
        value: this.callback.deletions.deadLetters.queue.queueArn,
      });
    }
    for (const queue of queues) {
      new CfnOutput(this, `DeadLetterQueueUrl-${queue.label}`, {
        description: `Dead-letter queue: ${queue.meaning}`,
        value: queue.queue.queueUrl,
      });
    }
    new CfnOutput(this, "ConfigSyncFunctionName", {
      description:
        "config-sync's function name: invoke it by hand, or let `finapi-config plan --all --via-function` ask it for finAPI's side",
      value: this.configSync.handler.function.functionName,
    });
    new CfnOutput(this, "StatusTableName", {
      description: "The last sync outcome per client (finapi-config status reads it)",
      value: this.configSync.statusTable.tableName,
    });
    new CfnOutput(this, "AlarmTopicArn", {
      description: "Every alarm notifies this SNS topic",
      value: this.monitoring.topic.topicArn,
    });
    new CfnOutput(this, "DashboardUrl", { value: this.monitoring.dashboardUrl() });
  }
}
