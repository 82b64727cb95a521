import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";

/** Where and when figures were measured: they mean little without it. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly node: string;
  readonly date: string;
  readonly commit: string;
}

function currentCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

export function describeMachine(now = new Date()): Machine {
  const [first] = cpus();
  return {
    cpu: first?.model.trim() || "unknown",
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    date: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    commit: currentCommit(),
  };
}

export function machineLine(machine: Machine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB; Node.js ${machine.node}; ${machine.date}; commit ${machine.commit}`;
}
