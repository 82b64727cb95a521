import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { StackConfig } from "./config.ts";
import type { CallbackIngress } from "./constructs/callback-ingress.ts";
import type { ConfigSync } from "./constructs/config-sync.ts";
import { FinapiConfigSync } from "./constructs/finapi-config-sync.ts";
import type { Monitoring, WatchedQueue } from "./constructs/monitoring.ts";
import { REPOSITORY_ROOT } from "./constructs/observed-node-function.ts";
import type { UserSyncCallback } from "./constructs/user-sync-callback.ts";

export interface FinapiConfigSyncStackProps extends StackProps {
  /** The validated CDK context (see config.ts). */
  readonly config: StackConfig;
  /**
   * The directory the context's document paths are relative to (buildApp parses the context with it).
   * @default - the repository root
   */
  readonly documentsRoot?: string;
}

/**
 * The cdk.json app's stack: one FinapiConfigSync built from the CDK context, and the outputs an
 * operator and the CLI need. The construct's id "Default" keeps it out of the logical ids, so the
 * resources keep the ids they had when the stack built them itself (no replacement on upgrade).
 */
export class FinapiConfigSyncStack extends Stack {
  readonly finapiConfigSync: FinapiConfigSync;
  readonly configSync: ConfigSync;
  readonly callback?: UserSyncCallback;
  /** How finAPI reaches the hosted callback (a Function URL, or API Gateway behind AWS WAF). */
  readonly callbackIngress?: CallbackIngress;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: FinapiConfigSyncStackProps) {
    super(scope, id, props);
    const { stackName: _, clients, ...settings } = props.config;
    this.finapiConfigSync = new FinapiConfigSync(this, "Default", {
      ...settings,
      // The construct loads each document itself, from the path the context gave.
      clients: clients.map(({ ownedDocument: _, ...client }) => client),
      documentsRoot: props.documentsRoot ?? REPOSITORY_ROOT,
    });
    this.configSync = this.finapiConfigSync.configSync;
    this.callback = this.finapiConfigSync.callback;
    this.callbackIngress = this.finapiConfigSync.callbackIngress;
    this.monitoring = this.finapiConfigSync.monitoring;
    this.addOutputs(this.finapiConfigSync.deadLetterQueues);
  }

  private addOutputs(queues: readonly WatchedQueue[]): void {
    if (this.callback && this.callbackIngress) {
      new CfnOutput(this, "CallbackBaseUrl", {
        description:
          "The hosted callback's base URL. A client's callback URL is <base>/user-sync/<client>/<secret>, the secret derived from the CallbackRootSecret and the client's callbackSecretGeneration; config-sync registers it with finAPI.",
        value: this.callbackIngress.baseUrl,
      });
      new CfnOutput(this, "CallbackRootSecret", {
        description:
          "The Secrets Manager secret every client's callback path secret is derived from (the ARN, never the value): put a new value to rotate every callback URL",
        value: this.callback.rootSecret.secretArn,
      });
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
