import { ArnFormat, Stack } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * The ARN of an SSM parameter in the stack's account and region. A hierarchical name starts with "/"
 * while the ARN has exactly one slash after `parameter`, so the leading slash is dropped.
 */
export function parameterArn(scope: IConstruct, parameterName: string): string {
  return Stack.of(scope).formatArn({
    service: "ssm",
    resource: "parameter",
    resourceName: parameterName.replace(/^\//, ""),
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * The ARN to grant for a secret named by name or by complete ARN. Secrets Manager appends six random
 * characters to a secret's name in its ARN, so a name becomes the partial ARN `name-??????`: it
 * matches that secret and no other (`?` is exactly one character, unlike `*`).
 */
export function secretArn(scope: IConstruct, secretId: string): string {
  if (secretId.startsWith("arn:")) return secretId;
  return Stack.of(scope).formatArn({
    service: "secretsmanager",
    resource: "secret",
    resourceName: `${secretId}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The ARN to grant for every secret whose name starts with `namePrefix` (e.g. `finapi/`). */
export function secretPrefixArn(scope: IConstruct, namePrefix: string): string {
  return Stack.of(scope).formatArn({
    service: "secretsmanager",
    resource: "secret",
    resourceName: `${namePrefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
