import { Duration, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import * as z from "zod";
import {
  CallbackMetric,
  CLIENT_DIMENSION,
  PublisherMetric,
  SyncMetric,
  stackMetricsNamespace,
} from "../../functions/contracts/metrics.ts";
import type { OutcomeName } from "../../functions/finapi/reconcile.ts";
import { clientNameSchema, type FinapiClientMode } from "../config.ts";
import { checkProps, duplicates, schemaProblems, wholeNumber } from "../construct-props.ts";
import { acknowledgeFinding } from "../nag.ts";

/** The metrics' period: alarms and dashboard look at 5-minute sums. */
const PERIOD = Duration.minutes(5);

/** A dead-letter queue on the dashboard and under an alarm. */
export interface WatchedQueue {
  /** Short, for alarm names and graph labels. */
  readonly label: string;
  readonly queue: sqs.IQueue;
  /** What its messages mean and what to do about them, for the alarm's description. */
  readonly meaning: string;
}

export interface WatchedFunction {
  readonly label: string;
  readonly function: lambda.IFunction;
}

/** The deletion queue and the publisher that empties it. */
export interface WatchedDeletionPipeline {
  readonly publisher: lambda.IFunction;
  readonly queue: sqs.IQueue;
}

export interface MonitoringProps {
  /** Prefixes every alarm name and names the dashboard: 1 to 128 characters of a-z A-Z 0-9 - _. */
  readonly name: string;
  /**
   * The clients config-sync manages, with their modes. The alarms and widgets cover every client through
   * the `client` dimension, so their number does not depend on this list; it decides only whether the
   * drift alarm exists (when a client is report-only, the only mode whose drift stays unfixed).
   */
  readonly clients: readonly { readonly name: string; readonly mode: FinapiClientMode }[];
  /** config-sync's log group, for the dashboard's Logs Insights breakdown of problem outcomes per client. */
  readonly syncLogGroup: logs.ILogGroup;
  readonly functions: readonly WatchedFunction[];
  readonly queues: readonly WatchedQueue[];
  /**
   * The hosted callback's function, for its throttling alarm and the callback metrics.
   * @default - the stack hosts no callback: no callback alarms or widgets
   */
  readonly callbackFunction?: lambda.IFunction;
  /**
   * The deletion publisher and its queue, for their dashboard widgets (their dead-letter queue and the
   * publisher's errors are alarmed through `queues` and `functions`).
   * @default - the stack hosts no callback: no deletion widgets
   */
  readonly deletionPipeline?: WatchedDeletionPipeline;
  /** Unauthenticated callback requests per 5 minutes (at least 1) at which someone is probably guessing. */
  readonly unauthenticatedAlarmThreshold: number;
  /**
   * Subscribed to the alarm topic.
   * @default - no subscription: subscribe to the topic (output AlarmTopicArn) yourself
   */
  readonly alarmEmail?: string;
}

const labelled = z.string({ error: "must be a string" }).min(1, "must not be empty");

const propsSchema = z.object({
  name: z
    .string({ error: "must be a string" })
    .refine((name) => Token.isUnresolved(name) || /^[A-Za-z0-9_-]{1,128}$/.test(name), {
      message:
        "must be 1 to 128 characters of a-z A-Z 0-9 - _, like a stack name (it names the dashboard and prefixes alarm names)",
    }),
  clients: z.array(
    z.object({
      name: clientNameSchema,
      mode: z.enum(["apply", "report-only"], { error: 'must be "apply" or "report-only"' }),
    }),
    { error: "must be an array of clients" },
  ),
  functions: z.array(
    z.object({ label: labelled, function: z.object({}, { error: "must be a Lambda function" }) }),
    {
      error: "must be an array of functions",
    },
  ),
  queues: z.array(
    z.object({ label: labelled, queue: z.object({}, { error: "must be an SQS queue" }), meaning: labelled }),
    { error: "must be an array of queues" },
  ),
  syncLogGroup: z.object({}, { error: "must be a log group" }),
  unauthenticatedAlarmThreshold: wholeNumber(1),
  alarmEmail: z.email({ error: "must be an e-mail address" }).optional(),
});

/* Names and labels become construct ids and alarm names: each must be unique, reported with any other problem. */
function uniquenessProblems(props: MonitoringProps): string[] {
  const labels = (prop: "clients" | "functions" | "queues", key: "name" | "label") => {
    const items: unknown = props[prop];
    if (!Array.isArray(items)) return [];
    return duplicates(items.map((item) => String(item?.[key]))).map(
      (value) => `${prop}: ${key} "${value}" is used more than once`,
    );
  };
  return [...labels("clients", "name"), ...labels("functions", "label"), ...labels("queues", "label")];
}

interface AlarmSpec {
  readonly metric: cloudwatch.IMetric;
  readonly description: string;
  /** @default 1 */
  readonly threshold?: number;
}

type SyncMetricName = (typeof SyncMetric)[keyof typeof SyncMetric];

/**
 * The metrics the alarms and the dashboard watch, in the stack's own namespace (stackMetricsNamespace),
 * so that two stacks in one account never alarm on each other's clients.
 *
 * config-sync counts each outcome with exactly the dimensions client and service (Powertools adds the
 * service to every metric it emits), so the sync alarms and widgets are Metrics Insights queries over
 * that schema: one query covers every client, present and future, at a constant number of resources.
 */
function watchedMetrics(namespace: string) {
  const syncSchema = `SCHEMA("${namespace}", ${CLIENT_DIMENSION}, service) WHERE service = 'config-sync'`;
  const serviceMetric = (service: string) => (metricName: string) =>
    new cloudwatch.Metric({
      namespace,
      metricName,
      dimensionsMap: { service },
      statistic: cloudwatch.Stats.SUM,
      period: PERIOD,
    });
  return {
    /** One time series per client that had the outcome: the 5-minute sums, the largest first. */
    perClientSync: (metricName: SyncMetricName, limit?: number) =>
      new cloudwatch.MathExpression({
        expression: `SELECT SUM(${metricName}) FROM ${syncSchema} GROUP BY ${CLIENT_DIMENSION} ORDER BY SUM() DESC${limit === undefined ? "" : ` LIMIT ${limit}`}`,
        period: PERIOD,
      }),
    allClientsSync: (metricName: SyncMetricName) =>
      new cloudwatch.MathExpression({
        expression: `SELECT SUM(${metricName}) FROM ${syncSchema}`,
        period: PERIOD,
        label: metricName.replace(/^Sync/, ""),
      }),
    callback: serviceMetric("user-sync-callback"),
    publisher: serviceMetric("deletion-publisher"),
  };
}

/** Clients the per-client widgets show: the ones with the most such outcomes. */
const WIDGET_CLIENTS = 20;

/** A sync outcome someone has to act on, alarmed per client and graphed per client. */
interface SyncProblem {
  /** The alarm's id and name suffix. */
  readonly id: string;
  readonly metricName: SyncMetricName;
  /** The value of the config-sync log's `outcome` field. */
  readonly outcome: OutcomeName;
  readonly widgetTitle: string;
  readonly problem: string;
  readonly remedy: string;
  /** Only report-only clients have it (apply mode fixes drift): watched only when one exists. */
  readonly needsReportOnlyClient?: boolean;
}

const SYNC_PROBLEMS: readonly SyncProblem[] = [
  {
    id: "SyncInvalid",
    metricName: SyncMetric.Invalid,
    outcome: "invalid",
    widgetTitle: "Sync invalid, by client",
    problem: "A finAPI client's document is invalid, so nothing was applied to that client.",
    remedy:
      "The config-sync log lists every violation; fix the document (finapi-config validate) and write it again.",
  },
  {
    id: "SyncRejected",
    metricName: SyncMetric.Rejected,
    outcome: "rejected",
    widgetTitle: "Sync rejected, by client",
    problem: "finAPI rejected a client's configuration (a 4xx such as an invalid callback URL).",
    remedy: "The config-sync log has finAPI's message and request id.",
  },
  {
    id: "SyncFailed",
    metricName: SyncMetric.Failed,
    outcome: "failed",
    widgetTitle: "Sync failed, by client",
    problem: "Syncing a finAPI client failed (finAPI or AWS unreachable, or credentials unreadable).",
    remedy: "Lambda retries; see the config-sync log.",
  },
  {
    id: "Drift",
    metricName: SyncMetric.DriftReported,
    outcome: "drift-reported",
    widgetTitle: "Drift reported, by client (report-only clients)",
    problem: "A report-only finAPI client differs from its document.",
    remedy: "The config-sync log shows the difference; apply it or change the document.",
    needsReportOnlyClient: true,
  },
];

const PROBLEM_LOG_WIDGET_TITLE = "config-sync: clients with problem outcomes (Logs Insights)";

/**
 * One SNS topic for every alarm (dead-letter queues, sync outcomes that need a human, callback
 * failures and guessing, function errors) and a dashboard with sync outcomes over all clients and per
 * client, drift, callback volume, the deletion publisher and its queue, and the dead-letter queues.
 * Per-client alarms and widgets are Metrics Insights queries grouped by client: their number does not
 * grow with the clients.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly props: MonitoringProps;
  private readonly syncProblems: readonly SyncProblem[];
  private readonly metrics: ReturnType<typeof watchedMetrics>;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    checkProps("Monitoring", scope, id, [
      ...schemaProblems(propsSchema, props),
      ...uniquenessProblems(props),
    ]);
    super(scope, id);
    this.props = props;
    this.metrics = watchedMetrics(stackMetricsNamespace(Stack.of(this).stackName));

    this.topic = new sns.Topic(this, "AlarmTopic", {
      displayName: `${props.name} alarms`,
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      const subscription = new sns.Subscription(this, "AlarmEmail", {
        topic: this.topic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: props.alarmEmail,
      });
      acknowledgeFinding(
        subscription,
        "Serverless-SNSRedrivePolicy",
        "An e-mail notification that cannot be delivered has no one to be redriven to; the alarm's state stays visible in CloudWatch and on the dashboard.",
      );
    }

    for (const queue of props.queues) {
      this.addAlarm(`DeadLetters-${queue.label}`, {
        metric: queue.queue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: PERIOD,
        }),
        description: `A message is waiting in the ${queue.label} dead-letter queue: ${queue.meaning}`,
      });
    }

    const hasReportOnlyClient = props.clients.some((client) => client.mode === "report-only");
    this.syncProblems = SYNC_PROBLEMS.filter(
      (problem) => hasReportOnlyClient || !problem.needsReportOnlyClient,
    );
    for (const problem of this.syncProblems) {
      const alarmName = `${props.name}-${problem.id}`;
      this.addAlarm(problem.id, {
        metric: this.metrics.perClientSync(problem.metricName),
        description: [
          problem.problem,
          problem.remedy,
          "One alarm covers every client: each client is a contributor with its own state, and each notification names it (contributor attribute client).",
          `Which clients: aws cloudwatch describe-alarm-contributors --alarm-name ${alarmName}; dashboard ${props.name}, widgets "${problem.widgetTitle}" and "${PROBLEM_LOG_WIDGET_TITLE}" (outcome = ${problem.outcome}).`,
        ].join(" "),
      });
    }

    if (props.callbackFunction) {
      this.addAlarm("CallbackForwardFailed", {
        metric: this.metrics.callback(CallbackMetric.ForwardFailed),
        description:
          "A user deletion could not be handed to the deletion queue; it was written to the deletions dead-letter queue instead. See the user-sync-callback log.",
      });
      this.addAlarm("CallbackDeadLetterFailed", {
        metric: this.metrics.callback(CallbackMetric.DeadLetterFailed),
        description:
          "A user deletion could be neither forwarded nor dead-lettered: it is only in the user-sync-callback log, which has the user id. Forward it by hand.",
      });
      this.addAlarm("CallbackSecretUnusable", {
        metric: this.metrics.callback(CallbackMetric.SecretUnusable),
        description:
          "A client's callback secret could not be used (access denied, not found, marked for deletion, not decryptable, malformed, or Secrets Manager unreachable with no kept digests): that client's deliveries were answered 404 and are lost. The user-sync-callback log names the client and the error.",
      });
      this.addAlarm("CallbackUnauthenticated", {
        metric: this.metrics.callback(CallbackMetric.Unauthenticated),
        threshold: props.unauthenticatedAlarmThreshold,
        description: `At least ${props.unauthenticatedAlarmThreshold} callback requests in 5 minutes had a wrong or missing secret: someone may be guessing, or finAPI holds an outdated URL.`,
      });
      this.addAlarm("CallbackThrottled", {
        metric: props.callbackFunction.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: PERIOD }),
        description:
          "The callback hit its reserved concurrency and refused requests; finAPI never retries, so those deletions were lost. Raise finapi:callbackReservedConcurrency.",
      });
    }

    for (const watched of props.functions) {
      this.addAlarm(`Errors-${watched.label}`, {
        metric: watched.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period: PERIOD }),
        description: `The ${watched.label} function failed (an uncaught error or a timeout). See its log group.`,
      });
    }

    this.dashboard = this.buildDashboard();
  }

  private addAlarm(id: string, spec: AlarmSpec): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${this.props.name}-${id}`,
      alarmDescription: spec.description,
      metric: spec.metric,
      threshold: spec.threshold ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }

  private buildDashboard(): cloudwatch.Dashboard {
    const { queues, functions, callbackFunction, deletionPipeline } = this.props;
    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: this.props.name,
      defaultInterval: Duration.days(1),
    });

    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24, height: 4 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Sync outcomes, all clients",
        stacked: true,
        width: 12,
        left: Object.values(SyncMetric).map((metricName) => this.metrics.allClientsSync(metricName)),
      }),
      new cloudwatch.LogQueryWidget({
        title: PROBLEM_LOG_WIDGET_TITLE,
        width: 12,
        logGroupNames: [this.props.syncLogGroup.logGroupName],
        /* config-sync logs invalid, rejected and failed outcomes as errors, reported drift as a warning (not a dry run's). */
        queryLines: [
          'filter message = "reconcile outcome" and level in ["WARN", "ERROR"]',
          "stats count(*) as runs, latest(reason) as lastReason, max(@timestamp) as last by client, mode, outcome",
          "sort last desc",
          "limit 1000",
        ],
      }),
    );
    dashboard.addWidgets(
      ...this.syncProblems.map(
        (problem) =>
          new cloudwatch.GraphWidget({
            title: problem.widgetTitle,
            width: 12,
            /* No label of our own: CloudWatch then labels each series with its client. */
            left: [this.metrics.perClientSync(problem.metricName, WIDGET_CLIENTS).with({ label: "" })],
          }),
      ),
      new cloudwatch.GraphWidget({
        title: "Dead-letter queues: messages waiting",
        width: 12,
        left: queues.map((queue) =>
          queue.queue.metricApproximateNumberOfMessagesVisible({
            statistic: cloudwatch.Stats.MAXIMUM,
            period: PERIOD,
            label: queue.label,
          }),
        ),
      }),
    );
    if (callbackFunction) {
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: "Callback volume",
          stacked: true,
          width: 12,
          left: Object.values(CallbackMetric).map((metricName) =>
            this.metrics.callback(metricName).with({ label: metricName.replace(/^Callback/, "") }),
          ),
        }),
        new cloudwatch.GraphWidget({
          title: "Callback invocations and throttles",
          width: 12,
          left: [
            callbackFunction.metricInvocations({ statistic: cloudwatch.Stats.SUM, period: PERIOD }),
            callbackFunction.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: PERIOD }),
          ],
        }),
      );
    }
    if (deletionPipeline) {
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: "Deletion publisher: messages taken from the deletion queue",
          stacked: true,
          width: 12,
          left: Object.values(PublisherMetric).map((metricName) =>
            this.metrics.publisher(metricName).with({ label: metricName }),
          ),
        }),
        new cloudwatch.GraphWidget({
          title: "Deletion queue: backlog and oldest message (s)",
          width: 12,
          left: [
            deletionPipeline.queue.metricApproximateNumberOfMessagesVisible({
              statistic: cloudwatch.Stats.MAXIMUM,
              period: PERIOD,
              label: "waiting",
            }),
          ],
          right: [
            deletionPipeline.queue.metricApproximateAgeOfOldestMessage({
              statistic: cloudwatch.Stats.MAXIMUM,
              period: PERIOD,
              label: "oldest message age",
            }),
          ],
        }),
      );
    }
    dashboard.addWidgets(
      ...functions.map(
        (watched) =>
          new cloudwatch.GraphWidget({
            title: `${watched.label}: errors and duration`,
            width: 12,
            left: [watched.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period: PERIOD })],
            right: [watched.function.metricDuration({ statistic: cloudwatch.Stats.p(99), period: PERIOD })],
          }),
      ),
    );
    return dashboard;
  }

  /** The dashboard's address in the CloudWatch console. */
  dashboardUrl(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
