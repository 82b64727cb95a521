import type { APIGatewayProxyEventV2 } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzParameters, fuzzRuns, fuzzTimeoutMs } from "../fuzz/settings.ts";
import { type CapturedOutput, captureOutput, expectNoSecretIn } from "../support/output-capture.ts";
import {
  allSecrets,
  type CallbackHandler,
  type CallbackStandIns,
  callbackEvent,
  LIVE_CLIENTS,
  lambdaContext,
  pathOf,
  SANDBOX_CLIENT,
  secrets,
  startCallbackStandIns,
} from "./support/harness.ts";

const DEFAULT_RUNS = 3000;
const RUNS = fuzzRuns(DEFAULT_RUNS);

/*
 * A path, and whether it authenticates (and as which client of which user base): the oracle is built
 * from what was generated, not from the code.
 */
interface GeneratedRoute {
  readonly path: string;
  readonly authentic: boolean;
  readonly client?: string;
  readonly userBase?: string;
}
const pathArbitrary: fc.Arbitrary<GeneratedRoute> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      { path: pathOf("acme", secrets.acme.current), authentic: true, client: "acme", userBase: "live" },
      { path: pathOf("acme", secrets.acme.previous), authentic: true, client: "acme", userBase: "live" },
      { path: pathOf("globex", secrets.globex.current), authentic: true, client: "globex", userBase: "live" },
      {
        path: pathOf("umbrella", secrets.umbrella.current),
        authentic: true,
        client: "umbrella",
        userBase: "live",
      },
      {
        path: pathOf(SANDBOX_CLIENT, secrets.acmeSandbox.current),
        authentic: true,
        client: SANDBOX_CLIENT,
        userBase: "sandbox",
      },
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
/* Mostly a few reused ids, so that deletions of one user through several clients meet. */
const deletedUserIdArbitrary = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("customer-1", "customer-2", "customer-3") },
  { weight: 1, arbitrary: userIdArbitrary },
);

/* A body, and whether it is a DELETED payload that should be forwarded (when everything else is right). */
const bodyArbitrary = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        userId: deletedUserIdArbitrary,
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
    output.stop();
    await standIns.close();
  });

  it(
    `answers ${RUNS} random requests without a 5xx, forwarding only valid authenticated deletions, by the generation rules`,
    async () => {
      /* Per (userBase, userId): the clients that delivered the current deletion (the window never passes here). */
      const deliveredBy = new Map<string, Set<string>>();
      const clientsOfUserBase = (userBase: string) =>
        userBase === "live" ? [...LIVE_CLIENTS] : [SANDBOX_CLIENT];
      let forwarded = 0;
      let duplicates = 0;
      const statuses = new Map<number, number>();

      await fc.assert(
        fc.asyncProperty(requestArbitrary, async (request) => {
          const deletionsBefore = standIns.deletions().length;
          const answer = (await handler(toEvent(request), lambdaContext())) as {
            statusCode: number;
            body?: string;
          };
          const fresh = standIns.deletions().slice(deletionsBefore);
          statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);

          expect(answer.statusCode).toBeLessThan(500);
          if (!request.route.authentic) expect(answer.statusCode).toBe(404);
          for (const secret of allSecrets) expect(answer.body ?? "").not.toContain(secret);

          const { client, userBase } = request.route;
          const shouldForward =
            request.route.authentic &&
            !request.dropRequestContext &&
            request.method.toUpperCase() === "POST" &&
            request.headers.json &&
            request.body.deletionOf !== undefined;
          if (!shouldForward || client === undefined || userBase === undefined) {
            expect(fresh).toEqual([]);
            return;
          }
          const userId = request.body.deletionOf as string;
          expect(answer.statusCode).toBe(202);
          const key = `${userBase}:${userId}`;
          const current = deliveredBy.get(key);
          const isNew =
            current === undefined ||
            current.has(client) ||
            clientsOfUserBase(userBase).every((name) => current.has(name));
          expect(fresh.map((detail) => [detail.userBase, detail.userId, detail.client])).toEqual(
            isNew ? [[userBase, userId, client]] : [],
          );
          if (isNew) {
            deliveredBy.set(key, new Set([client]));
            forwarded++;
          } else {
            current?.add(client);
            duplicates++;
          }
        }),
        fuzzParameters(DEFAULT_RUNS),
      );

      expect(standIns.deadLetters()).toEqual([]);
      /* About 6 % of generated requests are valid, authenticated deletions; this only guards the generators. */
      expect(forwarded).toBeGreaterThan(RUNS / 25);
      expect(duplicates).toBeGreaterThan(RUNS / 100);
      for (const status of [202, 400, 404, 405, 413, 415])
        expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
      expectNoSecretIn(output, allSecrets);
    },
    /* About 14 ms a request measured on 2 busy cores (a deletion makes four AWS calls); twice that as the bound. */
    fuzzTimeoutMs(RUNS, 30),
  );
});
