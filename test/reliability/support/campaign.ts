import type { InvokeResult } from "../../../local/lambda-runtime.ts";
import type { DeployedClient, DesiredDocument, LocalDeployment } from "./deployment.ts";
import { MANAGED_FIELDS } from "./deployment.ts";
import type { FaultProxy } from "./fault-proxy.ts";
import {
  arm,
  dynamoDbUnavailable,
  eventBridgeFailure,
  eventBridgeOutage,
  type FaultPlan,
  finapiFault,
  secretsThrottling,
  ssmThrottling,
  stallForTimeout,
} from "./faults.ts";
import type { SeededRandom } from "./seeded-random.ts";

/** What a campaign came to: the figures RELIABILITY.md reports. */
export interface CampaignFigures {
  readonly seed: number;
  readonly lanes: number;
  readonly durationMs: number;
  readonly runs: { total: number; callback: number; configSync: number };
  /** Faults that actually hit a call (armed faults nobody called into are not counted), by class. */
  readonly faults: { total: number; byClass: Record<string, number> };
  readonly deletions: {
    /** Deletions finAPI sent, each to every client of the user base (three callback URLs). */
    sent: number;
    /** …of which of a user id deleted before: the user re-created and deleted again seconds later. */
    reDeletions: number;
    deliveries: number;
    /** Deletions at least one delivery of which was answered 2xx. */
    accepted: number;
    /** Deliveries answered with anything but 202. */
    refusedDeliveries: number;
    /** Under one deletion id, on the bus exactly once or (not on the bus) in the dead-letter queue. */
    forwardedOnce: number;
    forwardedDirectly: number;
    /** Not on the bus but in the dead-letter queue: the redrive publishes it. */
    keptForRedrive: number;
    /**
     * A deletion id both on the bus and in the dead-letter queue: one copy's hand-off to the deletion
     * queue failed and another's succeeded. A redrive skips it by its published mark.
     */
    forwardedAndDeadLettered: number;
    /** …without a copy the callback kept in the dead-letter queue. Must be 0. */
    forwardedAndDeadLetteredUnexplained: number;
    deadLetterMessages: number;
    /** Accepted, yet neither on the bus nor in the dead-letter queue. Must be 0. */
    lost: number;
    /** Put on the bus more than once, or under more than one deletion id (each cause below). */
    duplicated: number;
    /** Extra events of one deletion id: the publisher put it on the bus and did not write its published mark. */
    duplicatedByPublishedMarkWindow: number;
    /** Extra deletion ids: the deletions table failed and a delivery was handed off as a new deletion. */
    duplicatedByDeletionsTableFailure: number;
    /** Extra events or ids that no documented window explains. Must be 0. */
    duplicatedUnexplained: number;
  };
  readonly configurations: {
    runs: number;
    invocations: number;
    /** Invocations Lambda's asynchronous retries repeated after a failure or a timeout. */
    lambdaRetries: number;
    /** Invocations stopped mid-run by their timeout (the environment destroyed). */
    timedOut: number;
    /** Events whose three attempts all failed (Lambda's on-failure destination would hold them). */
    failedAfterRetries: number;
    patches: number;
    /** PATCHes that carried a value other than the latest document's. Must be 0. */
    stalePatches: number;
    /** Runs after which finAPI and the status table matched the latest documents once the faults cleared… */
    converged: number;
    /** …of which without help: the run's own invocations and retries were enough. */
    convergedByTheRun: number;
    /** …of which only after the next scheduled reconcile. */
    convergedBySchedule: number;
    /** Not matching after two scheduled reconciles with the faults cleared. Must be 0. */
    notConverged: number;
  };
}

export interface Lane {
  readonly index: number;
  readonly deployment: LocalDeployment;
  readonly random: SeededRandom;
  readonly documents: Map<string, DesiredDocument>;
  readonly versions: Map<string, number>;
  /** Clients whose callback secret an environment of the lane has read, so that its digests are kept. */
  readonly authenticated: Set<string>;
  /** Deletion ids the lane's runs have seen already, so that each run counts only its own deletion. */
  readonly seenDeletionIds: Set<string>;
  /** User ids whose last deletion every client delivered with 202: the campaign deletes them again. */
  readonly deletedUsers: string[];
}

type MutableFigures = {
  -readonly [K in keyof CampaignFigures]: CampaignFigures[K];
};

export const SCHEDULED_EVENT = {
  version: "0",
  id: "reliability-schedule",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "000000000000",
  time: "2026-11-21T10:00:00Z",
  region: "eu-central-1",
  resources: ["arn:aws:events:eu-central-1:000000000000:rule/reconcile"],
  detail: {},
};

/*
 * How a run cut short by its timeout ends: middy stops the handler 5 ms before the deadline with a
 * TimeoutError (the environment lives on, the abandoned run continues in the background), or, when the
 * handler cannot return in time, the environment is destroyed (Sandbox.Timedout).
 */
const TIMEOUT_ERRORS: readonly string[] = ["TimeoutError", "Sandbox.Timedout"];

/** Lambda retries a failed asynchronous invocation twice. */
const ASYNC_ATTEMPTS = 3;
const SCHEDULE_RUNS_AFTER_CLEARING = 2;

export function emptyFigures(seed: number, lanes: number): MutableFigures {
  return {
    seed,
    lanes,
    durationMs: 0,
    runs: { total: 0, callback: 0, configSync: 0 },
    faults: { total: 0, byClass: {} },
    deletions: {
      sent: 0,
      reDeletions: 0,
      deliveries: 0,
      accepted: 0,
      refusedDeliveries: 0,
      forwardedOnce: 0,
      forwardedDirectly: 0,
      keptForRedrive: 0,
      forwardedAndDeadLettered: 0,
      forwardedAndDeadLetteredUnexplained: 0,
      deadLetterMessages: 0,
      lost: 0,
      duplicated: 0,
      duplicatedByPublishedMarkWindow: 0,
      duplicatedByDeletionsTableFailure: 0,
      duplicatedUnexplained: 0,
    },
    configurations: {
      runs: 0,
      invocations: 0,
      lambdaRetries: 0,
      timedOut: 0,
      failedAfterRetries: 0,
      patches: 0,
      stalePatches: 0,
      converged: 0,
      convergedByTheRun: 0,
      convergedBySchedule: 0,
      notConverged: 0,
    },
  };
}

function countFault(figures: MutableFigures, label: string): void {
  figures.faults.total += 1;
  figures.faults.byClass[label] = (figures.faults.byClass[label] ?? 0) + 1;
}

function allProxies(deployment: LocalDeployment): FaultProxy[] {
  return Object.values(deployment.faults);
}

/** Disarms every fault not served yet ("the outage is over") and counts those that were served. */
function clearFaults(
  deployment: LocalDeployment,
  firedBefore: Map<FaultProxy, number>,
  figures: MutableFigures,
) {
  for (const proxy of allProxies(deployment)) {
    proxy.clear();
    for (const fired of proxy.fired.slice(firedBefore.get(proxy) ?? 0)) countFault(figures, fired.label);
  }
}

/** The faults served since `firedBefore`, for a failure message: `DynamoDB unavailable (hang PutItem), …`. */
function firedSince(deployment: LocalDeployment, firedBefore: Map<FaultProxy, number>): string {
  const fired = allProxies(deployment).flatMap((proxy) => proxy.fired.slice(firedBefore.get(proxy) ?? 0));
  if (fired.length === 0) return "none";
  return fired
    .map(
      (fault) =>
        `${fault.label} (${fault.kind} ${fault.request.operation ?? `${fault.request.method} ${fault.request.path}`})`,
    )
    .join(", ");
}

function firedSoFar(deployment: LocalDeployment): Map<FaultProxy, number> {
  return new Map(allProxies(deployment).map((proxy) => [proxy, proxy.fired.length]));
}

const VALIDITY_PERIODS = [0, 60, 900, 3600, 86_400, 2_147_483_647] as const;

/** A valid desired-state document: some fields managed, URLs set or cleared, periods 0 or 60..2^31-1. */
function randomDocument(random: SeededRandom, lane: number): DesiredDocument {
  const document: DesiredDocument = {};
  if (random.chance(0.7)) {
    document.userNotificationCallbackUrl = random.chance(0.15)
      ? ""
      : `https://hooks.example.com/lane-${lane}/notify/${random.int(1, 1_000_000)}`;
  }
  if (random.chance(0.1)) {
    document.userSynchronizationCallbackUrl = `https://sync.example.com/lane-${lane}/${random.int(1, 1_000_000)}`;
  }
  for (const field of [
    "refreshTokensValidityPeriod",
    "userAccessTokensValidityPeriod",
    "clientAccessTokensValidityPeriod",
  ] as const) {
    if (random.chance(0.6)) {
      document[field] = random.chance(0.3) ? random.int(60, 2_147_483_647) : random.pick(VALIDITY_PERIODS);
    }
  }
  return document;
}

function putDocument(lane: Lane, client: DeployedClient, document: DesiredDocument): unknown {
  const version = lane.deployment.ssm.putParameter(client.parameterName, JSON.stringify(document));
  lane.documents.set(client.name, document);
  lane.versions.set(client.name, version);
  return lane.deployment.ssm.changes.at(-1);
}

/** An asynchronous invocation as Lambda runs it: on a failure or a timeout, up to two retries. */
async function invokeAsync(
  lane: Lane,
  event: unknown,
  firstTimeoutMs: number | undefined,
  figures: MutableFigures,
): Promise<void> {
  for (let attempt = 1; attempt <= ASYNC_ATTEMPTS; attempt++) {
    const result: InvokeResult = await lane.deployment.configSync.invoke(
      event,
      attempt === 1 && firstTimeoutMs !== undefined ? { timeoutMs: firstTimeoutMs } : {},
    );
    figures.configurations.invocations += 1;
    if (attempt > 1) figures.configurations.lambdaRetries += 1;
    if (!result.ok && TIMEOUT_ERRORS.includes(result.errorType)) {
      figures.configurations.timedOut += 1;
      countFault(figures, "Lambda timeout mid-run");
    } else if (!result.ok && attempt === 1 && firstTimeoutMs !== undefined) {
      /*
       * The short deadline served all the same: config-sync saw it and started no call that could not
       * finish in time ("out of time"), which on an idle machine happens before Lambda's timeout does.
       */
      countFault(figures, "Lambda timeout mid-run");
    }
    if (result.ok) return;
  }
  figures.configurations.failedAfterRetries += 1;
}

async function laneConverged(lane: Lane): Promise<boolean> {
  const { deployment } = lane;
  for (const client of deployment.clients) {
    const document = lane.documents.get(client.name);
    if (document === undefined) continue;
    if (!deployment.converged(client, deployment.desiredConfiguration(client, document))) return false;
    const status = await deployment.statusOf(client);
    if (status?.outcome !== "in-sync" && status?.outcome !== "applied") return false;
    if (status.parameterVersion !== lane.versions.get(client.name)) return false;
  }
  return true;
}

/** PATCHes that finAPI received since `since` and that carried a value other than the latest document's. */
function stalePatches(lane: Lane, since: number): { patches: number; stale: string[] } {
  const { deployment } = lane;
  const patches = deployment.finapi.requests.slice(since).filter((request) => request.method === "PATCH");
  const stale: string[] = [];
  for (const patch of patches) {
    const client = deployment.clients.find((candidate) => candidate.clientId === patch.clientId);
    const document = client && lane.documents.get(client.name);
    if (!client || !document) continue;
    const desired = deployment.desiredConfiguration(client, document);
    const body = JSON.parse(patch.body) as Record<string, unknown>;
    for (const field of MANAGED_FIELDS) {
      if (field in body && body[field] !== desired[field]) stale.push(`${client.name}.${field}`);
    }
  }
  return { patches: patches.length, stale };
}

type ConfigSyncAction = "change" | "duplicate-event" | "reordered-events" | "drift" | "in-sync";

/**
 * One config-sync run: a document change (its event delivered once, twice, or after a newer one's),
 * finAPI drifting, or nothing at all; faults armed; the events invoked as Lambda runs them (retries,
 * timeouts); then the faults cleared and the lane checked, with at most two scheduled reconciles to help.
 */
async function configSyncRun(lane: Lane, figures: MutableFigures): Promise<string[]> {
  const { deployment, random } = lane;
  const problems: string[] = [];
  const client = random.pick(deployment.clients);
  const action: ConfigSyncAction = random.weighted([
    ["change", 5],
    ["duplicate-event", 1],
    ["reordered-events", 1],
    ["drift", 2],
    ["in-sync", 2],
  ]);
  if (random.chance(0.15)) await deployment.configSync.recycle();
  const requestsBefore = deployment.finapi.requests.length;
  const firedBefore = firedSoFar(deployment);

  let events: unknown[];
  switch (action) {
    case "change":
      events = [putDocument(lane, client, randomDocument(random, lane.index))];
      break;
    case "duplicate-event": {
      const event = putDocument(lane, client, randomDocument(random, lane.index));
      events = [event, event];
      break;
    }
    case "reordered-events": {
      const older = putDocument(lane, client, randomDocument(random, lane.index));
      const newer = putDocument(lane, client, randomDocument(random, lane.index));
      events = [newer, older];
      break;
    }
    case "drift":
      deployment.finapi.drift(client.clientId, {
        userNotificationCallbackUrl: `https://drifted.example.com/${random.int(1, 1_000_000)}`,
        refreshTokensValidityPeriod: random.int(60, 100_000),
      });
      countFault(figures, "finAPI configuration drifted");
      events = [SCHEDULED_EVENT];
      break;
    case "in-sync":
      events = [SCHEDULED_EVENT];
      break;
  }

  const proxies = deployment.faults;
  const plans: FaultPlan[] = [];
  for (let count = random.int(0, 3); count > 0; count--) {
    const kind = random.weighted([
      ["finapi", 5],
      ["ssm", 1],
      ["secrets", 1],
      ["dynamodb", 1],
      ["token-expired", 1],
    ] as const);
    if (kind === "token-expired") {
      deployment.finapi.expireTokens();
      countFault(figures, "finAPI token revoked");
      continue;
    }
    plans.push(
      kind === "finapi"
        ? finapiFault(random, proxies)
        : kind === "ssm"
          ? ssmThrottling(random, proxies)
          : kind === "secrets"
            ? secretsThrottling(random, proxies, 3)
            : dynamoDbUnavailable(random, proxies),
    );
  }
  const interrupted = random.chance(0.1);
  if (interrupted) plans.push(stallForTimeout(random, proxies));
  for (const plan of plans) arm(plan);

  for (const [index, event] of events.entries()) {
    const firstTimeoutMs = interrupted && index === 0 ? random.int(5, 200) : undefined;
    await invokeAsync(lane, event, firstTimeoutMs, figures);
  }
  clearFaults(deployment, firedBefore, figures);

  let converged = await laneConverged(lane);
  const byTheRun = converged;
  for (let schedule = 0; !converged && schedule < SCHEDULE_RUNS_AFTER_CLEARING; schedule++) {
    const result = await deployment.configSync.invoke(SCHEDULED_EVENT);
    figures.configurations.invocations += 1;
    if (!result.ok)
      problems.push(`a scheduled reconcile failed with the faults cleared: ${result.errorMessage}`);
    converged = await laneConverged(lane);
  }
  figures.configurations.runs += 1;
  if (converged) {
    figures.configurations.converged += 1;
    if (byTheRun) figures.configurations.convergedByTheRun += 1;
    else figures.configurations.convergedBySchedule += 1;
  } else {
    figures.configurations.notConverged += 1;
    problems.push(`lane ${lane.index} did not converge after ${action} of ${client.name}`);
  }

  const audit = stalePatches(lane, requestsBefore);
  figures.configurations.patches += audit.patches;
  figures.configurations.stalePatches += audit.stale.length;
  if (audit.stale.length > 0) problems.push(`stale PATCH of ${audit.stale.join(", ")} after ${action}`);
  return problems.map((problem) => `${problem} [faults: ${firedSince(deployment, firedBefore)}]`);
}

const deletionBody = (userId: string) => JSON.stringify({ userId, event: "DELETED" });

/* What the functions log in the two documented windows that may repeat a deletion (RELIABILITY.md, "The deletion pipeline"). */
const MARK_NOT_WRITTEN = "deletion published, but its published mark was not written";
const TABLE_FAILED = "deletions table failed; handing the delivery off as a new deletion";
const KEPT_BY_THE_CALLBACK = "deletion not forwarded; kept in the dead-letter queue";

/**
 * One deletion as finAPI sends it: once to every client of the user base (all of the lane's clients),
 * at once or one after another; in a quarter of the runs of a user id deleted before (re-created and
 * deleted again). DynamoDB, EventBridge (briefly or for longer than the deletion queue's receives) or,
 * on cold environments, Secrets Manager fail while the callback and the publisher run. Then the
 * queue is settled and the deletion ids this run produced are looked up on the bus and in the
 * dead-letter queue.
 */
async function callbackRun(lane: Lane, figures: MutableFigures, runIndex: number): Promise<string[]> {
  const { deployment, random } = lane;
  const problems: string[] = [];
  const reDeletion = lane.deletedUsers.length > 0 && random.chance(0.25);
  const userId = reDeletion ? random.pick(lane.deletedUsers) : `user-${lane.index}-${runIndex}`;
  const clients = random.shuffle(deployment.clients);
  const together = random.chance(0.6);
  const cold = random.chance(0.15);
  if (cold) await deployment.callback.recycle();
  const firedBefore = firedSoFar(deployment);
  const linesBefore = deployment.lines.length;

  /*
   * A cold environment that cannot read Secrets Manager authenticates with the digests an earlier
   * environment kept; before any was kept it answers 500 (see RELIABILITY.md), so only bursts the SDK's
   * attempts absorb are armed then. Otherwise an outage: up to 12 failures, more than the 6 attempts
   * (two version stages, three attempts each) of a delivery.
   */
  const digestsKept = clients.every((client) => lane.authenticated.has(client.name));
  const proxies = deployment.faults;
  const kinds = Array.from({ length: random.int(0, 2) }, () =>
    random.weighted([
      ["dynamodb", 3],
      ["eventbridge", 3],
      ["eventbridge-outage", 1],
      ["secrets", cold ? 1 : 0],
    ] as const),
  );
  /*
   * The kept digests live in DynamoDB: with DynamoDB failing too, a cold environment has neither, so
   * only a burst the SDK absorbs is armed then (both down at once is not modelled: see RELIABILITY.md, "Known gaps").
   */
  const digestsReachable = digestsKept && !kinds.includes("dynamodb");
  for (const kind of kinds) {
    arm(
      kind === "dynamodb"
        ? dynamoDbUnavailable(random, proxies)
        : kind === "eventbridge"
          ? eventBridgeFailure(random, proxies)
          : kind === "eventbridge-outage"
            ? eventBridgeOutage(proxies)
            : secretsThrottling(random, proxies, digestsReachable ? 12 : 2),
    );
  }

  const deliver = (client: DeployedClient) =>
    deployment.callback.invoke(deployment.callbackEvent(client, deletionBody(userId)));
  const results: InvokeResult[] = together
    ? await Promise.all(clients.map(deliver))
    : await clients.reduce<Promise<InvokeResult[]>>(
        async (done, client) => [...(await done), await deliver(client)],
        Promise.resolve([]),
      );
  /* The publisher meets the faults still armed; then the outage is over and whatever returned is retried. */
  const settled = await deployment.settleQueues().then(
    () => undefined,
    (error: unknown) => String(error),
  );
  clearFaults(deployment, firedBefore, figures);
  const settledAfterClearing = await deployment.settleQueues().then(
    () => undefined,
    (error: unknown) => String(error),
  );
  if (settled !== undefined) problems.push(`${userId}: with the faults armed: ${settled}`);
  if (settledAfterClearing !== undefined) problems.push(`${userId}: after clearing: ${settledAfterClearing}`);
  clients.forEach((client, index) => {
    const result = results[index];
    if (result?.ok && (result.payload as { statusCode?: number }).statusCode === 202) {
      lane.authenticated.add(client.name);
    }
  });

  const statuses = results.map((result) =>
    result.ok ? Number((result.payload as { statusCode?: number }).statusCode) : 502,
  );
  const ofThisRun = (detail: Record<string, unknown>) =>
    detail.userId === userId && !lane.seenDeletionIds.has(String(detail.deletionId));
  const onBus = (await deployment.forwarded()).filter(ofThisRun).map((detail) => String(detail.deletionId));
  const deadLettered = (await deployment.deadLetters())
    .filter(ofThisRun)
    .map((message) => String(message.deletionId));
  const ids = new Set([...onBus, ...deadLettered]);
  const accepted = statuses.some((status) => status >= 200 && status < 300);
  const lines = deployment.lines.slice(linesBefore);
  const logged = (text: string, about: string) =>
    lines.some((line) => line.includes(text) && line.includes(about));

  const deletions = figures.deletions;
  deletions.sent += 1;
  if (reDeletion) deletions.reDeletions += 1;
  deletions.deliveries += clients.length;
  deletions.refusedDeliveries += statuses.filter((status) => status !== 202).length;
  deletions.deadLetterMessages += deadLettered.length;
  if (accepted) deletions.accepted += 1;
  if (ids.size === 1 && onBus.length === 1) deletions.forwardedDirectly += 1;
  if (ids.size === 1 && onBus.length === 0) deletions.keptForRedrive += 1;
  if (ids.size === 1 && onBus.length <= 1) deletions.forwardedOnce += 1;
  const inBoth = [...ids].filter((id) => onBus.includes(id) && deadLettered.includes(id));
  if (inBoth.length > 0) {
    deletions.forwardedAndDeadLettered += 1;
    /* Documented: one copy's hand-off to the deletion queue failed (kept in the DLQ), another copy's succeeded. */
    if (!logged(KEPT_BY_THE_CALLBACK, userId)) {
      deletions.forwardedAndDeadLetteredUnexplained += 1;
      problems.push(`${userId}: deletion ${inBoth.join(", ")} is on the bus and in the dead-letter queue`);
    }
  }

  let duplicated = false;
  for (const id of ids) {
    const repeats = onBus.filter((each) => each === id).length - 1;
    if (repeats <= 0) continue;
    duplicated = true;
    if (logged(MARK_NOT_WRITTEN, id)) deletions.duplicatedByPublishedMarkWindow += repeats;
    else {
      deletions.duplicatedUnexplained += repeats;
      problems.push(
        `${userId}: deletion ${id} is on the bus ${repeats + 1} times, its published mark written`,
      );
    }
  }
  if (ids.size > 1) {
    duplicated = true;
    if (logged(TABLE_FAILED, userId)) deletions.duplicatedByDeletionsTableFailure += ids.size - 1;
    else {
      deletions.duplicatedUnexplained += ids.size - 1;
      problems.push(
        `${userId}: one deletion went out under ${ids.size} ids, the deletions table never failed`,
      );
    }
  }
  if (duplicated) deletions.duplicated += 1;
  if (accepted && ids.size === 0) {
    deletions.lost += 1;
    problems.push(`${userId} was accepted (${statuses.join(", ")}) but neither forwarded nor dead-lettered`);
  }
  if (statuses.some((status) => status !== 202)) {
    problems.push(`${userId}: deliveries answered ${statuses.join(", ")}`);
  }

  for (const id of ids) lane.seenDeletionIds.add(id);
  if (!reDeletion && statuses.every((status) => status === 202)) lane.deletedUsers.push(userId);
  return problems.map((problem) => `${problem} [faults: ${firedSince(deployment, firedBefore)}]`);
}

/** Puts a document for every client of the lane and reconciles once, so that runs start from a converged lane. */
export async function prepareLane(lane: Lane): Promise<void> {
  for (const client of lane.deployment.clients) {
    putDocument(lane, client, randomDocument(lane.random, lane.index));
  }
  const result = await lane.deployment.configSync.invoke(SCHEDULED_EVENT);
  if (!result.ok || !(await laneConverged(lane))) {
    throw new Error(`lane ${lane.index} did not converge before the campaign: ${JSON.stringify(result)}`);
  }
}

/** Runs `runs` seeded runs on the lane, one after the other, about 60 % callbacks and 40 % config-sync. */
export async function runLane(
  lane: Lane,
  runs: number,
  figures: MutableFigures,
  firstRunIndex: number,
): Promise<string[]> {
  const problems: string[] = [];
  for (let run = 0; run < runs; run++) {
    const runIndex = firstRunIndex + run;
    const callback = lane.random.chance(0.6);
    const found = callback ? await callbackRun(lane, figures, runIndex) : await configSyncRun(lane, figures);
    figures.runs.total += 1;
    if (callback) figures.runs.callback += 1;
    else figures.runs.configSync += 1;
    problems.push(...found.map((problem) => `run ${runIndex} (seed ${figures.seed}): ${problem}`));
  }
  return problems;
}
