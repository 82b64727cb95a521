import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** Busy threads keeping every core of the machine at work until `stop()`. */
export interface CpuSaturation {
  /** How many busy threads run: one per core. */
  readonly threads: number;
  stop(): Promise<void>;
}

/*
 * A thread that never yields: the functions' environments (worker threads too) then get the CPU only
 * as the scheduler shares it out, as on a Lambda host or a CI runner under load.
 */
const BUSY_LOOP = "for (;;) {}";

/** Starts one busy thread per core and resolves once every one of them runs. */
export async function saturateCpu(threads = availableParallelism()): Promise<CpuSaturation> {
  const workers = Array.from({ length: threads }, () => new Worker(BUSY_LOOP, { eval: true }));
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once("online", resolve);
          worker.once("error", reject);
        }),
    ),
  );
  return {
    threads,
    async stop() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
