import { DeleteItemCommand } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CallbackMetric } from "../../functions/contracts/metrics.ts";
import { userDeletedDetailSchema } from "../../functions/contracts/user-deletion.ts";
import { createCallbackHandler } from "../../functions/user-sync-callback/app.ts";
import { loadCallbackConfig } from "../../functions/user-sync-callback/config.ts";
import { createDefaultDependencies } from "../../functions/user-sync-callback/dependencies.ts";
import { SECRET_DIGESTS_KEY_PREFIX } from "../../functions/user-sync-callback/secret-digest-store.ts";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
import {
  type CallbackRequest,
  DELETION_QUEUE_NAME,
  deletionBody,
  INGRESSES,
  invoke,
  pathOf,
  ROOT_SECRET_NAME,
  secrets,
  TABLE_NAME,
} from "./support/harness.ts";
import { useCallbackSuite } from "./support/suite.ts";

const json = { "content-type": "application/json" };
const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

interface StatusCase {
  readonly name: string;
  readonly request: (userId: string) => CallbackRequest;
  readonly statusCode: number;
  /** The metric counted, and for which client (none: an unauthenticated call). */
  readonly metric: [string, string | undefined];
  readonly reason?: string;
}

const cases: StatusCase[] = [
  {
    name: "a deletion with acme's current secret",
    request: (userId) => ({ body: deletionBody(userId) }),
    statusCode: 202,
    metric: [CallbackMetric.Forwarded, "acme"],
  },
  {
    name: "a deletion with acme's previous secret (mid-rotation)",
    request: (userId) => ({ path: pathOf("acme", secrets.acme.previous), body: deletionBody(userId) }),
    statusCode: 202,
    metric: [CallbackMetric.Forwarded, "acme"],
  },
  {
    name: "a deletion through globex",
    request: (userId) => ({ path: pathOf("globex", secrets.globex.current), body: deletionBody(userId) }),
    statusCode: 202,
    metric: [CallbackMetric.Forwarded, "globex"],
  },
  {
    name: "a deletion at an API Gateway stage path",
    request: (userId) => ({
      path: `/prod${pathOf("acme", secrets.acme.current)}`,
      body: deletionBody(userId),
    }),
    statusCode: 202,
    metric: [CallbackMetric.Forwarded, "acme"],
  },
  {
    name: "a base64-encoded body",
    request: (userId) => ({ body: base64(deletionBody(userId)), isBase64Encoded: true }),
    statusCode: 202,
    metric: [CallbackMetric.Forwarded, "acme"],
  },
  {
    name: "an upper-case Content-Type header",
    request: (userId) => ({ headers: { "CONTENT-TYPE": "application/json" }, body: deletionBody(userId) }),
    statusCode: 202,
    metric: [CallbackMetric.Forwarded, "acme"],
  },
  {
    name: "a mixed-case Content-Type header with a charset",
    request: (userId) => ({
      headers: { "Content-Type": "Application/Json; Charset=UTF-8" },
      body: deletionBody(userId),
    }),
    statusCode: 202,
    metric: [CallbackMetric.Forwarded, "acme"],
  },
  {
    name: "extra keys in the body",
    request: (userId) => ({ body: JSON.stringify({ userId, event: "DELETED", note: "ignored" }) }),
    statusCode: 202,
    metric: [CallbackMetric.Forwarded, "acme"],
  },
  {
    name: "an event other than DELETED",
    request: (userId) => ({ body: deletionBody(userId, "LOCKED") }),
    statusCode: 202,
    metric: [CallbackMetric.IgnoredEvent, "acme"],
  },
  {
    name: "a wrong secret",
    request: (userId) => ({ path: pathOf("acme", secrets.guesses[0] ?? ""), body: deletionBody(userId) }),
    statusCode: 404,
    metric: [CallbackMetric.Unauthenticated, undefined],
  },
  {
    name: "a secret one character short",
    request: (userId) => ({ path: pathOf("acme", secrets.guesses[1] ?? ""), body: deletionBody(userId) }),
    statusCode: 404,
    metric: [CallbackMetric.Unauthenticated, undefined],
  },
  {
    name: "another client's secret",
    request: (userId) => ({ path: pathOf("acme", secrets.globex.current), body: deletionBody(userId) }),
    statusCode: 404,
    metric: [CallbackMetric.Unauthenticated, undefined],
  },
  {
    name: "no secret",
    request: (userId) => ({ path: "/user-sync/acme", body: deletionBody(userId) }),
    statusCode: 404,
    metric: [CallbackMetric.Unauthenticated, undefined],
  },
  {
    name: "an unknown client",
    request: (userId) => ({ path: pathOf("initech", secrets.acme.current), body: deletionBody(userId) }),
    statusCode: 404,
    metric: [CallbackMetric.Unauthenticated, undefined],
  },
  {
    name: "another path",
    request: (userId) => ({ path: "/", body: deletionBody(userId) }),
    statusCode: 404,
    metric: [CallbackMetric.Unauthenticated, undefined],
  },
  {
    name: "a GET with a wrong secret (nothing is revealed before authentication)",
    request: (userId) => ({
      method: "GET",
      path: pathOf("acme", secrets.guesses[0] ?? ""),
      body: deletionBody(userId),
    }),
    statusCode: 404,
    metric: [CallbackMetric.Unauthenticated, undefined],
  },
  {
    name: "a GET",
    request: () => ({ method: "GET", body: undefined }),
    statusCode: 405,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "method must be POST",
  },
  {
    name: "a PUT",
    request: (userId) => ({ method: "PUT", body: deletionBody(userId) }),
    statusCode: 405,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "method must be POST",
  },
  {
    name: "a form body",
    request: (userId) => ({
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `userId=${userId}&event=DELETED`,
    }),
    statusCode: 415,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "content-type must be application/json",
  },
  {
    name: "no Content-Type",
    request: (userId) => ({ headers: {}, body: deletionBody(userId) }),
    statusCode: 415,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "content-type must be application/json",
  },
  {
    name: "a body over 4 KiB",
    request: (userId) => ({ body: JSON.stringify({ userId, event: "DELETED", pad: "x".repeat(4096) }) }),
    statusCode: 413,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "at most 4096 bytes",
  },
  {
    name: "a base64 body over 4 KiB",
    request: (userId) => ({
      body: base64(JSON.stringify({ userId, event: "DELETED", pad: "x".repeat(4096) })),
      isBase64Encoded: true,
    }),
    statusCode: 413,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "at most 4096 bytes",
  },
  {
    name: "a body that is not JSON",
    request: () => ({ headers: json, body: "{" }),
    statusCode: 400,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "body must be JSON",
  },
  {
    name: "a base64 body that is not JSON",
    request: () => ({ body: base64("not json"), isBase64Encoded: true }),
    statusCode: 400,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "body must be JSON",
  },
  {
    name: "a userId finAPI would never issue",
    request: () => ({ body: deletionBody("has space") }),
    statusCode: 400,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "userId: must be 1..36 characters of 0-9 A-Z a-z - _ . + @",
  },
  {
    name: "a missing event",
    request: (userId) => ({ body: JSON.stringify({ userId }) }),
    statusCode: 400,
    metric: [CallbackMetric.Invalid, "acme"],
    reason: "event: is required",
  },
];

describe("user-sync-callback handler", () => {
  const suite = useCallbackSuite();

  /* The same table through both ingresses: a REST API proxy event gets exactly the Function URL's answers. */
  it.each(
    INGRESSES.flatMap((ingress) =>
      cases.map((testCase, index) => ({ ...testCase, ingress, userId: `status-${ingress}-${index}` })),
    ),
  )(
    "answers $statusCode to $name through the $ingress",
    async ({ request, statusCode, metric, reason, userId, ingress }) => {
      const answer = await invoke(suite.handler, request(userId), ingress);
      expect(answer.statusCode).toBe(statusCode);
      const forwarded = statusCode === 202 && metric[0] === CallbackMetric.Forwarded;
      expect(suite.standIns.deletionsOf(userId)).toHaveLength(forwarded ? 1 : 0);
      expect(suite.output.count(...metric)).toBe(1);
      expect(suite.output.metrics()).toHaveLength(1);
      if (statusCode === 404 || statusCode === 202) expect(answer.body ?? "").toBe("");
      if (reason) {
        expect(answer.headers?.["Content-Type"]).toBe("application/json");
        expect(JSON.parse(answer.body ?? "")).toEqual({ message: expect.stringContaining(reason) });
      }
    },
  );

  it.each(INGRESSES)("tells a 405 caller through the %s which method to use", async (ingress) => {
    const answer = await invoke(suite.handler, { method: "DELETE" }, ingress);
    expect(answer.headers?.Allow).toBe("POST");
  });

  it("hands the deletion to the deletion queue as the contract's detail, in the user's message group, deduplicated by its deletion id", async () => {
    const before = Date.now();
    await invoke(suite.handler, {
      path: pathOf("globex", secrets.globex.current),
      body: deletionBody("detail-1"),
    });
    const [detail] = suite.standIns.deletionsOf("detail-1");
    expect(userDeletedDetailSchema.parse(detail)).toEqual({
      deletionId: expect.any(String),
      userBase: "live",
      environment: "live",
      userId: "detail-1",
      event: "DELETED",
      client: "globex",
      receivedAt: expect.any(String),
    });
    expect(Date.parse(String(detail?.receivedAt))).toBeGreaterThanOrEqual(before - 1000);
    expect(suite.standIns.sendCalls().filter((call) => call.body.userId === "detail-1")).toEqual([
      {
        queueName: DELETION_QUEUE_NAME,
        body: detail,
        groupId: "live:detail-1",
        deduplicationId: detail?.deletionId,
      },
    ]);
  });

  it("emits authenticated counts per client and service-wide, unauthenticated ones service-wide only", async () => {
    await invoke(suite.handler, { body: deletionBody("dimensions-1") });
    await invoke(suite.handler, { path: pathOf("acme", secrets.guesses[0] ?? "") });
    expect(suite.output.metrics()).toEqual([
      { name: CallbackMetric.Forwarded, dimensionSets: [["service", "client"], ["service"]], client: "acme" },
      { name: CallbackMetric.Unauthenticated, dimensionSets: [["service"]], client: undefined },
    ]);
  });

  it("logs the route with the client and the secret masked, and never the event", async () => {
    await invoke(suite.handler, { body: deletionBody("logged-1") });
    const logs = suite.output.logs();
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: "deletion forwarded",
        client: "acme",
        route: "/user-sync/acme/***",
        userId: "logged-1",
        service: "user-sync-callback",
      }),
    );
    expect(suite.output.lines().join("\n")).not.toContain("x-forwarded-for");
  });

  it("logs an unauthenticated call without the path it came to, naming only a configured client", async () => {
    await invoke(suite.handler, { path: "/user-sync/acme/some-other-text" });
    await invoke(suite.handler, { path: "/user-sync/made-up-client/more-text" });
    const refused = "callback refused: unknown path, client or secret";
    expect(suite.output.logs()).toEqual([
      expect.objectContaining({ message: refused, route: "/user-sync/acme/***" }),
      expect.objectContaining({ message: refused, route: "/user-sync/?/***" }),
    ]);
    expect(suite.output.lines().join("\n")).not.toMatch(/some-other-text|made-up-client|more-text/);
  });

  describe("starting cold while Secrets Manager fails", () => {
    const coldStartDuringOutage = () => {
      const coldStart = createCallbackHandler(createDefaultDependencies(loadCallbackConfig(process.env)));
      suite.standIns.secretsManager.setOutage("internal-error");
      return coldStart;
    };

    afterEach(() => {
      suite.standIns.secretsManager.setOutage(undefined);
    });

    it("authenticates with the digests an earlier environment kept, and forwards the deletion", async () => {
      await invoke(suite.handler, { body: deletionBody("warm-before-outage") });
      const answer = await invoke(coldStartDuringOutage(), { body: deletionBody("cold-kept") });
      expect(answer.statusCode).toBe(202);
      expect(suite.standIns.deletionsOf("cold-kept")).toHaveLength(1);
      expect(suite.output.logs()).toContainEqual(
        expect.objectContaining({
          level: "WARN",
          message:
            "Secrets Manager failed before this environment read the root secret; using its kept digests",
        }),
      );
    });

    it("still refuses a wrong secret with 404", async () => {
      const answer = await invoke(coldStartDuringOutage(), {
        path: pathOf("acme", "w".repeat(40)),
        body: deletionBody("cold-wrong"),
      });
      expect(answer.statusCode).toBe(404);
      expect(suite.standIns.deletionsOf("cold-wrong")).toEqual([]);
    });

    it("answers 404, and logs and counts the unusable secret, when no digests were kept either", async () => {
      const { rootSecretId } = loadCallbackConfig(process.env);
      await suite.standIns.dynamo.client.send(
        new DeleteItemCommand({
          TableName: TABLE_NAME,
          Key: { id: { S: `${SECRET_DIGESTS_KEY_PREFIX}#${rootSecretId}` } },
        }),
      );
      const answer = await invoke(coldStartDuringOutage(), { body: deletionBody("cold-1") });
      expect(answer.statusCode).toBe(404);
      expect(suite.standIns.deletionsOf("cold-1")).toEqual([]);
      expect(suite.output.logs()).toContainEqual(
        expect.objectContaining({
          level: "ERROR",
          message: "callback refused: the client's secret is not usable",
          client: "acme",
          reason: "unavailable",
          errorName: "InternalServiceError",
        }),
      );
      expect(suite.output.count(CallbackMetric.SecretUnusable, "acme")).toBe(1);
    });

    it("answers 503 and remembers nothing when the kept digests cannot be read either (a double outage)", async () => {
      /* A fresh environment keeps the digests (an earlier test deleted them). */
      const keeper = createCallbackHandler(createDefaultDependencies(loadCallbackConfig(process.env)));
      expect((await invoke(keeper, { body: deletionBody("warm-before-double-outage") })).statusCode).toBe(
        202,
      );
      const coldStart = coldStartDuringOutage();
      /* The kept digests are found, but their key cannot be derived: KMS fails the cold start's GenerateMac. */
      suite.standIns.kms.failNext(
        "GenerateMac",
        new AwsServiceError("KMSInternalException", "Internal error", 500),
        3,
      );
      const during = await invoke(coldStart, { body: deletionBody("double-outage") });
      expect(during.statusCode).toBe(503);
      expect(suite.standIns.deletionsOf("double-outage")).toEqual([]);
      expect(suite.output.count(CallbackMetric.SecretUnusable, "acme")).toBe(0);
      expect(suite.output.logs()).toContainEqual(
        expect.objectContaining({
          level: "ERROR",
          message: "callback not authenticated: Secrets Manager and the kept digests both failed",
          client: "acme",
        }),
      );

      /* finAPI's next try, once Secrets Manager answers, finds no refusal remembered. */
      suite.standIns.secretsManager.setOutage(undefined);
      const after = await invoke(coldStart, { body: deletionBody("double-outage") });
      expect(after.statusCode).toBe(202);
      expect(suite.standIns.deletionsOf("double-outage")).toHaveLength(1);
    });
  });

  it("accepts a rotated secret at once and the secret it replaced, but no older one", async () => {
    /* Past the pause between two fresh fetches that the wrong secrets above started. */
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 60_000 });
    suite.standIns.secretsManager.putSecret(ROOT_SECRET_NAME, secrets.rotatedRoot);
    const rotated = await invoke(suite.handler, {
      path: pathOf("acme", secrets.rotated),
      body: deletionBody("rot-1"),
    });
    const replaced = await invoke(suite.handler, {
      path: pathOf("acme", secrets.acme.current),
      body: deletionBody("rot-2"),
    });
    const older = await invoke(suite.handler, {
      path: pathOf("acme", secrets.acme.previous),
      body: deletionBody("rot-3"),
    });
    vi.useRealTimers();
    expect([rotated.statusCode, replaced.statusCode, older.statusCode]).toEqual([202, 202, 404]);
  });
});
