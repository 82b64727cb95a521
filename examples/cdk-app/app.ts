import { App } from "aws-cdk-lib";
import { PartnerStack } from "./partner-stack.ts";
import { PlatformStack } from "./platform-stack.ts";

// Your own CDK app (`npx cdk synth --app "node examples/cdk-app/app.ts"`): no finapi:* context needed.
const app = new App();
new PartnerStack(app, "Partner", {
  env: { account: "444455556666", region: "eu-central-1" },
  sourceAccount: "111122223333",
});
new PlatformStack(app, "Platform", {
  env: { account: "111122223333", region: "eu-central-1" },
  partnerBusArn: "arn:aws:events:eu-central-1:444455556666:event-bus/finapi-deletions",
});
