/**
 * What a client name and a user-base label must look like: both appear in callback URL paths, metric
 * dimensions, resource names and forwarded deletions, so the stack, both functions and the CLI check
 * them by this one rule.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const NAME_RULE = "1..64 characters of a-z A-Z 0-9 - _";
