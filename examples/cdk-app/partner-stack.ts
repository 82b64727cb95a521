import { Stack, type StackProps } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

export interface PartnerStackProps extends StackProps {
  /** The account that runs finapi-config-sync (PlatformStack) and forwards live deletions here. */
  readonly sourceAccount: string;
}

/** The receiving account: a bus that admits the platform account's deletions, and a consumer of them. */
export class PartnerStack extends Stack {
  readonly bus: events.EventBus;
  readonly deletions: sqs.Queue;

  constructor(scope: Construct, id: string, props: PartnerStackProps) {
    super(scope, id, props);

    this.bus = new events.EventBus(this, "FinapiDeletions", { eventBusName: "finapi-deletions" });
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "FinapiDeletionsFromPlatform",
        principals: [new iam.AccountPrincipal(props.sourceAccount)],
        actions: ["events:PutEvents"],
        resources: [this.bus.eventBusArn],
      }),
    );

    // The forwarded events keep their source and detail-type: the same pattern matches here.
    this.deletions = new sqs.Queue(this, "Deletions", { enforceSSL: true });
    new events.Rule(this, "DeletionsToQueue", {
      eventBus: this.bus,
      eventPattern: { source: ["finapi.user-sync"], detailType: ["finAPI User Deleted"] },
      targets: [new targets.SqsQueue(this.deletions)],
    });
  }
}
