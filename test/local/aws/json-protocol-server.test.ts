import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AwsJsonServer,
  AwsServiceError,
  startAwsJsonServer,
} from "../../../local/aws/json-protocol-server.ts";
import { standInClientConfig } from "../../support/stand-in-client.ts";

describe("startAwsJsonServer", () => {
  let server: AwsJsonServer;
  let ssm: SSMClient;

  beforeAll(async () => {
    server = await startAwsJsonServer({
      targetPrefix: "AmazonSSM",
      operations: {
        GetParameter: (input) => {
          if (input.Name !== "/known") throw new AwsServiceError("ParameterNotFound", "no such parameter");
          return { Parameter: { Name: "/known", Type: "String", Value: "v1", Version: 1 } };
        },
      },
    });
    ssm = new SSMClient(standInClientConfig(server.url));
  });

  afterAll(async () => {
    ssm.destroy();
    await server.close();
  });

  it("answers an SDK v3 call with the operation's result and records the call", async () => {
    const result = await ssm.send(new GetParameterCommand({ Name: "/known", WithDecryption: true }));
    expect(result.Parameter?.Value).toBe("v1");
    expect(server.calls.at(-1)).toEqual({
      operation: "GetParameter",
      input: { Name: "/known", WithDecryption: true },
    });
  });

  it("turns an AwsServiceError into the SDK's modelled exception", async () => {
    await expect(ssm.send(new GetParameterCommand({ Name: "/missing" }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
  });

  it("fails the next calls of an operation as told, then serves again", async () => {
    server.failNext("GetParameter", new AwsServiceError("ThrottlingException", "slow down"), 1);
    await expect(ssm.send(new GetParameterCommand({ Name: "/known" }))).rejects.toMatchObject({
      name: "ThrottlingException",
    });
    const result = await ssm.send(new GetParameterCommand({ Name: "/known" }));
    expect(result.Parameter?.Value).toBe("v1");
  });
});
