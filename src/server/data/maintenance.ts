/**
 * The scheduled maintenance of migration 00005: `public.run_maintenance(batch_size)` runs one batch of every
 * registered task (public.maintenance_tasks). Shared by the Node server's timer and the `maintenance` command.
 */
import type { Executor } from './agents.ts';

export interface MaintenanceResult {
  /** True when another instance held the maintenance lock, so this call did nothing. */
  skipped: boolean;
  /** How many batches (calls) ran. */
  batches: number;
  /** Rows removed per task, over every batch. */
  removed: Record<string, number>;
  /** Tasks that failed, with the database's message (the others still ran). */
  errors: Record<string, string>;
}

interface Batch {
  skipped: boolean;
  removed?: Record<string, number>;
  errors?: Record<string, string>;
}

export interface RunMaintenanceOptions {
  /** Keep calling while a task still fills its batch (default false: one batch). */
  untilDone?: boolean;
  /** Upper bound on calls when untilDone (default 100). */
  maxBatches?: number;
  /** Checked between batches: stop early (the server is shutting down). */
  stopped?: () => boolean;
}

/**
 * One batch of every task, or (untilDone) batches until no task fills one. Each call is its own
 * transaction, so locks are held one batch at a time.
 */
export async function runMaintenance(q: Executor, batchSize: number, opts: RunMaintenanceOptions = {}): Promise<MaintenanceResult> {
  const result: MaintenanceResult = { skipped: false, batches: 0, removed: {}, errors: {} };
  const maxBatches = opts.untilDone ? (opts.maxBatches ?? 100) : 1;
  while (result.batches < maxBatches && !opts.stopped?.()) {
    const { rows } = await q.query<{ result: Batch }>('select public.run_maintenance($1) as result', [batchSize]);
    const batch = rows[0]!.result;
    if (batch.skipped) {
      // someone else is at it: their run covers what is left
      if (result.batches === 0) result.skipped = true;
      break;
    }
    result.batches++;
    let full = false;
    for (const [task, n] of Object.entries(batch.removed ?? {})) {
      result.removed[task] = (result.removed[task] ?? 0) + n;
      if (n >= batchSize) full = true;
    }
    Object.assign(result.errors, batch.errors ?? {});
    if (!full) break;
  }
  return result;
}
