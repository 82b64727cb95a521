import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { FinapiConfigSync } from "../../infra/constructs/finapi-config-sync.ts";

export interface PlatformStackProps extends StackProps {
  /** The event bus, in another account, that also receives live deletions. */
  readonly partnerBusArn: string;
}

/** A team's own stack: finapi-config-sync embedded, and two consumers of its live user deletions. */
export class PlatformStack extends Stack {
  readonly finapi: FinapiConfigSync;
  readonly liveDeletions: sqs.Queue;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);

    this.finapi = new FinapiConfigSync(this, "Finapi", {
      clients: [
        {
          name: "live",
          environment: "live",
          parameterName: "/finapi/live",
          credentialsSecretId: "finapi/live/credentials",
        },
      ],
      alarmEmail: "platform@example.com",
    });
    const bus = this.finapi.bus;
    if (!bus) throw new Error("the deletion bus exists only while the construct hosts the callback");

    // Only real deletions reach the bus; this rule takes those of the live user base(s).
    const liveUserDeleted = {
      source: ["finapi.user-sync"],
      detailType: ["finAPI User Deleted"],
      detail: { environment: ["live"] },
    };

    // Same account: a queue the team's deletion worker reads.
    this.liveDeletions = new sqs.Queue(this, "LiveDeletions", {
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    new events.Rule(this, "LiveDeletionsToQueue", {
      eventBus: bus,
      eventPattern: liveUserDeleted,
      targets: [new targets.SqsQueue(this.liveDeletions)],
    });

    // Another account: the rule stays on this bus and targets that account's bus (whose resource
    // policy must allow this account's events:PutEvents); rules there route the events further.
    new events.Rule(this, "LiveDeletionsToPartner", {
      eventBus: bus,
      eventPattern: liveUserDeleted,
      targets: [
        new targets.EventBus(events.EventBus.fromEventBusArn(this, "PartnerBus", props.partnerBusArn)),
      ],
    });
  }
}
