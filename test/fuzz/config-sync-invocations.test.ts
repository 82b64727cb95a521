import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConfigSyncDependencies,
  configSyncResponseSchema,
  createConfigSyncHandler,
} from "../../functions/config-sync/app.ts";
import type { ConfiguredClient } from "../../functions/config-sync/config.ts";
import type { FinapiClientCache } from "../../functions/config-sync/finapi-clients.ts";
import { METRICS_NAMESPACE } from "../../functions/contracts/metrics.ts";
import { clientConfigurationSchema } from "../../functions/finapi/api-types.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import { event, lambdaContext, parameterChange } from "../config-sync/support.ts";
import { recordSection } from "../reliability/support/report.ts";
import { type CapturedOutput, captureOutput } from "../support/output-capture.ts";
import { fuzzParameters, fuzzRuns, fuzzTimeoutMs } from "./settings.ts";

const DEFAULT_RUNS = 2_000;
const RUNS = fuzzRuns(DEFAULT_RUNS);
const CLIENT_SECRET = "fuzz-client-secret-Zq71Lr0Xw4";

const CLIENTS: ConfiguredClient[] = ["acme", "globex"].map((name) => ({
  name,
  environment: "sandbox",
  baseUrl: "https://finapi.invalid",
  parameterName: `/finapi/${name}`,
  credentialsSecretId: `finapi/${name}/credentials`,
  mode: "apply",
}));

const currentConfiguration = clientConfigurationSchema.parse(
  JSON.parse(
    readFileSync(join(REPOSITORY_ROOT, "test/fixtures/finapi/client-configuration-response.json"), "utf8"),
  ),
);

/** The three inputs config-sync accepts, each valid as it stands (the last two of them ignored). */
const VALID_INPUTS: readonly Record<string, unknown>[] = [
  event("parameter-update") as Record<string, unknown>,
  event("scheduled") as Record<string, unknown>,
  parameterChange("/finapi/unmanaged") as Record<string, unknown>,
  parameterChange("/finapi/acme", "Delete") as Record<string, unknown>,
  { client: "acme", dryRun: true },
  { client: "globex" },
  {},
];

type Path = readonly string[];

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) => [
    [...prefix, key],
    ...pathsOf(inner, [...prefix, key]),
  ]);
}

function withChange(value: Record<string, unknown>, path: Path, change: { set: unknown } | "remove") {
  const copy = structuredClone(value);
  let parent: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  const last = path.at(-1) as string;
  if (change === "remove") delete parent[last];
  else parent[last] = change.set;
  return copy;
}

/** An input and whether it is one of the valid ones untouched (the only ones that must not be rejected). */
const inputArbitrary: fc.Arbitrary<{ input: unknown; valid: boolean }> = fc.oneof(
  fc.constantFrom(...VALID_INPUTS).map((input) => ({ input, valid: true })),
  fc.constantFrom(...VALID_INPUTS.filter((input) => Object.keys(input).length > 0)).chain((input) =>
    fc
      .tuple(fc.constantFrom(...pathsOf(input)), fc.option(fc.jsonValue(), { nil: undefined }))
      .map(([path, value]) => ({
        input: withChange(input, path, value === undefined ? "remove" : { set: value }),
        valid: false,
      })),
  ),
  fc
    .tuple(fc.constantFrom(...VALID_INPUTS), fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue())
    .filter(([, key]) => key !== "__proto__")
    .map(([input, key, value]) => ({ input: { ...input, [key]: value }, valid: false })),
  fc.jsonValue().map((input) => ({ input, valid: false })),
);

describe("config-sync's handler under random inputs", () => {
  let output: CapturedOutput;
  const touched: string[] = [];
  const outcomes = new Map<string, number>();

  const finapiClients: FinapiClientCache = {
    clientFor: () => ({
      getClientConfiguration: async () => {
        touched.push("finAPI GET");
        return { body: currentConfiguration, requestId: "fuzz-get" };
      },
      patchClientConfiguration: async (params) => {
        touched.push("finAPI PATCH");
        return { body: { ...currentConfiguration, ...params }, requestId: "fuzz-patch" };
      },
    }),
  };
  const dependencies: ConfigSyncDependencies = {
    config: {
      clients: CLIENTS,
      callbackBaseUrl: undefined,
      statusTableName: "status",
      secretsCacheTtlSeconds: 300,
      parameterCacheTtlSeconds: 60,
    },
    parameters: {
      reader: () => ({
        read: async (name) => {
          touched.push(`Parameter Store ${name}`);
          return {
            snapshot: { value: JSON.stringify({ refreshTokensValidityPeriod: 7200 }), version: 1 },
            cached: false,
          };
        },
      }),
    },
    secrets: {
      read: async (secretId) => {
        touched.push(`Secrets Manager ${secretId}`);
        return JSON.stringify({ clientId: "fuzz-client", clientSecret: CLIENT_SECRET });
      },
      batches: () => ({ fetched: async () => {} }),
    },
    finapiClients,
    statusStore: {
      record: async (statuses) => {
        touched.push("status table");
        return statuses.map(() => "stored");
      },
    },
    logger: new Logger({ serviceName: "config-sync" }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "config-sync" }),
  };
  const handler = createConfigSyncHandler(dependencies);

  beforeAll(() => {
    output = captureOutput();
  });

  afterAll(() => {
    output.stop();
    recordSection("config-sync-fuzz", {
      kind: "table",
      header: [`config-sync handler, ${RUNS} random inputs`, "Inputs"],
      rows: [...outcomes].sort().map(([outcome, count]) => [outcome, String(count)]),
    });
  });

  it(
    `answers ${RUNS} random inputs without throwing, refusing malformed ones before any call`,
    async () => {
      await fc.assert(
        fc.asyncProperty(inputArbitrary, async ({ input, valid }) => {
          touched.length = 0;
          const response = configSyncResponseSchema.parse(await handler(input, lambdaContext()));
          const outcome =
            response.rejected !== undefined
              ? "rejected"
              : response.ignored !== undefined
                ? "ignored"
                : "reconciled";
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);

          if (valid) expect(response.rejected).toBeUndefined();
          if (outcome !== "reconciled") {
            expect(touched).toEqual([]);
            expect(response.results).toEqual([]);
            expect((response.rejected ?? response.ignored ?? "").length).toBeGreaterThan(0);
          }
          for (const result of response.results) {
            expect(CLIENTS.map((client) => client.name)).toContain(result.client);
          }
        }),
        fuzzParameters(DEFAULT_RUNS),
      );

      for (const outcome of ["rejected", "ignored", "reconciled"])
        expect(outcomes.get(outcome) ?? 0).toBeGreaterThan(0);
      expect(output.all().length).toBeGreaterThan(RUNS);
      expect(output.all().filter((line) => line.includes(CLIENT_SECRET))).toEqual([]);
    },
    fuzzTimeoutMs(RUNS, 5),
  );
});
