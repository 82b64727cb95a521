import { Duration, Stack } from "aws-cdk-lib";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import type { FinapiEnvironment } from "../../functions/finapi/schema.ts";
import {
  checkSettings,
  type FinapiClientMode,
  type FinapiConfigSyncSettings,
  type FinapiConfigSyncSettingsInput,
  type LogRetentionDays,
} from "../config.ts";
import { CallbackIngress, type CallbackIngressKind } from "./callback-ingress.ts";
import { ConfigSync } from "./config-sync.ts";
import { Monitoring, type WatchedFunction, type WatchedQueue } from "./monitoring.ts";
import { UserSyncCallback } from "./user-sync-callback.ts";

/** One finAPI client: the same fields as an entry of the app's `finapi:clients` context. */
export interface FinapiClientProps {
  /** 1 to 64 characters of a-z A-Z 0-9 - _: it appears in the callback URL path and in metric dimensions. */
  readonly name: string;
  readonly environment: FinapiEnvironment;
  /**
   * The finAPI user base the client's users live in, as it appears in every forwarded deletion; the
   * clients of one user base share one environment.
   * @default - the environment's name
   */
  readonly userBase?: string;
  /**
   * finAPI's base URL (https only); required for an alpha client.
   * @default - finAPI's published URL of the environment
   */
  readonly baseUrl?: string;
  /** The Parameter Store parameter holding the client's desired document. */
  readonly parameterName: string;
  /**
   * The client's desired document, a path relative to `documentsRoot`: validated at synth time and
   * written to the parameter by the deployment (a String parameter, so no parameterKeyArn).
   * @default - the parameter is written by someone else (a pipeline: `finapi-config push`)
   */
  readonly document?: string;
  /** The Secrets Manager secret (name or complete ARN) holding the client's finAPI credentials. */
  readonly credentialsSecretId: string;
  /**
   * `apply` makes finAPI match the document; `report-only` only reports the difference.
   * @default "apply"
   */
  readonly mode?: FinapiClientMode;
  /**
   * The customer managed KMS key of a SecureString parameter (a key ARN, not an alias).
   * @default - the parameter is a String, or uses the AWS managed key
   */
  readonly parameterKeyArn?: string;
  /**
   * The customer managed KMS key of the credentials secret (a key ARN, not an alias).
   * @default - the AWS managed key
   */
  readonly credentialsKeyArn?: string;
}

/**
 * The settings of finapi-config-sync, the same ones, with the same names, defaults and rules, as the
 * cdk.json app's `finapi:<setting>` context keys.
 *
 * Plain values rather than CDK types (a number of hours, not a Duration): one schema (infra/config.ts)
 * then checks both the context and these props at synth time, where a Duration could hold a token or
 * a unit those rules cannot see through.
 */
export interface FinapiConfigSyncProps {
  /** The finAPI clients config-sync keeps in sync (at least one, unique names and parameter names). */
  readonly clients: readonly FinapiClientProps[];
  /**
   * The directory the clients' `document` paths are relative to; a document outside it is refused.
   * @default - the working directory of the synth (where cdk.json is)
   */
  readonly documentsRoot?: string;
  /**
   * An EventBridge schedule expression for the reconcile run over all clients.
   * @default "rate(15 minutes)"
   */
  readonly reconcileSchedule?: string;
  /**
   * Whether to host finAPI's user-synchronization callback, its deletion pipeline and event bus.
   * @default true
   */
  readonly hostCallback?: boolean;
  /**
   * An e-mail address subscribed to the alarm topic.
   * @default - no subscription: subscribe to `alarmTopic` yourself
   */
  readonly alarmEmail?: string;
  /**
   * The most callback instances that may run at once (1 to 1000): a cap on what a flood can cost.
   * @default 10
   */
  readonly callbackReservedConcurrency?: number;
  /**
   * How long a rotated callback path secret's previous version is still accepted, in whole hours (at most 168).
   * @default 24
   */
  readonly callbackSecretRotationOverlapHours?: number;
  /**
   * How long finAPI's copies of one deletion through a user base's other clients count as that
   * deletion, in seconds (at least 60).
   * @default 3600
   */
  readonly callbackFanOutWindowSeconds?: number;
  /**
   * How finAPI reaches the callback: `function-url`, a public Lambda Function URL, or
   * `api-gateway-waf`, an API Gateway REST API behind an AWS WAF web ACL (per-source rate limit,
   * optional source allow-list).
   * @default "function-url"
   */
  readonly callbackIngress?: CallbackIngressKind;
  /**
   * `api-gateway-waf` only (an error otherwise): requests per source address per 5 minutes before the
   * web ACL blocks that address (10 to 2,000,000,000).
   * @default 1000 with api-gateway-waf
   */
  readonly callbackRateLimit?: number;
  /**
   * `api-gateway-waf` only (an error otherwise): the source CIDR blocks (IPv4 or IPv6) that may call
   * the callback at all, e.g. finAPI's addresses.
   * @default - any source (the rate limit still applies)
   */
  readonly callbackAllowedCidrs?: readonly string[];
  /**
   * Unauthenticated callback requests per 5 minutes that raise the guessing alarm.
   * @default 10
   */
  readonly unauthenticatedAlarmThreshold?: number;
  /**
   * How long the functions' logs are kept, in days (one of CloudWatch Logs' periods).
   * @default 30
   */
  readonly logRetentionDays?: LogRetentionDays;
  /**
   * The functions' log level.
   * @default "INFO"
   */
  readonly logLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR";
}

/** Props that break a rule: the message lists every problem, each naming the prop and the rule. */
export class FinapiConfigSyncPropsError extends Error {
  readonly problems: readonly string[];

  constructor(path: string, problems: readonly string[]) {
    super(
      `${path}: invalid FinapiConfigSync props:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    this.name = "FinapiConfigSyncPropsError";
    this.problems = problems;
  }
}

/**
 * finAPI client configuration as code, as one construct: config-sync keeps each client's
 * configuration equal to its document in Parameter Store; the optional hosted callback forwards
 * finAPI's user deletions to an EventBridge bus (`bus`) for the team's consumers. Everything alarms to
 * one topic and shows on one dashboard, both named after the stack (so one per stack).
 *
 * The props are checked before anything is created; a FinapiConfigSyncPropsError lists every problem.
 * No CfnOutput is added: the stack that holds the construct decides what it exports.
 */
export class FinapiConfigSync extends Construct {
  /** The checked props, defaults applied, each client's document loaded. */
  readonly settings: FinapiConfigSyncSettings;
  readonly configSync: ConfigSync;
  /** @default - undefined when hostCallback is false */
  readonly callback?: UserSyncCallback;
  /** How finAPI reaches the hosted callback. @default - undefined when hostCallback is false */
  readonly callbackIngress?: CallbackIngress;
  readonly monitoring: Monitoring;
  /**
   * The bus carrying finAPI User Deleted events (source `finapi.user-sync`): add consumer rules here.
   * Only the deletion publisher may put events on it.
   */
  readonly bus?: events.EventBus;
  /** The callback's base URL (of the active ingress): a client's callback URL is <base>/user-sync/<client>/<secret>. */
  readonly callbackBaseUrl?: string;
  /** The last sync outcome per client (`finapi-config status` reads it). */
  readonly statusTable: dynamodb.Table;
  /** config-sync: invoke it by hand, or let `finapi-config plan --all --via-function` ask it for finAPI's side. */
  readonly configSyncFunction: lambda.Function;
  /** Every alarm notifies this topic. */
  readonly alarmTopic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  /** The dead-letter queues, each with what its messages mean and what to do about them. */
  readonly deadLetterQueues: readonly WatchedQueue[];

  constructor(scope: Construct, id: string, props: FinapiConfigSyncProps) {
    super(scope, id);
    const { documentsRoot, ...settingsInput } = props;
    // The compiler holds the props to the schema's input; the schema holds the values to the rules.
    const checked = checkSettings(
      settingsInput satisfies FinapiConfigSyncSettingsInput,
      documentsRoot ?? process.cwd(),
    );
    if (!checked.ok) throw new FinapiConfigSyncPropsError(this.node.path, checked.problems);
    const settings = checked.settings;
    this.settings = settings;
    const logRetention = settings.logRetentionDays as logs.RetentionDays;

    this.callback = settings.hostCallback
      ? new UserSyncCallback(this, "UserSyncCallback", {
          clients: settings.clients.map(({ name, userBase, environment }) => ({
            name,
            userBase,
            environment,
          })),
          reservedConcurrency: settings.callbackReservedConcurrency,
          secretRotationOverlap: Duration.hours(settings.callbackSecretRotationOverlapHours),
          fanOutWindowSeconds: settings.callbackFanOutWindowSeconds,
          logRetention,
          logLevel: settings.logLevel,
        })
      : undefined;
    this.callbackIngress =
      this.callback &&
      new CallbackIngress(this, "CallbackIngress", {
        handler: this.callback.handler.function,
        kind: settings.callbackIngress,
        rateLimitPerFiveMinutes: settings.callbackRateLimit,
        allowedCidrs: settings.callbackAllowedCidrs,
        logRetention,
        // About what the reserved instances serve at 100 ms a request; more is answered 429 without invoking.
        throttlingRateLimit: settings.callbackReservedConcurrency * 10,
      });
    this.bus = this.callback?.deletions.bus;
    this.callbackBaseUrl = this.callbackIngress?.baseUrl;

    this.configSync = new ConfigSync(this, "ConfigSync", {
      clients: settings.clients,
      reconcileSchedule: settings.reconcileSchedule,
      hostedCallback: this.callback &&
        this.callbackIngress && {
          baseUrl: this.callbackIngress.baseUrl,
          secrets: this.callback.secrets,
          secretNames: this.callback.secretNames,
        },
      logRetention,
      logLevel: settings.logLevel,
    });
    this.statusTable = this.configSync.statusTable;
    this.configSyncFunction = this.configSync.handler.function;

    const functions: WatchedFunction[] = [{ label: "config-sync", function: this.configSyncFunction }];
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
    this.deadLetterQueues = queues;

    this.monitoring = new Monitoring(this, "Monitoring", {
      name: Stack.of(this).stackName,
      clients: settings.clients,
      functions,
      queues,
      callbackFunction: this.callback?.handler.function,
      deletionPipeline: this.callback && {
        publisher: this.callback.deletions.publisher.function,
        queue: this.callback.deletions.queue,
      },
      unauthenticatedAlarmThreshold: settings.unauthenticatedAlarmThreshold,
      alarmEmail: settings.alarmEmail,
    });
    this.alarmTopic = this.monitoring.topic;
    this.dashboard = this.monitoring.dashboard;
  }
}
