/**
 * A bench part: one job (proxy, weight, render, …) that writes its own keys of results.json and its own
 * rows of the summary table. bench/run.ts runs a list of them; a part that throws fails the whole bench.
 */
import type { Row } from './table.ts';

export interface BenchContext {
  /** The results being built; each part sets its own top-level keys (DESIGN.md names them). */
  results: Record<string, unknown>;
  /** The summary table (console, README), in part order. */
  rows: Row[];
  args: readonly string[];
  /** --short: shorter phases for trying the bench out; such results are marked and never written to results.json. */
  short: boolean;
  say(line: string): void;
}

export interface Part {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}
