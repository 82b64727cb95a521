/**
 * The settings of every AWS SDK client the Lambdas create: each call makes 3 attempts of at most 1 s
 * each, plus backoff. SSM, Secrets Manager, DynamoDB, EventBridge and SQS answer in milliseconds; a hung
 * connection must not hold a run until the Lambda timeout, nor eat the time a failed forward needs for
 * its dead letter. The SDK's http handler only logs a breached requestTimeout unless
 * throwOnRequestTimeout is set.
 */
export const AWS_CLIENT_CONFIG = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true },
};
