import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallbackDelivery,
  type EmulatedClientSpec,
  type FinapiEmulator,
  startFinapiEmulator,
} from "../../emulator/index.ts";
import { errorMessageSchema } from "../../emulator/responses.ts";
import { finapiUserSchema, userIdentifiersListSchema } from "../../emulator/users.ts";
import { listen } from "../../local/listen.ts";
import { closedPort } from "../support/local-servers.ts";
import { accessTokenOf, addFreshClient, call, getConfigurationRequest } from "./finapi-calls.ts";
import { watchProcessOutput } from "./output-watch.ts";
import {
  type CallbackReceiver,
  type ClientCredentials,
  createUser,
  deleteAuthorizedUser,
  deleteUsers,
  getAuthorizedUser,
  passwordGrant,
  refreshGrant,
  startCallbackReceiver,
  userTokenOf,
} from "./user-calls.ts";

let emulator: FinapiEmulator;
let receiver: CallbackReceiver;
let now = Date.parse("2026-03-01T08:00:00.000Z");
const secrets = new Set<string>();
const output = watchProcessOutput();

beforeAll(async () => {
  [emulator, receiver] = await Promise.all([
    startFinapiEmulator({ clock: () => now }),
    startCallbackReceiver(),
  ]);
});

afterAll(async () => {
  await Promise.all([emulator.close(), receiver.close()]);
  output.restore();
  const printed = output.text();
  for (const secret of secrets) expect(printed).not.toContain(secret);
});

let userCounter = 0;
const uniqueUserId = (prefix = "user") => `${prefix}-${++userCounter}-${Date.now().toString(36)}`;

async function newClient(spec: Partial<EmulatedClientSpec> = {}) {
  const credentials = addFreshClient(emulator, spec, secrets);
  const token = await accessTokenOf(emulator, credentials.clientId, credentials.clientSecret, secrets);
  return { ...credentials, token };
}

/** A user created through `client`, with a password the secret scan looks for. */
async function newUser(client: { token: string }, id = uniqueUserId()) {
  const password = `pw-${crypto.randomUUID()}`;
  secrets.add(password);
  const created = await createUser(emulator, client.token, { id, password });
  expect(created.status).toBe(201);
  return { id, password };
}

const errorsOf = (body: unknown) => errorMessageSchema.parse(body).errors;

describe("POST /api/v1/users", () => {
  it("creates a user with the given id and password and answers 201 with the User, password in plain text", async () => {
    const client = await newClient();
    const result = await createUser(emulator, client.token, {
      id: "alice@example.com",
      password: "s3cret-Alice",
      email: "alice@example.com",
      phone: "+49 99 999999-999",
    });
    secrets.add("s3cret-Alice");
    expect(result.status).toBe(201);
    expect(finapiUserSchema.parse(result.body)).toEqual({
      id: "alice@example.com",
      password: "s3cret-Alice",
      email: "alice@example.com",
      phone: "+49 99 999999-999",
      isAutoUpdateEnabled: false,
    });
    expect(emulator.userIds()).toContain("alice@example.com");
  });

  it("generates the id and the password when the body leaves them out", async () => {
    const client = await newClient();
    const result = await createUser(emulator, client.token, {});
    expect(result.status).toBe(201);
    const user = finapiUserSchema.parse(result.body);
    secrets.add(user.password);
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(user.password.length).toBeGreaterThanOrEqual(6);
    expect(user).toMatchObject({ email: null, phone: null });
  });

  it("refuses an id that exists, ignoring case, with 422 ENTITY_EXISTS", async () => {
    const client = await newClient();
    const { id } = await newUser(client, uniqueUserId("Bob"));
    const result = await createUser(emulator, client.token, { id: id.toLowerCase(), password: "another-1" });
    expect(result.status).toBe(422);
    expect(errorsOf(result.body)).toEqual([expect.objectContaining({ code: "ENTITY_EXISTS" })]);
  });

  it("rejects every violation at once with 400, naming the fields and never quoting a value", async () => {
    const client = await newClient();
    const result = await createUser(emulator, client.token, {
      id: "x".repeat(37),
      password: "short",
      phone: "1".repeat(51),
      isAutoUpdateEnabled: "yes",
      nickname: "bobby",
    });
    expect(result.status).toBe(400);
    const messages = errorsOf(result.body).map((error) => error.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^id: must be 1\.\.36 characters/),
        expect.stringMatching(/^password: must be 6\.\.128 characters/),
        expect.stringMatching(/^phone: must not be longer than 50/),
        expect.stringMatching(/^isAutoUpdateEnabled: must be true or false/),
        'Unrecognized field "nickname" (class UserCreateParams), not marked as ignorable',
      ]),
    );
    expect(result.text).not.toContain("short");
    expect(emulator.userIds()).not.toContain("x".repeat(37));
  });

  it.each([
    ["a space", "bad id"],
    ["a slash", "bad/id"],
    ["an umlaut", "jürgen"],
  ])("rejects a user id with %s", async (_what, id) => {
    const client = await newClient();
    const result = await createUser(emulator, client.token, { id, password: "password-1" });
    expect(result.status).toBe(400);
    expect(errorsOf(result.body)[0]?.message).toMatch(/^id: must be 1\.\.36 characters of 0-9 A-Z a-z/);
  });

  it("refuses isAutoUpdateEnabled with 422 ILLEGAL_ENTITY_STATE while the client's batch update is off", async () => {
    const client = await newClient();
    const result = await createUser(emulator, client.token, { isAutoUpdateEnabled: true });
    expect(result.status).toBe(422);
    expect(errorsOf(result.body)).toEqual([expect.objectContaining({ code: "ILLEGAL_ENTITY_STATE" })]);
  });

  it("answers a body that is not JSON with 400 and one that is not application/json with 415", async () => {
    const client = await newClient();
    expect((await createUser(emulator, client.token, "{not json")).status).toBe(400);
    const wrongType = await fetch(`${emulator.url}/api/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${client.token}`, "content-type": "text/plain" },
      body: "{}",
    });
    expect(wrongType.status).toBe(415);
  });

  it("refuses a user's token with 403, since only a client creates users", async () => {
    const client = await newClient();
    const user = await newUser(client);
    const userToken = await userTokenOf(emulator, client, user.id, user.password, secrets);
    const result = await createUser(emulator, userToken, {});
    expect(result.status).toBe(403);
    expect(errorsOf(result.body)).toEqual([expect.objectContaining({ code: "UNAUTHORIZED_ACCESS" })]);
  });
});

describe("POST /oauth/token with the password and refresh_token grants", () => {
  it("gives a user token with a refresh token, valid for the client's userAccessTokensValidityPeriod", async () => {
    const client = await newClient({ configuration: { userAccessTokensValidityPeriod: 900 } });
    const user = await newUser(client);
    const result = await passwordGrant(emulator, client, user.id, user.password);
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      access_token: expect.stringMatching(/^[\w-]{128}$/),
      token_type: "bearer",
      refresh_token: expect.stringMatching(/^[\w-]{128}$/),
      expires_in: 900,
      scope: "all",
    });
    const body = result.body as { access_token: string; refresh_token: string };
    secrets.add(body.access_token).add(body.refresh_token);
    expect(result.headers.get("cache-control")).toBe("no-store");
  });

  it("returns the same access token for the same user and client while it is valid", async () => {
    const client = await newClient();
    const user = await newUser(client);
    const first = await userTokenOf(emulator, client, user.id, user.password, secrets);
    const second = await userTokenOf(emulator, client, user.id.toUpperCase(), user.password, secrets);
    expect(second).toBe(first);
  });

  it("lets every client of the user base log in a user that another client created", async () => {
    const creator = await newClient();
    const other = await newClient();
    const user = await newUser(creator);
    const token = await userTokenOf(emulator, other, user.id, user.password, secrets);
    const me = await getAuthorizedUser(emulator, token);
    expect(me.status).toBe(200);
    expect(finapiUserSchema.parse(me.body)).toMatchObject({ id: user.id, password: "XXXXX" });
  });

  it.each([
    ["a wrong password", (user: { id: string }) => [user.id, "wrong-password"]],
    ["an unknown user", () => ["nobody-here", "password-1"]],
  ])("answers %s with 400 invalid_grant", async (_what, credentialsOf) => {
    const client = await newClient();
    const user = await newUser(client);
    const [username = "", password = ""] = credentialsOf(user);
    const result = await passwordGrant(emulator, client, username, password);
    expect(result.status).toBe(400);
    expect(result.body).toEqual({ error: "invalid_grant", error_description: "Bad credentials" });
  });

  it("answers bad client credentials with 401 before looking at the user", async () => {
    const client = await newClient();
    const user = await newUser(client);
    const stranger: ClientCredentials = { clientId: client.clientId, clientSecret: "not-the-secret" };
    expect((await passwordGrant(emulator, stranger, user.id, user.password)).status).toBe(401);
  });

  it("refreshes a user's access token with the refresh token of the same client only", async () => {
    const client = await newClient();
    const other = await newClient();
    const user = await newUser(client);
    const login = await passwordGrant(emulator, client, user.id, user.password);
    const { access_token: first, refresh_token: refreshToken } = login.body as {
      access_token: string;
      refresh_token: string;
    };
    secrets.add(first).add(refreshToken);
    const refreshed = await refreshGrant(emulator, client, refreshToken);
    expect(refreshed.status).toBe(200);
    const second = (refreshed.body as { access_token: string }).access_token;
    secrets.add(second);
    expect(second).not.toBe(first);
    expect((await getAuthorizedUser(emulator, first)).status).toBe(401);
    expect((await getAuthorizedUser(emulator, second)).status).toBe(200);
    const elsewhere = await refreshGrant(emulator, other, refreshToken);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body).toEqual({ error: "invalid_grant", error_description: "Invalid refresh token" });
  });

  it("expires a user token after the validity period, and a refresh token after its own", async () => {
    const client = await newClient({
      configuration: { userAccessTokensValidityPeriod: 60, refreshTokensValidityPeriod: 120 },
    });
    const user = await newUser(client);
    const login = await passwordGrant(emulator, client, user.id, user.password);
    const { access_token: accessToken, refresh_token: refreshToken } = login.body as {
      access_token: string;
      refresh_token: string;
    };
    secrets.add(accessToken).add(refreshToken);
    now += 61_000;
    const expired = await getAuthorizedUser(emulator, accessToken);
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ error: "invalid_token", error_description: "Access token expired" });
    now += 60_000;
    expect((await refreshGrant(emulator, client, refreshToken)).status).toBe(400);
  });
});

describe("GET /api/v1/users", () => {
  it("refuses a client's token with 403: only a user reads its own data", async () => {
    const client = await newClient();
    const result = await getAuthorizedUser(emulator, client.token);
    expect(result.status).toBe(403);
  });

  it("refuses a user's token on the client configuration with 403", async () => {
    const client = await newClient();
    const user = await newUser(client);
    const token = await userTokenOf(emulator, client, user.id, user.password, secrets);
    const result = await call(emulator, getConfigurationRequest(token));
    expect(result.status).toBe(403);
  });
});

describe("DELETE /api/v1/users", () => {
  it("deletes the authorized user, answers 200 with no body, and POSTs the deletion to every client's callback, the deleting one's included", async () => {
    /* An emulator of its own, so that "every client" is exactly the three below. */
    const heard: CallbackDelivery[] = [];
    const own = await startFinapiEmulator({ onCallback: (delivery) => heard.push(delivery) });
    try {
      const client = (clientId: string, path?: string) => {
        const credentials = { clientId, clientSecret: `${clientId}-secret-${crypto.randomUUID()}` };
        secrets.add(credentials.clientSecret);
        own.addClient({
          ...credentials,
          ...(path ? { configuration: { userSynchronizationCallbackUrl: `${receiver.url}${path}` } } : {}),
        });
        return credentials;
      };
      const creator = client("creator", "/creator");
      const deleter = client("deleter", "/deleter");
      client("silent");
      const creatorToken = await accessTokenOf(own, creator.clientId, creator.clientSecret, secrets);
      secrets.add("carol-password");
      expect((await createUser(own, creatorToken, { id: "carol", password: "carol-password" })).status).toBe(
        201,
      );
      const token = await userTokenOf(own, deleter, "carol", "carol-password", secrets);
      receiver.received.length = 0;

      const result = await deleteAuthorizedUser(own, token);
      expect(result.status).toBe(200);
      expect(result.text).toBe("");
      expect(own.userIds()).toEqual([]);
      await own.callbacksSettled();

      expect(receiver.received.map((received) => received.path).sort()).toEqual(["/creator", "/deleter"]);
      for (const received of receiver.received) {
        expect(received.contentType).toBe("application/json");
        expect(received.body).toEqual({ userId: "carol", event: "DELETED" });
      }
      expect(own.callbacks.map((delivery) => delivery.clientId).sort()).toEqual(["creator", "deleter"]);
      expect(own.callbacks.every((delivery) => delivery.status === 202 && delivery.userId === "carol")).toBe(
        true,
      );
      expect(heard).toEqual(own.callbacks);
    } finally {
      await own.close();
    }
  });

  it("revokes the deleted user's tokens and its login", async () => {
    const client = await newClient();
    const user = await newUser(client);
    const token = await userTokenOf(emulator, client, user.id, user.password, secrets);
    expect((await deleteAuthorizedUser(emulator, token)).status).toBe(200);
    expect((await getAuthorizedUser(emulator, token)).status).toBe(401);
    expect((await passwordGrant(emulator, client, user.id, user.password)).status).toBe(400);
  });

  it("deletes the user for a POST that names DELETE in X-HTTP-Method-Override", async () => {
    const client = await newClient();
    const user = await newUser(client);
    const token = await userTokenOf(emulator, client, user.id, user.password, secrets);
    const result = await fetch(`${emulator.url}/api/v1/users`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "x-http-method-override": "DELETE",
        "x-request-id": "override-1",
      },
    });
    expect(result.status).toBe(200);
    expect(emulator.userIds()).not.toContain(user.id);
  });

  it("refuses a client's token with 403 and deletes nobody", async () => {
    const client = await newClient();
    const before = emulator.userIds();
    const result = await deleteAuthorizedUser(emulator, client.token);
    expect(result.status).toBe(403);
    expect(emulator.userIds()).toEqual(before);
  });

  it("records a callback that fails and does not retry it, as finAPI ignores the answer", async () => {
    const deadUrl = `http://127.0.0.1:${await closedPort()}/gone`;
    const failing = await newClient({
      configuration: { userSynchronizationCallbackUrl: `${receiver.url}/fails` },
    });
    const unreachable = await newClient({ configuration: { userSynchronizationCallbackUrl: deadUrl } });
    const user = await newUser(failing);
    const token = await userTokenOf(emulator, unreachable, user.id, user.password, secrets);
    receiver.answerWith(500);
    try {
      await deleteAuthorizedUser(emulator, token);
      await emulator.callbacksSettled();
    } finally {
      receiver.answerWith(202);
    }
    /* Clients of earlier tests share the user base and are notified too; this test looks at its own two. */
    const ownClients = [failing.clientId, unreachable.clientId];
    const deliveries = emulator.callbacks.filter(
      (delivery) => delivery.userId === user.id && ownClients.includes(delivery.clientId),
    );
    expect(deliveries).toHaveLength(2);
    expect(deliveries.find((delivery) => delivery.clientId === failing.clientId)).toMatchObject({
      status: 500,
    });
    expect(deliveries.find((delivery) => delivery.clientId === unreachable.clientId)).toMatchObject({
      error: "could not connect (ECONNREFUSED)",
    });
    expect(receiver.received.filter((received) => received.path === "/fails")).toHaveLength(1);
  });

  it("gives up on a callback that does not answer within the callback timeout", async () => {
    const hanging = createServer(() => {});
    const hangingUrl = (await listen(hanging)).url;
    const slowEmulator = await startFinapiEmulator({ callbackTimeoutMs: 100 });
    try {
      const url = `${hangingUrl}/slow`;
      slowEmulator.addClient({
        clientId: "slow",
        clientSecret: "slow-secret",
        configuration: { userSynchronizationCallbackUrl: url },
      });
      slowEmulator.addUser({ id: "slow-user", password: "password-1" });
      const token = await userTokenOf(
        slowEmulator,
        { clientId: "slow", clientSecret: "slow-secret" },
        "slow-user",
        "password-1",
      );
      secrets.add(token);
      await deleteAuthorizedUser(slowEmulator, token);
      await slowEmulator.callbacksSettled();
      expect(slowEmulator.callbacks).toEqual([
        {
          clientId: "slow",
          userBase: "sandbox",
          url,
          userId: "slow-user",
          event: "DELETED",
          error: "no answer within 100 ms",
        },
      ]);
    } finally {
      await slowEmulator.close();
      hanging.closeAllConnections();
      hanging.close();
    }
  });
});

describe("POST /api/v1/mandatorAdmin/deleteUsers", () => {
  it("lets a mandator admin client delete users by id, ignoring unknown ids, and notifies every callback per user", async () => {
    const admin = await newClient({
      mandatorAdmin: true,
      configuration: { userSynchronizationCallbackUrl: `${receiver.url}/admin` },
    });
    const app = await newClient({ configuration: { userSynchronizationCallbackUrl: `${receiver.url}/app` } });
    const zed = await newUser(app, uniqueUserId("zed"));
    const amy = await newUser(app, uniqueUserId("amy"));
    receiver.received.length = 0;

    const result = await deleteUsers(emulator, admin.token, {
      userIds: [zed.id, "no-such-user", amy.id, zed.id],
    });
    expect(result.status).toBe(200);
    expect(userIdentifiersListSchema.parse(result.body)).toEqual({
      deletedUsers: [amy.id, zed.id],
      nonDeletedUsers: [],
    });
    await emulator.callbacksSettled();
    const notified = receiver.received
      .filter((received) => received.path === "/admin" || received.path === "/app")
      .map((received) => `${received.path} ${(received.body as { userId: string }).userId}`);
    expect(notified.sort()).toEqual([
      `/admin ${amy.id}`,
      `/admin ${zed.id}`,
      `/app ${amy.id}`,
      `/app ${zed.id}`,
    ]);
  });

  it("refuses a client that is not a mandator admin with 403 and deletes nobody", async () => {
    const client = await newClient();
    const user = await newUser(client);
    const result = await deleteUsers(emulator, client.token, { userIds: [user.id] });
    expect(result.status).toBe(403);
    expect(errorsOf(result.body)).toEqual([expect.objectContaining({ code: "UNAUTHORIZED_ACCESS" })]);
    expect(emulator.userIds()).toContain(user.id);
  });

  it("rejects a body without a userIds array with 400", async () => {
    const admin = await newClient({ mandatorAdmin: true });
    const result = await deleteUsers(emulator, admin.token, { userId: "x" });
    expect(result.status).toBe(400);
    expect(errorsOf(result.body).map((error) => error.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^userIds: must be an array of user ids/),
        'Unrecognized field "userId" (class UserIdentifiersParams), not marked as ignorable',
      ]),
    );
  });
});

describe("user bases", () => {
  /* An emulator of its own: sandbox and live clients, and two sandbox mandators with user bases of their own. */
  let own: FinapiEmulator;
  const credentials = (clientId: string) => {
    const client = { clientId, clientSecret: `${clientId}-secret-${crypto.randomUUID()}` };
    secrets.add(client.clientSecret);
    return client;
  };
  const sandboxApp = credentials("sandbox-app");
  const sandboxAdmin = credentials("sandbox-admin");
  const liveApp = credentials("live-app");
  const mandatorTwo = credentials("mandator-two");
  /* Nothing listens there: a delivery to it is recorded as failed, which shows it was attempted. */
  const LIVE_CALLBACK = "https://127.0.0.1:9/live-app";
  const tokenOf = (client: ClientCredentials) =>
    accessTokenOf(own, client.clientId, client.clientSecret, secrets);
  const create = async (client: ClientCredentials, id: string, password: string) => {
    secrets.add(password);
    expect((await createUser(own, await tokenOf(client), { id, password })).status).toBe(201);
  };

  beforeAll(async () => {
    own = await startFinapiEmulator({
      clients: [
        { ...sandboxApp, configuration: { userSynchronizationCallbackUrl: `${receiver.url}/sandbox-app` } },
        {
          ...sandboxAdmin,
          mandatorAdmin: true,
          configuration: { userSynchronizationCallbackUrl: `${receiver.url}/sandbox-admin` },
        },
        { ...liveApp, environment: "live", configuration: { userSynchronizationCallbackUrl: LIVE_CALLBACK } },
        {
          ...mandatorTwo,
          userBase: "mandator-two",
          configuration: { userSynchronizationCallbackUrl: `${receiver.url}/mandator-two` },
        },
      ],
    });
  });

  afterAll(() => own.close());

  it("keeps the same user id in two user bases as two users, each with its own password", async () => {
    await create(sandboxApp, "customer-4711", "sandbox-password");
    await create(liveApp, "customer-4711", "live-password");
    expect(own.userIds("sandbox")).toContain("customer-4711");
    expect(own.userIds("live")).toContain("customer-4711");
    expect((await passwordGrant(own, liveApp, "customer-4711", "sandbox-password")).status).toBe(400);
    await expect(userTokenOf(own, liveApp, "customer-4711", "live-password", secrets)).resolves.toEqual(
      expect.any(String),
    );
  });

  it("deletes a user from its own user base only and calls back every client of that user base once, no other", async () => {
    await create(sandboxApp, "customer-4712", "sandbox-password-2");
    await create(liveApp, "customer-4712", "live-password-2");
    await create(mandatorTwo, "customer-4712", "mandator-password-2");
    receiver.received.length = 0;
    const before = own.callbacks.length;

    const token = await userTokenOf(own, sandboxApp, "customer-4712", "sandbox-password-2", secrets);
    expect((await deleteAuthorizedUser(own, token)).status).toBe(200);
    await own.callbacksSettled();

    expect(own.userIds("sandbox")).not.toContain("customer-4712");
    expect(own.userIds("live")).toContain("customer-4712");
    expect(own.userIds("mandator-two")).toContain("customer-4712");
    expect(receiver.received.map((received) => received.path).sort()).toEqual([
      "/sandbox-admin",
      "/sandbox-app",
    ]);
    expect(
      own.callbacks.slice(before).map(({ clientId, userBase, status }) => ({ clientId, userBase, status })),
    ).toEqual(
      expect.arrayContaining([
        { clientId: "sandbox-app", userBase: "sandbox", status: 202 },
        { clientId: "sandbox-admin", userBase: "sandbox", status: 202 },
      ]),
    );
    expect(own.callbacks.slice(before)).toHaveLength(2);
  });

  it("calls back the live clients for a deletion in the live user base", async () => {
    await create(liveApp, "customer-4713", "live-password-3");
    receiver.received.length = 0;
    const before = own.callbacks.length;
    const token = await userTokenOf(own, liveApp, "customer-4713", "live-password-3", secrets);
    await deleteAuthorizedUser(own, token);
    await own.callbacksSettled();
    expect(receiver.received).toEqual([]);
    expect(own.callbacks.slice(before)).toEqual([
      expect.objectContaining({
        clientId: "live-app",
        userBase: "live",
        url: LIVE_CALLBACK,
        userId: "customer-4713",
      }),
    ]);
  });

  it("lets a mandator admin delete users of its own user base only", async () => {
    await create(liveApp, "live-only", "live-password-4");
    const result = await deleteUsers(own, await tokenOf(sandboxAdmin), { userIds: ["live-only"] });
    expect(userIdentifiersListSchema.parse(result.body)).toEqual({ deletedUsers: [], nonDeletedUsers: [] });
    expect(own.userIds("live")).toContain("live-only");
  });

  it("refuses a client whose user base holds clients of another environment", () => {
    expect(() =>
      own.addClient({ ...credentials("live-in-sandbox"), environment: "live", userBase: "sandbox" }),
    ).toThrow(
      'Invalid emulated client "live-in-sandbox": user base "sandbox" holds sandbox clients, and a user base never spans two environments',
    );
  });

  it("puts a user added by hand into the user base it names", () => {
    own.addUser({ id: "seeded-live", password: "seeded-password", userBase: "live" });
    expect(own.userIds("live")).toContain("seeded-live");
    expect(own.userIds()).not.toContain("seeded-live");
    expect(() => own.addUser({ id: "seeded-live", password: "seeded-password", userBase: "live" })).toThrow(
      'The emulator already has a user "seeded-live" in user base "live"',
    );
  });
});

describe("the emulator's user base by hand", () => {
  it("adds a user that every client can log in, and refuses a second user with the same id", async () => {
    const client = await newClient();
    const id = uniqueUserId("seeded");
    emulator.addUser({ id, password: "seeded-password" });
    secrets.add("seeded-password");
    await expect(userTokenOf(emulator, client, id, "seeded-password", secrets)).resolves.toEqual(
      expect.any(String),
    );
    expect(() => emulator.addUser({ id, password: "seeded-password" })).toThrow(/already has a user/);
    expect(() => emulator.addUser({ id: "bad id", password: "seeded-password" })).toThrow(
      /Invalid emulated user: id/,
    );
  });

  it("marks a mandator admin client in its configuration", async () => {
    const admin = await newClient({ mandatorAdmin: true });
    const plain = await newClient();
    expect(emulator.configurationOf(admin.clientId).isMandatorAdmin).toBe(true);
    expect(emulator.configurationOf(plain.clientId).isMandatorAdmin).toBe(false);
  });
});
