import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { REPOSITORY_ROOT } from "../../../infra/constructs/observed-node-function.ts";
import { SYNTH_TIMEOUT_MS } from "../../support/timeouts.ts";
import {
  type DeployedClient,
  type DeploymentOptions,
  deployLocally,
  type LocalDeployment,
} from "./deployment.ts";
import { type SynthesizedStack, synthesizeStack } from "./synthesized-stack.ts";

export interface LocalDeploymentSuiteOptions extends DeploymentOptions {
  /** The CDK context fixture, relative to the repository. @default test/fixtures/reliability/context.json */
  readonly contextFile?: string;
}

export interface LocalDeploymentSuite {
  readonly deployment: LocalDeployment;
  /** The first client the stack configures. */
  readonly client: DeployedClient;
  /** The secrets of `deployment.secrets()` that any of its log lines holds: none, when all is well. */
  leakedSecrets(): string[];
}

/**
 * Registers what every reliability suite needs: the stack synthesized, deployed onto the local stand-ins
 * before the tests, and torn down after them. The fields are set once `beforeAll` has run.
 */
export function useLocalDeployment(options: LocalDeploymentSuiteOptions = {}): LocalDeploymentSuite {
  const { contextFile, ...deploymentOptions } = options;
  let stack: SynthesizedStack | undefined;
  const suite = {
    leakedSecrets: () =>
      suite.deployment
        .secrets()
        .filter((secret) => suite.deployment.lines.some((line) => line.includes(secret))),
  } as LocalDeploymentSuite & { deployment: LocalDeployment; client: DeployedClient };

  /* Synthesizing with both bundles takes over a minute on a busy two-core machine. */
  beforeAll(async () => {
    stack =
      contextFile === undefined
        ? synthesizeStack()
        : synthesizeStack(JSON.parse(readFileSync(join(REPOSITORY_ROOT, contextFile), "utf8")));
    suite.deployment = await deployLocally(stack, deploymentOptions);
    const [client] = suite.deployment.clients;
    if (!client) throw new Error("the stack configures no client");
    suite.client = client;
  }, SYNTH_TIMEOUT_MS);

  afterAll(async () => {
    await suite.deployment?.close();
    stack?.remove();
  });

  return suite;
}
