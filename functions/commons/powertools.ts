import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE } from "../contracts/metrics.ts";

/** The Powertools utilities every Lambda of the stack logs and counts with. */
export interface Powertools {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Logger and Metrics built one way for all three Lambdas (the shape of Powertools' example app,
 * `functions/commons/powertools`). Powertools prefers an option to its environment variable, so a
 * default is passed only where the variable is unset: POWERTOOLS_SERVICE_NAME (else the function's
 * name) and POWERTOOLS_METRICS_NAMESPACE (else METRICS_NAMESPACE). The Logger reads its level itself
 * (AWS_LAMBDA_LOG_LEVEL, POWERTOOLS_LOG_LEVEL, LOG_LEVEL), and Metrics POWERTOOLS_METRICS_DISABLED.
 */
export function createPowertools(
  defaultServiceName: string,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Powertools {
  const serviceName = environment.POWERTOOLS_SERVICE_NAME || defaultServiceName;
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({
      serviceName,
      namespace: environment.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
    }),
  };
}
