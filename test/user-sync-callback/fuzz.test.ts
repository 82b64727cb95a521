import type { APIGatewayProxyEventV2 } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzParameters, fuzzRuns, fuzzTimeoutMs } from "../fuzz/settings.ts";
import {
  allSecrets,
  type CallbackHandler,
  type CallbackStandIns,
  callbackEvent,
  lambdaContext,
  pathOf,
  secrets,
  startCallbackStandIns,
} from "./support/harness.ts";
import { type CapturedOutput, captureOutput, expectNoSecretIn } from "./support/output.ts";

const DEFAULT_RUNS = 3000;
const RUNS = fuzzRuns(DEFAULT_RUNS);

/* A path, and whether it authenticates: the oracle is built from what was generated, not from the code. */
const pathArbitrary = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      { path: pathOf("acme", secrets.acme.current), authentic: true },
      { path: pathOf("acme", secrets.acme.previous), authentic: true },
      { path: pathOf("globex", secrets.globex.current), authentic: true },
    ),
  },
  fc.constantFrom(...secrets.guesses).map((guess) => ({ path: pathOf("acme", guess), authentic: false })),
  fc
    .constantFrom(...secrets.guesses.filter((guess) => guess !== secrets.globex.current))
    .map((guess) => ({ path: pathOf("globex", guess), authentic: false })),
  fc.constant({ path: pathOf("initech", secrets.acme.current), authentic: false }),
  fc.constant({ path: `${pathOf("acme", secrets.acme.current)}/`, authentic: false }),
  fc.string({ maxLength: 80 }).map((path) => ({ path, authentic: false })),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 50 }))
    .map(([client, secret]) => ({ path: `/user-sync/${client}/${secret}`, authentic: false })),
);

const methodArbitrary = fc.oneof(
  { weight: 4, arbitrary: fc.constant("POST") },
  { weight: 2, arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post") },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

const contentTypeArbitrary = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom("application/json", "application/json; charset=utf-8", "APPLICATION/JSON")
      .map((value) => ({ value, json: true })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("text/plain", "application/jsonp", "application/x-www-form-urlencoded", "")
      .map((value) => ({ value, json: false })),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ maxLength: 30 })
      .filter((value) => !value.toLowerCase().includes("application/json"))
      .map((value) => ({ value, json: false })),
  },
);

const headersArbitrary = fc
  .record({
    contentTypeName: fc.constantFrom("content-type", "Content-Type", "CONTENT-TYPE", "cOnTeNt-TyPe"),
    contentType: fc.option(contentTypeArbitrary, { nil: undefined }),
    others: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.string({ maxLength: 40 }), {
      maxKeys: 4,
    }),
  })
  .map(({ contentTypeName, contentType, others }) => ({
    headers: contentType === undefined ? others : { ...others, [contentTypeName]: contentType.value },
    json: contentType?.json === true,
  }));

const userIdArbitrary = fc.stringMatching(/^[0-9A-Za-z\-_.+@]{1,36}$/);

/* A body, and whether it is a DELETED payload that should be forwarded (when everything else is right). */
const bodyArbitrary = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        userId: userIdArbitrary,
        extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 }),
      })
      .map(({ userId, extra }) => {
        const body = JSON.stringify({ ...extra, userId, event: "DELETED" });
        return { body, deletionOf: Buffer.byteLength(body) <= 4096 ? userId : undefined };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ userId: userIdArbitrary, event: fc.string({ maxLength: 20 }) })
      .filter(({ event }) => event !== "DELETED")
      .map(({ userId, event }) => ({ body: JSON.stringify({ userId, event }), deletionOf: undefined })),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ maxLength: 60 })
      .filter((userId) => !/^[0-9A-Za-z\-_.+@]{1,36}$/.test(userId))
      .map((userId) => ({ body: JSON.stringify({ userId, event: "DELETED" }), deletionOf: undefined })),
  },
  { weight: 1, arbitrary: fc.json().map((body) => ({ body, deletionOf: undefined })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((body) => ({ body, deletionOf: undefined })) },
  {
    weight: 1,
    arbitrary: userIdArbitrary.map((userId) => ({
      body: JSON.stringify({ userId, event: "DELETED", pad: "x".repeat(4100) }),
      deletionOf: undefined,
    })),
  },
  { weight: 1, arbitrary: fc.constant({ body: undefined, deletionOf: undefined }) },
);

const requestArbitrary = fc.record({
  route: pathArbitrary,
  method: methodArbitrary,
  headers: headersArbitrary,
  body: bodyArbitrary,
  base64: fc.boolean(),
  dropRequestContext: fc.integer({ min: 0, max: 19 }).map((draw) => draw === 0),
});

type GeneratedRequest = typeof requestArbitrary extends fc.Arbitrary<infer T> ? T : never;

function toEvent(request: GeneratedRequest): APIGatewayProxyEventV2 {
  const { body } = request.body;
  const event = callbackEvent({
    path: request.route.path,
    method: request.method,
    headers: request.headers.headers,
    body: body !== undefined && request.base64 ? Buffer.from(body, "utf8").toString("base64") : body,
    isBase64Encoded: request.base64,
  });
  if (request.dropRequestContext) {
    return { ...event, requestContext: undefined } as unknown as APIGatewayProxyEventV2;
  }
  return event;
}

describe("user-sync-callback under random requests", () => {
  let standIns: CallbackStandIns;
  let output: CapturedOutput;
  let handler: CallbackHandler;

  beforeAll(async () => {
    standIns = await startCallbackStandIns();
    output = captureOutput();
    ({ handler } = await import("../../functions/user-sync-callback/handler.ts"));
  });

  afterAll(async () => {
    output.restore();
    await standIns.close();
  });

  it(
    `answers ${RUNS} random requests without a 5xx, forwarding only valid authenticated deletions, once`,
    async () => {
      const forwardedUsers = new Set<string>();
      const statuses = new Map<number, number>();

      await fc.assert(
        fc.asyncProperty(requestArbitrary, async (request) => {
          const eventsBefore = standIns.eventBridge.events.length;
          const answer = (await handler(toEvent(request), lambdaContext())) as {
            statusCode: number;
            body?: string;
          };
          const fresh = standIns.eventBridge.events.slice(eventsBefore);
          statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);

          expect(answer.statusCode).toBeLessThan(500);
          if (!request.route.authentic) expect(answer.statusCode).toBe(404);
          for (const secret of allSecrets) expect(answer.body ?? "").not.toContain(secret);

          const shouldForward =
            request.route.authentic &&
            !request.dropRequestContext &&
            request.method.toUpperCase() === "POST" &&
            request.headers.json &&
            request.body.deletionOf !== undefined;
          if (!shouldForward) {
            expect(fresh).toEqual([]);
            return;
          }
          const userId = request.body.deletionOf as string;
          expect(answer.statusCode).toBe(202);
          expect(fresh.map((event) => event.detail.userId)).toEqual(
            forwardedUsers.has(userId) ? [] : [userId],
          );
          forwardedUsers.add(userId);
        }),
        fuzzParameters(DEFAULT_RUNS),
      );

      expect(standIns.deadLetters()).toEqual([]);
      /* About 6 % of generated requests are valid, authenticated deletions; this only guards the generators. */
      expect(forwardedUsers.size).toBeGreaterThan(RUNS / 25);
      for (const status of [202, 400, 404, 405, 413, 415])
        expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
      expectNoSecretIn(output, allSecrets);
    },
    fuzzTimeoutMs(RUNS, 3),
  );
});
