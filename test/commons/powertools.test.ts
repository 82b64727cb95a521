import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPowertools } from "../../functions/commons/powertools.ts";
import { METRICS_NAMESPACE } from "../../functions/contracts/metrics.ts";
import { type CapturedOutput, captureOutput } from "../support/output-capture.ts";

describe("createPowertools", () => {
  let output: CapturedOutput;
  beforeEach(() => {
    output = captureOutput();
  });
  afterEach(() => output.stop());

  /* What one log line and one flushed metric say about the service and the namespace. */
  function emitted(environment: Record<string, string>) {
    const { logger, metrics } = createPowertools("config-sync", environment);
    logger.info("probe");
    metrics.addMetric("Probe", MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    const [line] = output.logs();
    /* The EMF line itself: its service property and namespace. */
    const [metric] = output
      .lines()
      .filter((text) => text.includes('"_aws"'))
      .map(
        (text) =>
          JSON.parse(text) as { service?: string; _aws: { CloudWatchMetrics: { Namespace: string }[] } },
      );
    return {
      logService: line?.service,
      metricService: metric?.service,
      namespace: metric?._aws.CloudWatchMetrics[0]?.Namespace,
    };
  }

  it("names the function's service and the stack's namespace when no variable says otherwise", () => {
    expect(emitted({})).toEqual({
      logService: "config-sync",
      metricService: "config-sync",
      namespace: METRICS_NAMESPACE,
    });
  });

  it("honours POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE in the logger and the metrics alike", () => {
    expect(
      emitted({ POWERTOOLS_SERVICE_NAME: "config-sync-blue", POWERTOOLS_METRICS_NAMESPACE: "Staging" }),
    ).toEqual({ logService: "config-sync-blue", metricService: "config-sync-blue", namespace: "Staging" });
  });

  it("takes an empty variable for an unset one", () => {
    expect(emitted({ POWERTOOLS_SERVICE_NAME: "", POWERTOOLS_METRICS_NAMESPACE: "" })).toEqual({
      logService: "config-sync",
      metricService: "config-sync",
      namespace: METRICS_NAMESPACE,
    });
  });
});
