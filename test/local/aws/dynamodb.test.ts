import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbStandIn, startDynamoDb } from "../../../local/aws/dynamodb.ts";

describe("startDynamoDb", () => {
  let dynamo: DynamoDbStandIn;

  beforeAll(async () => {
    dynamo = await startDynamoDb();
    await dynamo.createTable("records");
  });

  afterAll(async () => {
    await dynamo.close();
  });

  it("serves a table keyed by id with conditional writes", async () => {
    const put = () =>
      dynamo.client.send(
        new PutItemCommand({
          TableName: "records",
          Item: { id: { S: "a" }, value: { N: "1" } },
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": "id" },
        }),
      );
    await put();
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const read = await dynamo.client.send(
      new GetItemCommand({ TableName: "records", Key: { id: { S: "a" } }, ConsistentRead: true }),
    );
    expect(read.Item?.value).toEqual({ N: "1" });
  });

  /*
   * Real DynamoDB returns the existing item with the failure; Powertools Idempotency then skips its
   * GetItem. dynalite does not, so tests against it take Powertools' fallback (a consistent GetItem).
   */
  it("does not return the existing item on a failed condition, unlike DynamoDB", async () => {
    const failure = await dynamo.client
      .send(
        new PutItemCommand({
          TableName: "records",
          Item: { id: { S: "a" } },
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": "id" },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      )
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConditionalCheckFailedException);
    expect((failure as ConditionalCheckFailedException).Item).toBeUndefined();
  });
});
