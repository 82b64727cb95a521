import { describe, expect, it } from "vitest";
import { AnswerTooLargeError, readBoundedText } from "../../functions/finapi/bounded-body.ts";

/** A response whose body arrives in the given chunks, recording whether the reader cancelled it. */
function chunkedResponse(chunks: readonly Uint8Array[]) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[state.pulled++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { response: new Response(body), state };
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe("readBoundedText", () => {
  it("reads a body of exactly the cap", async () => {
    const { response } = chunkedResponse([bytes("12345"), bytes("678")]);
    expect(await readBoundedText(response, 8)).toBe("12345678");
  });

  it("refuses one byte over the cap, naming it, and cancels the rest unread", async () => {
    const { response, state } = chunkedResponse([bytes("12345"), bytes("6789"), bytes("never read")]);
    const failure = await readBoundedText(response, 8).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AnswerTooLargeError);
    expect((failure as Error).message).toBe("answered with a body larger than 8 bytes");
    expect(state).toEqual({ pulled: 2, cancelled: true });
  });

  it("names a cap in MiB or KiB when it is a whole number of them", () => {
    expect(new AnswerTooLargeError(1024 * 1024).message).toBe("answered with a body larger than 1 MiB");
    expect(new AnswerTooLargeError(64 * 1024).message).toBe("answered with a body larger than 64 KiB");
  });

  it("decodes UTF-8 characters split across chunks", async () => {
    const euro = bytes("€");
    const { response } = chunkedResponse([euro.subarray(0, 1), euro.subarray(1), bytes("!")]);
    expect(await readBoundedText(response, 100)).toBe("€!");
  });

  it("reads an answer without a body as empty", async () => {
    expect(await readBoundedText(new Response(null, { status: 204 }), 8)).toBe("");
  });
});
