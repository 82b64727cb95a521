/**
 * Maps `items` through `work` with at most `limit` calls in flight, keeping the input order in the
 * result. `work` must not throw: each item's failure belongs in its result.
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

/**
 * A bound on concurrent calls: the function it returns runs `work` once fewer than `limit` calls are
 * running, in the order they were asked for.
 */
export function createLimiter(limit: number): <R>(work: () => Promise<R>) => Promise<R> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running >= Math.max(1, limit)) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      /* The slot passes straight to the next waiter, so no later caller can take it first. */
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
