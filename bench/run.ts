import { join } from "node:path";
import { CONFIG_SYNC_TIMEOUT_MS } from "../functions/contracts/config-sync.ts";
import { REPOSITORY_ROOT } from "../infra/constructs/observed-node-function.ts";
import { deployLocally } from "../test/reliability/support/deployment.ts";
import { synthesizeStack } from "../test/reliability/support/synthesized-stack.ts";
import { BUDGETS } from "./budgets.ts";
import { type BundleSize, measureBundle } from "./bundle-size.ts";
import { measureCallbackThroughput, type Throughput } from "./callback-throughput.ts";
import { type ColdImportSamples, measureColdImports } from "./cold-import.ts";
import { writeGeneratedBlock } from "./generated-block.ts";
import { describeMachine, machineLine } from "./machine.ts";
import { measureReconcileScale, type ReconcileRun, type ReconcileScale } from "./reconcile-scaling.ts";
import { kilobytes, median, milliseconds } from "./stats.ts";
import { measureTemplateScaling, templateScalingSection } from "./template-scaling.ts";
import {
  callbackLatency,
  type InSyncReconcile,
  inSyncReconcileLatency,
  type LatencySamples,
} from "./warm-latency.ts";

/*
 * `npm run bench`: measures the synthesized bundles and the handlers against the local stand-ins, prints
 * the table with each figure against its budget, and writes it into BENCHMARKS.md. BENCH_QUICK=1 takes
 * fewer samples and smaller scales and only prints (for working on the benchmark itself).
 */

const QUICK = process.env.BENCH_QUICK === "1";
const FINAPI_LATENCY_MS = 50;
const SCALES = QUICK ? [1, 10, 100] : [1, 10, 100, 1_000];
const COLD_IMPORT_RUNS = QUICK ? 5 : 15;
const LATENCY_INVOCATIONS = QUICK ? 50 : 300;
const THROUGHPUT = QUICK
  ? [
      { concurrency: 1, requests: 100 },
      { concurrency: 16, requests: 300 },
    ]
  : [
      { concurrency: 1, requests: 500 },
      { concurrency: 16, requests: 2_000 },
    ];

type Verdict = "within budget" | "OVER BUDGET";
const verdict = (ok: boolean): Verdict => (ok ? "within budget" : "OVER BUDGET");

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const align = header.map((_, index) => (index === 0 ? "---" : "---:"));
  return [header, align, ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
}

const progress = (message: string) => console.error(`bench: ${message}`);

interface FunctionFigures {
  readonly name: string;
  readonly size: BundleSize;
  readonly coldImport: ColdImportSamples;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  progress("synthesizing the stack with its bundles");
  const stack = synthesizeStack();
  try {
    const deployment = await deployLocally(stack);
    const oneClient = await deployLocally(stack, { clientCount: 1 });
    let functions: FunctionFigures[];
    let reconcile: InSyncReconcile;
    let callback: LatencySamples;
    let throughput: Throughput[];
    try {
      progress(`cold imports: ${COLD_IMPORT_RUNS} fresh processes per module`);
      const bundles = {
        "config-sync": { bundle: stack.configSync.bundle, environment: deployment.configSyncEnvironment },
        "user-sync-callback": { bundle: stack.callback.bundle, environment: deployment.callbackEnvironment },
      };
      const imports = measureColdImports(bundles, COLD_IMPORT_RUNS);
      functions = Object.entries(bundles).map(([name, { bundle }]) => ({
        name,
        size: measureBundle(bundle),
        coldImport: imports[name] as ColdImportSamples,
      }));

      progress(`warm latency: ${LATENCY_INVOCATIONS} invocations each`);
      reconcile = await inSyncReconcileLatency(oneClient, LATENCY_INVOCATIONS);
      callback = await callbackLatency(deployment, LATENCY_INVOCATIONS);

      progress("callback throughput in one process limited to one core");
      throughput = [];
      for (const { concurrency, requests } of THROUGHPUT) {
        throughput.push(
          await measureCallbackThroughput(deployment, stack.callback.bundle, requests, concurrency),
        );
      }
    } finally {
      await Promise.all([deployment.close(), oneClient.close()]);
    }

    const scales: ReconcileScale[] = [];
    for (const clients of SCALES) {
      progress(`reconcile of ${clients} client(s) at ${FINAPI_LATENCY_MS} ms finAPI latency`);
      scales.push(await measureReconcileScale(stack, clients, FINAPI_LATENCY_MS));
    }

    const templateCounts = QUICK ? [1, 100] : [1, 100, 1_000];
    progress(`the stack's template with ${templateCounts.join(", ")} clients`);
    const templates = measureTemplateScaling(templateCounts);

    const report = [
      render({ machine: machineLine(machine), functions, reconcile, callback, throughput, scales }),
      templateScalingSection(templates),
    ].join("\n\n");
    console.log(report);
    if (QUICK) progress("BENCH_QUICK=1: BENCHMARKS.md was not written");
    else {
      writeGeneratedBlock(join(REPOSITORY_ROOT, "BENCHMARKS.md"), "benchmark", report);
      progress("BENCHMARKS.md updated");
    }
  } finally {
    stack.remove();
  }
}

interface Figures {
  readonly machine: string;
  readonly functions: readonly FunctionFigures[];
  readonly reconcile: InSyncReconcile;
  readonly callback: LatencySamples;
  readonly throughput: readonly Throughput[];
  readonly scales: readonly ReconcileScale[];
}

function render(figures: Figures): string {
  const { functions, reconcile, callback, throughput, scales } = figures;
  const overhead = (samples: ColdImportSamples) => median(samples.bundleMs) - median(samples.emptyMs);
  const hundred = scales.find((scale) => scale.clients === 100);
  const thousand = scales.find((scale) => scale.clients === 1_000);
  const overIdeal = (run: ReconcileRun) => `${(run.wallMs / run.idealMs).toFixed(2)}×`;
  const inSyncCalls = scales.map((scale) => {
    const run = scale.inSync;
    return run.tokenCallsPerClient + run.getCallsPerClient + run.patchCallsPerClient;
  });

  const budgetRows: string[][] = [
    ...functions.map((fn) => [
      `${fn.name} bundle as deployed (every file of the asset)`,
      `≤ ${kilobytes(BUDGETS.bundleBytes)}`,
      kilobytes(fn.size.assetBytes),
      verdict(fn.size.assetBytes <= BUDGETS.bundleBytes),
    ]),
    ...functions.map((fn) => [
      `${fn.name} cold import over an empty module (median)`,
      `≤ +${BUDGETS.coldImportOverheadMs} ms`,
      `+${milliseconds(overhead(fn.coldImport))}`,
      verdict(overhead(fn.coldImport) <= BUDGETS.coldImportOverheadMs),
    ]),
    [
      "finAPI calls per client, in-sync reconcile (warm, and at every scale)",
      `${BUDGETS.inSyncCallsPerClient}`,
      [reconcile.finapiCallsPerClient, ...inSyncCalls].map((calls) => calls.toFixed(2)).join(" / "),
      verdict(
        [reconcile.finapiCallsPerClient, ...inSyncCalls].every(
          (calls) => calls <= BUDGETS.inSyncCallsPerClient,
        ),
      ),
    ],
    ...(hundred
      ? [
          [
            `100 clients at ${FINAPI_LATENCY_MS} ms, in-sync reconcile`,
            `< ${BUDGETS.hundredClientsMs / 1000} s`,
            milliseconds(hundred.inSync.wallMs),
            verdict(hundred.inSync.wallMs < BUDGETS.hundredClientsMs),
          ],
          [
            `100 clients at ${FINAPI_LATENCY_MS} ms, first reconcile (token, GET, PATCH each)`,
            `< ${BUDGETS.hundredClientsMs / 1000} s`,
            milliseconds(hundred.applying.wallMs),
            verdict(hundred.applying.wallMs < BUDGETS.hundredClientsMs),
          ],
        ]
      : []),
    ...(thousand
      ? [
          ...(
            [
              ["in-sync reconcile", thousand.inSync],
              ["first reconcile (token, GET, PATCH each)", thousand.applying],
            ] as const
          ).map(([label, run]) => [
            `1,000 clients at ${FINAPI_LATENCY_MS} ms, ${label}: wall time ÷ ideal`,
            `≤ ${BUDGETS.thousandClientsOverIdeal.toFixed(2)}×`,
            `${overIdeal(run)} (${milliseconds(run.wallMs)} of a ${CONFIG_SYNC_TIMEOUT_MS / 1000} s timeout)`,
            verdict(run.wallMs / run.idealMs <= BUDGETS.thousandClientsOverIdeal),
          ]),
          [
            "Parameter Store calls per client, 1,000 clients, every document read (first run / afresh in sync)",
            `≤ ${BUDGETS.parameterReadsPerClient.toFixed(2)}`,
            [thousand.applying, thousand.inSyncReadingAfresh]
              .map((run) => run.ssmCallsPerClient.toFixed(2))
              .join(" / "),
            verdict(
              [thousand.applying, thousand.inSyncReadingAfresh].every(
                (run) => run.ssmCallsPerClient <= BUDGETS.parameterReadsPerClient,
              ),
            ),
          ],
        ]
      : []),
  ];

  const sizeRows = functions.map((fn) => [
    fn.name,
    kilobytes(fn.size.codeBytes),
    String(fn.size.assetFiles),
    kilobytes(fn.size.assetBytes),
    kilobytes(fn.size.compressedBytes),
  ]);
  const importRows = functions.map((fn) => [
    fn.name,
    milliseconds(median(fn.coldImport.bundleMs)),
    milliseconds(median(fn.coldImport.emptyMs)),
    `+${milliseconds(overhead(fn.coldImport))}`,
    String(fn.coldImport.bundleMs.length),
  ]);
  const latencyRows = [
    [
      "config-sync, in-sync reconcile of 1 client",
      milliseconds(reconcile.p50),
      milliseconds(reconcile.p99),
      String(reconcile.durationsMs.length),
    ],
    [
      "user-sync-callback, a new deletion forwarded",
      milliseconds(callback.p50),
      milliseconds(callback.p99),
      String(callback.durationsMs.length),
    ],
  ];
  const scaleRows = scales.flatMap((scale) =>
    (
      [
        ["first (token, GET, PATCH)", scale.applying],
        ["in sync (GET)", scale.inSync],
        ["in sync, every document read afresh (GET)", scale.inSyncReadingAfresh],
      ] as const
    ).map(([label, run]) => [
      String(scale.clients),
      label,
      milliseconds(run.wallMs),
      milliseconds(run.idealMs),
      overIdeal(run),
      run.tokenCallsPerClient.toFixed(2),
      run.getCallsPerClient.toFixed(2),
      run.patchCallsPerClient.toFixed(2),
      run.ssmCallsPerClient.toFixed(2),
    ]),
  );
  const throughputRows = throughput.map((run) => [
    run.concurrency === 1
      ? "1 (one request at a time, as one Lambda environment)"
      : `${run.concurrency} in parallel`,
    String(run.requests),
    `${run.perSecond.toFixed(0)}/s`,
    milliseconds(run.cpuMsPerRequest),
    `${(1000 / run.cpuMsPerRequest).toFixed(0)}/s`,
  ]);

  return [
    `Measured on ${figures.machine}.`,
    "### Budgets",
    table(["Budget", "Target", "Measured", "Verdict"], budgetRows),
    "### Bundles",
    table(["Lambda", "index.mjs", "Files in the asset", "Asset", "Asset deflated"], sizeRows),
    table(
      ["Cold import (median of fresh processes)", "Bundle", "Empty module", "Overhead", "Processes each"],
      importRows,
    ),
    "### Warm handler latency (the handler's own time, local stand-ins)",
    table(["Handler", "p50", "p99", "Invocations"], latencyRows),
    `### Reconcile cost as work grows (finAPI answering after ${FINAPI_LATENCY_MS} ms)`,
    table(
      [
        "Clients",
        "Run",
        "Wall time",
        "Ideal",
        "Wall ÷ ideal",
        "Tokens / client",
        "GETs / client",
        "PATCHes / client",
        "Parameter Store calls / client",
      ],
      scaleRows,
    ),
    "### Callback throughput on one core (local stand-ins)",
    table(
      ["Concurrency", "Requests", "Throughput", "CPU per request", "One core's ceiling (1 s ÷ CPU)"],
      throughputRows,
    ),
  ].join("\n\n");
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
