/** The most of an answer's body a finAPI call reads: finAPI's answers here are a few hundred bytes. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** An answer's body went over the cap; the rest of it was not read and the connection was dropped. */
export class AnswerTooLargeError extends Error {
  override readonly name = "AnswerTooLargeError";
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    super(`answered with a body larger than ${formatBytes(maxBytes)}`);
    this.maxBytes = maxBytes;
  }
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes} bytes`;
}

/**
 * Reads a body as UTF-8 text, at most `maxBytes` of it. Past the cap the stream is cancelled, which
 * closes the connection, so a peer sending gigabytes costs at most the cap in memory (a declared
 * Content-Length is not trusted: the bytes are counted as they arrive).
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let received = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new AnswerTooLargeError(maxBytes);
    }
    text += decoder.decode(value, { stream: true });
  }
}
