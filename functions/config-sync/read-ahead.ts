/** How a run's batched reads are cut: the call's limit, and how far past the id asked for to read. */
export interface ReadAheadOptions<Call> {
  /** The most ids one call takes. */
  readonly batchSize: number;
  /** How many ids past the one asked for are requested too (its own batch and the next one: 2 × batchSize). */
  readonly aheadIds: number;
  /** Whether an id that no call holds yet needs one (the cache does not serve it). */
  readonly needsRead: (id: string) => boolean;
  /** Starts one call for `batch`, in the run's order. */
  readonly startCall: (batch: readonly string[]) => Call;
}

/** A run's reads over the ids it will ask for, in the order it asks. */
export interface ReadAhead<Call> {
  /**
   * The call that reads `id`, started now with the ids after it that need a read (up to batchSize)
   * unless one already holds it, or undefined when the cache serves it; also starts the calls for the
   * next aheadIds ids, so that a call is under way before a client waits for it.
   */
  ask(id: string): Call | undefined;
}

/* Parameter Store's GetParameters and Secrets Manager's BatchGetSecretValue are read alike. */
export function readAhead<Call>(ids: readonly string[], options: ReadAheadOptions<Call>): ReadAhead<Call> {
  const order = [...new Set(ids)];
  const position = new Map(order.map((id, index) => [id, index]));
  const calls = new Map<string, Call>();
  const needsCall = (id: string) => !calls.has(id) && options.needsRead(id);

  const startBatch = (id: string) => {
    const batch = [id];
    for (let index = (position.get(id) ?? order.length) + 1; index < order.length; index++) {
      if (batch.length === options.batchSize) break;
      const next = order[index] as string;
      if (needsCall(next)) batch.push(next);
    }
    const call = options.startCall(batch);
    for (const member of batch) calls.set(member, call);
  };

  return {
    ask(id) {
      if (needsCall(id)) startBatch(id);
      const from = position.get(id);
      if (from !== undefined) {
        const until = Math.min(order.length, from + options.aheadIds);
        for (let index = from + 1; index < until; index++) {
          const next = order[index] as string;
          if (needsCall(next)) startBatch(next);
        }
      }
      return calls.get(id);
    },
  };
}
