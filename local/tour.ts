import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { relative } from "node:path";
import type { ClientResult } from "../functions/config-sync/app.ts";
import { planChanges } from "../functions/finapi/plan.ts";
import { parseDesiredDocument } from "../functions/finapi/schema.ts";
import type { ActivityOf } from "./activity.ts";
import { clientToken, createUser, deleteAuthorizedUser, userToken } from "./finapi-users.ts";
import type { LocalClient, LocalLoop } from "./loop.ts";

export interface TourOptions {
  /** Where the tour narrates (the live log prints the activities themselves). */
  readonly print: (text: string) => void;
  /** How long a step waits for what it expects before it counts as failed. */
  readonly timeoutMs: number;
}

export interface StepReport {
  readonly title: string;
  readonly ok: boolean;
  /** What held, or what did not. */
  readonly detail: string;
}

export interface TourReport {
  readonly ok: boolean;
  readonly steps: readonly StepReport[];
}

/** A step's expectation that did not hold. */
class ExpectationFailed extends Error {
  override readonly name = "ExpectationFailed";
}

function expectThat(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ExpectationFailed(message);
}

/* Breaks every rule it can at once: an ftp URL, a misspelt field, a period under a minute. */
const INVALID_DOCUMENT = `${JSON.stringify(
  {
    userNotificationCallbackUrl: "ftp://backend.example.com/notifications",
    clientAccesTokensValidityPeriod: 3600,
    refreshTokensValidityPeriod: 30,
  },
  null,
  2,
)}\n`;

const DRIFTED_PERIOD_SECONDS = 7200;

const outcomeOf = (sync: ActivityOf<"sync">) => sync.result.outcome;
const describeSyncs = (syncs: readonly ActivityOf<"sync">[]) =>
  syncs.map((sync) => `${sync.result.client}: ${outcomeOf(sync)}`).join(", ");

/** The changes that would still make finAPI match the client's document and hosted callback (none when in sync). */
async function remainingChanges(loop: LocalLoop, client: LocalClient) {
  const parsed = parseDesiredDocument(await readFile(client.parameterFile, "utf8"), client.environment);
  expectThat(parsed.ok, `${client.parameterFile} is not a valid document`);
  const hostedUrl = `${loop.callbackBaseUrl}/user-sync/${client.name}/${client.callbackSecret}`;
  return planChanges(
    { userSynchronizationCallbackUrl: hostedUrl, ...parsed.value },
    loop.emulator.configurationOf(client.clientId),
  );
}

interface Step {
  readonly title: string;
  readonly run: () => Promise<string>;
}

/**
 * The scripted tour of `npm run demo` on a running local loop: each step acts the way a user would
 * (a file edit, a change in finAPI by hand, a user deletion through finAPI's API), waits for what the
 * system does about it, and checks the result in finAPI (the emulator) and on the event bus.
 */
export async function runTour(loop: LocalLoop, options: TourOptions): Promise<TourReport> {
  const { print, timeoutMs } = options;
  const { activities, emulator, clients } = loop;
  /* The deletion step needs two clients of one user base: finAPI calls back that user base's clients only. */
  const sharing =
    clients
      .map((client) => clients.filter((other) => other.userBase === client.userBase))
      .find((members) => members.length >= 2) ?? clients;
  const [first, second] = sharing;
  const others = clients.filter((client) => client.userBase !== first?.userBase);
  const firstName = first?.name ?? "the first client";
  const secondName = second?.name ?? "a second client";

  const syncsOf = async (
    what: string,
    since: number,
    matches: (sync: ActivityOf<"sync">) => boolean,
    count = 1,
  ): Promise<ActivityOf<"sync">[]> =>
    activities.waitFor(what, { since, kind: "sync", matches, count, timeoutMs });

  const patchesSince = (requestCount: number) =>
    emulator.requests.slice(requestCount).filter((request) => request.method === "PATCH").length;

  const steps: Step[] = [
    {
      title: "Apply a document: each parameter file put into Parameter Store makes finAPI match it",
      run: async () => {
        const syncs = await syncsOf(
          "the first sync of every client",
          0,
          (sync) => sync.trigger === "parameter-change",
          clients.length,
        );
        for (const sync of syncs) {
          expectThat(outcomeOf(sync) === "applied", `expected "applied", got ${describeSyncs([sync])}`);
        }
        for (const client of clients) {
          const left = await remainingChanges(loop, client);
          expectThat(
            left.length === 0,
            `finAPI still differs for ${client.name}: ${left.map((c) => c.field).join(", ")}`,
          );
        }
        return `finAPI holds every document and each client's hosted callback URL (${describeSyncs(syncs)})`;
      },
    },
    {
      title: "Reconcile on the schedule: everything is in sync, nothing is patched",
      run: async () => {
        const mark = activities.mark();
        const requestCount = emulator.requests.length;
        await loop.runSchedule();
        const syncs = activities.since(mark, "sync", (sync) => sync.trigger === "schedule");
        for (const client of clients) {
          expectThat(
            syncs.some((sync) => sync.result.client === client.name),
            `the schedule did not reconcile ${client.name}`,
          );
        }
        expectThat(
          syncs.every((sync) => outcomeOf(sync) === "in-sync"),
          `expected every client in sync, got ${describeSyncs(syncs)}`,
        );
        expectThat(patchesSince(requestCount) === 0, "finAPI was patched although it was in sync");
        return `every client in sync, no PATCH (${describeSyncs(syncs)})`;
      },
    },
    {
      title: `Drift: someone sets ${firstName}'s clientAccessTokensValidityPeriod to ${DRIFTED_PERIOD_SECONDS} in finAPI by hand; the reconcile corrects it`,
      run: async () => {
        expectThat(first !== undefined, "the loop has no client");
        const wanted = emulator.configurationOf(first.clientId).clientAccessTokensValidityPeriod;
        const mark = activities.mark();
        emulator.drift(first.clientId, { clientAccessTokensValidityPeriod: DRIFTED_PERIOD_SECONDS });
        print(
          `          (finAPI) ${first.name}: clientAccessTokensValidityPeriod ${wanted} -> ${DRIFTED_PERIOD_SECONDS}, by hand`,
        );
        await loop.runSchedule();
        const [corrected] = await syncsOf(
          `the schedule correcting ${first.name}`,
          mark,
          (sync) =>
            sync.result.client === first.name && sync.trigger === "schedule" && outcomeOf(sync) === "applied",
        );
        const changes = corrected?.result.outcome === "applied" ? corrected.result.changes : [];
        expectThat(
          changes.length === 1 &&
            changes[0]?.field === "clientAccessTokensValidityPeriod" &&
            changes[0].from === DRIFTED_PERIOD_SECONDS &&
            changes[0].to === wanted,
          "the correction was not exactly the drifted field back to its document value",
        );
        const now = emulator.configurationOf(first.clientId).clientAccessTokensValidityPeriod;
        expectThat(now === wanted, `finAPI holds ${now}, not ${wanted}`);
        return `patched back: clientAccessTokensValidityPeriod ${DRIFTED_PERIOD_SECONDS} -> ${wanted}`;
      },
    },
    {
      title: `Invalid document: ${firstName}'s parameter file gets a document that breaks the rules; it is refused and finAPI is left untouched`,
      run: async () => {
        expectThat(first !== undefined, "the loop has no client");
        const file = relative(process.cwd(), first.parameterFile);
        const original = await readFile(first.parameterFile, "utf8");
        const before = emulator.configurationOf(first.clientId);
        const requestCount = emulator.requests.length;
        const mark = activities.mark();
        print(
          `          (edit) ${file} now holds:\n${INVALID_DOCUMENT.trimEnd().replace(/^/gm, "            ")}`,
        );
        await writeFile(first.parameterFile, INVALID_DOCUMENT);
        const [refused] = await syncsOf(
          `config-sync refusing ${file}`,
          mark,
          (sync) => sync.result.client === first.name && sync.trigger === "parameter-change",
        );
        const result: ClientResult | undefined = refused?.result;
        expectThat(result?.outcome === "invalid", `expected "invalid", got ${result?.outcome}`);
        const rules = new Set(result.violations.map((violation) => violation.rule));
        expectThat(
          (["url", "unknown-key", "range"] as const).every((rule) => rules.has(rule)),
          `expected url, unknown-key and range violations, got ${[...rules].join(", ")}`,
        );
        expectThat(
          JSON.stringify(emulator.configurationOf(first.clientId)) === JSON.stringify(before),
          "finAPI's configuration changed",
        );
        expectThat(patchesSince(requestCount) === 0, "finAPI was patched with an invalid document");

        const restored = activities.mark();
        print(`          (edit) ${file} gets its valid document back`);
        await writeFile(first.parameterFile, original);
        const [again] = await syncsOf(
          `config-sync reading the restored ${file}`,
          restored,
          (sync) => sync.result.client === first.name && sync.trigger === "parameter-change",
        );
        expectThat(
          again?.result.outcome === "in-sync",
          `after the restore expected "in-sync", got ${again?.result.outcome}`,
        );
        return `${result.violations.length} violation(s) reported (${[...rules].join(", ")}), finAPI untouched; the restored document is in sync`;
      },
    },
    {
      title: `Deletion: a user created through ${firstName} and deleted through ${secondName} is forwarded exactly once`,
      run: async () => {
        expectThat(
          first !== undefined && second !== undefined,
          "the tour needs two clients sharing a user base (two sandbox documents in examples/)",
        );
        const userId = `demo-${randomBytes(4).toString("hex")}`;
        const password = randomBytes(12).toString("base64url");
        const mark = activities.mark();
        await createUser(emulator.url, await clientToken(emulator.url, first), userId, password);
        print(
          `          (finAPI) user ${userId} created through ${first.name}; deleting it through ${second.name}`,
        );
        await deleteAuthorizedUser(emulator.url, await userToken(emulator.url, second, userId, password));
        const callbacks = await activities.waitFor(
          `the callback of every client of ${first.userBase} for ${userId}`,
          {
            since: mark,
            kind: "callback",
            matches: (callback) => callback.userId === userId,
            count: sharing.length,
            timeoutMs,
          },
        );
        await emulator.callbacksSettled();
        const elsewhere = activities.since(
          mark,
          "finapi-callback",
          (callback) => callback.delivery.userId === userId && callback.delivery.userBase !== first.userBase,
        );
        expectThat(
          elsewhere.length === 0,
          `finAPI called back ${elsewhere.map((callback) => callback.client).join(", ")} of another user base`,
        );
        /* The publisher takes the deletion from the FIFO deletion queue after the callbacks were answered. */
        await activities.waitFor(`the "finAPI User Deleted" event of ${userId}`, {
          since: mark,
          kind: "deletion-forwarded",
          matches: (event) => event.event.detail.userId === userId,
          timeoutMs,
        });
        const forwarded = activities.since(
          mark,
          "deletion-forwarded",
          (event) => event.event.detail.userId === userId,
        );
        expectThat(
          forwarded.length === 1,
          `expected exactly one forwarded deletion, got ${forwarded.length}`,
        );
        const outcomes = callbacks.map((callback) => callback.outcome).sort();
        expectThat(
          outcomes.filter((outcome) => outcome === "forwarded").length === 1 &&
            outcomes.filter((outcome) => outcome === "duplicate").length === sharing.length - 1,
          `expected one "forwarded" and the rest "duplicate", got ${outcomes.join(", ")}`,
        );
        const untouched =
          others.length === 0
            ? ""
            : ` (none of ${others.map((client) => client.name).join(", ")}: another user base)`;
        return `finAPI called the ${callbacks.length} callbacks of user base ${first.userBase}${untouched}; one "finAPI User Deleted" event on ${loop.eventBusName}, ${sharing.length - 1} duplicate(s) dropped`;
      },
    },
  ];

  const reports: StepReport[] = [];
  for (const [index, step] of steps.entries()) {
    print(`\n=== Step ${index + 1}/${steps.length}: ${step.title}`);
    try {
      const detail = await step.run();
      reports.push({ title: step.title, ok: true, detail });
      print(`✔ held: ${detail}`);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      reports.push({ title: step.title, ok: false, detail });
      print(`✘ did not hold: ${detail}`);
      break;
    }
  }
  const ok = reports.length === steps.length && reports.every((report) => report.ok);
  return { ok, steps: reports };
}
