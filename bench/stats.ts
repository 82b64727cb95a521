/** The nearest-rank percentile (p in 0..100) of the values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export const median = (values: readonly number[]) => percentile(values, 50);

export const milliseconds = (value: number) =>
  value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;

export const kilobytes = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
