import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsServiceError } from "../../../local/aws/json-protocol-server.ts";
import { type ParameterStoreChangeEvent, type SsmStandIn, startSsm } from "../../../local/aws/ssm.ts";
import { standInClientConfig } from "../../support/stand-in-client.ts";

describe("startSsm", () => {
  let standIn: SsmStandIn;
  let ssm: SSMClient;
  const heard: ParameterStoreChangeEvent[] = [];

  beforeAll(async () => {
    standIn = await startSsm({
      parameters: { "/seeded": '{"refreshTokensValidityPeriod":0}' },
      onChange: (event) => heard.push(event),
    });
    ssm = new SSMClient(standInClientConfig(standIn.url));
  });

  afterAll(async () => {
    ssm.destroy();
    await standIn.close();
  });

  const get = async (name: string, withDecryption = true) =>
    (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: withDecryption }))).Parameter;

  it("serves a seeded parameter as version 1 without emitting a change", async () => {
    expect(await get("/seeded")).toMatchObject({
      Name: "/seeded",
      Type: "String",
      Value: '{"refreshTokensValidityPeriod":0}',
      Version: 1,
      ARN: "arn:aws:ssm:eu-central-1:000000000000:parameter/seeded",
    });
    expect(heard.filter((event) => event.detail.name === "/seeded")).toEqual([]);
  });

  it("numbers versions and emits Create, then Update, as Parameter Store Change events", async () => {
    const first = await ssm.send(
      new PutParameterCommand({ Name: "/finapi/acme", Value: "one", Type: "String" }),
    );
    const second = await ssm.send(
      new PutParameterCommand({ Name: "/finapi/acme", Value: "two", Overwrite: true }),
    );
    expect([first.Version, second.Version]).toEqual([1, 2]);
    expect((await get("/finapi/acme"))?.Value).toBe("two");
    const events = heard.filter((event) => event.detail.name === "/finapi/acme");
    expect(events.map((event) => event.detail.operation)).toEqual(["Create", "Update"]);
    expect(events[0]).toMatchObject({
      source: "aws.ssm",
      "detail-type": "Parameter Store Change",
      resources: ["arn:aws:ssm:eu-central-1:000000000000:parameter/finapi/acme"],
      detail: { type: "String" },
    });
  });

  it("refuses to overwrite without Overwrite, and a hierarchical name without the leading slash", async () => {
    await expect(
      ssm.send(new PutParameterCommand({ Name: "/finapi/acme", Value: "three", Type: "String" })),
    ).rejects.toBeInstanceOf(ParameterAlreadyExists);
    await expect(
      ssm.send(new PutParameterCommand({ Name: "finapi/other", Value: "x", Type: "String" })),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("reads an older version and a labelled version through the selector, and moves a label", async () => {
    standIn.putParameter("/labelled", "v1");
    standIn.putParameter("/labelled", "v2");
    await ssm.send(
      new LabelParameterVersionCommand({ Name: "/labelled", ParameterVersion: 1, Labels: ["live"] }),
    );
    expect(await get("/labelled:1")).toMatchObject({ Value: "v1", Selector: ":1" });
    expect(await get("/labelled:live")).toMatchObject({ Value: "v1", Selector: ":live" });
    await ssm.send(new LabelParameterVersionCommand({ Name: "/labelled", Labels: ["live"] }));
    expect((await get("/labelled:live"))?.Value).toBe("v2");
    expect((await get("/labelled"))?.Value).toBe("v2");
    expect(heard.filter((e) => e.detail.name === "/labelled").map((e) => e.detail.operation)).toEqual([
      "Create",
      "Update",
      "LabelParameterVersion",
      "LabelParameterVersion",
    ]);
    await expect(get("/labelled:9")).rejects.toBeInstanceOf(ParameterVersionNotFound);
  });

  it("decrypts a SecureString only when asked to", async () => {
    standIn.putParameter("/secure", "plain-text-value", { type: "SecureString" });
    expect((await get("/secure", true))?.Value).toBe("plain-text-value");
    const encrypted = (await get("/secure", false))?.Value;
    expect(encrypted).not.toContain("plain-text-value");
    expect(Buffer.from(encrypted ?? "", "base64").toString()).not.toContain("plain-text-value");
  });

  it("deletes a parameter, emits Delete and answers ParameterNotFound afterwards", async () => {
    standIn.putParameter("/doomed", "bye");
    await ssm.send(new DeleteParameterCommand({ Name: "/doomed" }));
    await expect(get("/doomed")).rejects.toBeInstanceOf(ParameterNotFound);
    await expect(ssm.send(new DeleteParameterCommand({ Name: "/doomed" }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
    expect(standIn.changes.at(-1)?.detail).toMatchObject({ operation: "Delete", name: "/doomed" });
    expect(standIn.valueOf("/doomed")).toBeUndefined();
  });

  it("answers GetParameters with the found ones and the invalid names", async () => {
    const result = await ssm.send(new GetParametersCommand({ Names: ["/seeded", "/nobody"] }));
    expect(result.Parameters?.map((parameter) => parameter.Name)).toEqual(["/seeded"]);
    expect(result.InvalidParameters).toEqual(["/nobody"]);
  });

  it("fails the next calls as told", async () => {
    standIn.failNext("GetParameter", new AwsServiceError("InternalServerError", "boom", 500));
    await expect(get("/seeded")).rejects.toMatchObject({ name: "InternalServerError" });
    expect((await get("/seeded"))?.Value).toBe('{"refreshTokensValidityPeriod":0}');
  });
});
