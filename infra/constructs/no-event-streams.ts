/*
 * Bundled in place of @smithy/core/event-streams (see ObservedNodeFunction). The SDK's protocols import it
 * only for an operation whose input or output is an event stream; the functions call none (GetParameters,
 * GetSecretValue, DynamoDB item reads and writes, PutEvents, SendMessage), yet esbuild inlines the
 * import and its codec. Should an operation with an event stream ever be called, it fails with this
 * message rather than a missing module.
 */
const NOT_BUNDLED =
  "@smithy/core/event-streams is not bundled into this function: none of its AWS operations streams events (infra/constructs/no-event-streams.ts)";

export function eventStreamSerdeProvider(): never {
  throw new Error(NOT_BUNDLED);
}

export class EventStreamSerde {
  constructor() {
    throw new Error(NOT_BUNDLED);
  }
}
