/*
 * Bundled in place of @aws-sdk/credential-provider-node, the SDK clients' default credential chain (see
 * ObservedNodeFunction): a Lambda function's credentials are always the execution role's, in the environment
 * variables Lambda sets (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which is the
 * chain's first link. The other links (profiles, SSO, web identity, container and instance metadata) and
 * the STS and SSO clients they carry are never reached in Lambda, yet made up a fifth of each bundle and
 * of its load time. Without those variables a call fails with "Unable to find environment variable
 * credentials."
 */
export { fromEnv as defaultProvider } from "@aws-sdk/credential-provider-env";
