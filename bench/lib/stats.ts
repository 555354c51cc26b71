/** Small statistics helpers for the benchmarks: nearest-rank percentiles, rounding, the worse of two runs. */

/** Nearest-rank percentile of already sorted numbers (p in 0..100); NaN for an empty list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export interface Quantiles {
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

export function quantiles(values: readonly number[]): Quantiles {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), n: s.length };
}

/** Rounds to `digits` decimals (JSON stays readable; sub-microsecond digits are noise anyway). */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/**
 * The worse of several runs, figure by figure: the highest of a cost (time, CPU), the lowest of a rate.
 * NaN (a run that measured nothing) wins, so a broken run is never hidden by a good one.
 */
export function worst(values: readonly number[], kind: 'cost' | 'rate' = 'cost'): number {
  if (values.some((v) => !Number.isFinite(v))) return Number.NaN;
  return kind === 'cost' ? Math.max(...values) : Math.min(...values);
}
