import { randomUUID } from "node:crypto";
import { type AwsJsonCall, AwsServiceError, startAwsJsonServer } from "./json-protocol-server.ts";

const MAX_ENTRIES_PER_CALL = 10;

/** An event the stand-in accepted, with its detail parsed. */
export interface PublishedEvent {
  readonly eventId: string;
  readonly eventBusName: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
  readonly time: string;
}

export interface EntryFailure {
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface EventBridgeStandInOptions {
  /** The buses that exist; a PutEvents entry naming another fails. @default every name is accepted */
  readonly busNames?: readonly string[];
  /** Called for each accepted event, after it is recorded (the local loop routes events this way). */
  readonly onEvent?: (event: PublishedEvent) => void;
}

export interface EventBridgeStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  readonly url: string;
  readonly calls: readonly AwsJsonCall[];
  /** Every accepted event, in order. */
  readonly events: readonly PublishedEvent[];
  /**
   * The next `count` entries fail inside a successful (HTTP 200) PutEvents answer, the partial failure
   * that the SDK does not retry and callers must detect through `FailedEntryCount`.
   */
  failNextEntries(count: number, failure?: EntryFailure): void;
  /** The next `times` PutEvents calls fail as a whole (the SDK retries these when retryable). */
  failNext(operation: string, error: AwsServiceError, times?: number): void;
  close(): Promise<void>;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

function field(entry: Record<string, unknown>, key: string): string | undefined {
  const value = entry[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function parseDetail(detail: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(detail);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A local EventBridge that serves PutEvents, records what it accepted, and fails entries on demand. */
export async function startEventBridge(options: EventBridgeStandInOptions = {}): Promise<EventBridgeStandIn> {
  const events: PublishedEvent[] = [];
  const pendingEntryFailures: EntryFailure[] = [];

  const acceptEntry = (entry: Record<string, unknown>): EntryResult => {
    const injected = pendingEntryFailures.shift();
    if (injected) return { ErrorCode: injected.errorCode, ErrorMessage: injected.errorMessage };
    const source = field(entry, "Source");
    const detailType = field(entry, "DetailType");
    const rawDetail = field(entry, "Detail");
    if (!source || !detailType || !rawDetail) {
      return {
        ErrorCode: "InvalidArgument",
        ErrorMessage: "Parameters Source, DetailType and Detail are required.",
      };
    }
    const detail = parseDetail(rawDetail);
    if (!detail) return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
    const eventBusName = field(entry, "EventBusName") ?? "default";
    if (options.busNames && !options.busNames.includes(eventBusName)) {
      return {
        ErrorCode: "ResourceNotFoundException",
        ErrorMessage: `Event bus ${eventBusName} does not exist.`,
      };
    }
    const event: PublishedEvent = {
      eventId: randomUUID(),
      eventBusName,
      source,
      detailType,
      detail,
      time: new Date().toISOString(),
    };
    events.push(event);
    options.onEvent?.(event);
    return { EventId: event.eventId };
  };

  const server = await startAwsJsonServer({
    targetPrefix: "AWSEvents",
    operations: {
      PutEvents: (input) => {
        const entries = input.Entries;
        if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES_PER_CALL) {
          throw new AwsServiceError(
            "ValidationException",
            `Entries must hold 1..${MAX_ENTRIES_PER_CALL} entries`,
          );
        }
        const results = entries.map((entry) => acceptEntry(entry as Record<string, unknown>));
        return {
          FailedEntryCount: results.filter((result) => "ErrorCode" in result).length,
          Entries: results,
        };
      },
    },
  });

  return {
    url: server.url,
    calls: server.calls,
    events,
    failNextEntries(count, failure = { errorCode: "InternalFailure", errorMessage: "Internal failure." }) {
      for (let index = 0; index < count; index += 1) pendingEntryFailures.push(failure);
    },
    failNext: (operation, error, times) => server.failNext(operation, error, times),
    close: () => server.close(),
  };
}
