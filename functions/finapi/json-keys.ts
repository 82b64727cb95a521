/*
 * What JSON.parse does not tell: where each key stands in the text, and which keys an object repeats
 * (JSON.parse keeps the last one silently, so a reviewer may read a value that is not the one applied).
 * Values are still JSON.parse's business; this scanner only walks text that JSON.parse accepted.
 */

/** A place in the text, 1-based, the column counted in UTF-16 code units as editors and CI annotations do. */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

export interface RepeatedKey {
  /** The key's path, the parts joined with "." (array elements by index), as violations name fields. */
  readonly path: string;
  /** Where the key appears again. */
  readonly position: TextPosition;
  /** Where it appeared first. */
  readonly first: TextPosition;
}

export interface JsonKeyScan {
  /** Where each key path stands (its last occurrence, the one whose value JSON.parse keeps); `$` for the document. */
  readonly positions: ReadonlyMap<string, TextPosition>;
  /** Every repetition of a key within one object, in text order. */
  readonly repeated: readonly RepeatedKey[];
}

/** Turns offsets into line and column; lines end at "\n" (a "\r" before it stays part of the line). */
export function positionFinder(text: string): (offset: number) => TextPosition {
  const lineStarts = [0];
  for (let index = text.indexOf("\n"); index !== -1; index = text.indexOf("\n", index + 1)) {
    lineStarts.push(index + 1);
  }
  return (offset) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((lineStarts[middle] ?? 0) <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: offset - (lineStarts[low] ?? 0) + 1 };
  };
}

interface Container {
  readonly kind: "object" | "array";
  /** The container's own path, "" for the document. */
  readonly path: string;
  /** Object: each key seen so far and where. */
  readonly keys: Map<string, TextPosition>;
  /** Object: the key whose value comes next; array: the index of the element that comes next. */
  member: string | number;
  expectingKey: boolean;
}

const memberPath = (container: Container, member: string | number) =>
  container.path === "" ? String(member) : `${container.path}.${member}`;

/* Offset just past the string token that starts with the quote at `start`. */
function stringEnd(text: string, start: number): number {
  let index = start + 1;
  while (text[index] !== '"') index += text[index] === "\\" ? 2 : 1;
  return index + 1;
}

/**
 * Scans JSON text that JSON.parse accepted (the caller parses first). Iterative, so that deep nesting
 * cannot overflow the stack; the work grows with the text's length times its nesting depth (each key's
 * path is spelled out), which for documents of a few hundred bytes is nothing.
 */
export function scanJsonKeys(text: string): JsonKeyScan {
  const positionAt = positionFinder(text);
  const positions = new Map<string, TextPosition>();
  const repeated: RepeatedKey[] = [];
  const stack: Container[] = [];
  let rootSeen = false;

  const valuePath = (): string => {
    const top = stack.at(-1);
    return top ? memberPath(top, top.member) : "";
  };
  const valueStarts = (offset: number) => {
    if (rootSeen) return;
    rootSeen = true;
    positions.set("$", positionAt(offset));
  };

  for (let index = 0; index < text.length; ) {
    const character = text[index];
    const top = stack.at(-1);
    if (character === '"') {
      const end = stringEnd(text, index);
      if (top?.kind === "object" && top.expectingKey) {
        const key = JSON.parse(text.slice(index, end)) as string;
        const position = positionAt(index);
        const path = memberPath(top, key);
        const first = top.keys.get(key);
        if (first) repeated.push({ path, position, first });
        else top.keys.set(key, position);
        positions.set(path, position);
        top.member = key;
        top.expectingKey = false;
      } else {
        valueStarts(index);
      }
      index = end;
      continue;
    }
    if (character === "{" || character === "[") {
      valueStarts(index);
      const kind = character === "{" ? "object" : "array";
      stack.push({ kind, path: valuePath(), keys: new Map(), member: 0, expectingKey: kind === "object" });
    } else if (character === "}" || character === "]") {
      stack.pop();
    } else if (character === ",") {
      if (top?.kind === "object") top.expectingKey = true;
      else if (top) top.member = (top.member as number) + 1;
    } else if (character !== undefined && !/[\s:]/.test(character)) {
      valueStarts(index);
    }
    index++;
  }
  return { positions, repeated };
}
