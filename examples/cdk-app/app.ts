import { App } from "aws-cdk-lib";
import { PlatformStack } from "./platform-stack.ts";

// Your own CDK app (`npx cdk synth --app "node examples/cdk-app/app.ts"`): no cdk.json context needed.
new PlatformStack(new App(), "Platform", {
  env: { account: "111122223333", region: "eu-central-1" },
  partnerBusArn: "arn:aws:events:eu-central-1:444455556666:event-bus/finapi-deletions",
});
