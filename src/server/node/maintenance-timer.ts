/**
 * Runs the database maintenance (migration 00005) on a timer, off every visitor's path: its own queries on
 * the pool, never inside a turn; batches until done; jittered, so a fleet started together does not call at
 * the same moment (and the database lets one instance at a time do the work anyway: run_maintenance takes an
 * advisory lock); errors are logged and retried at the next run, never fatal; stop() waits for a run in flight.
 */
import type { MaintenanceResult } from '../data/maintenance.ts';
import type { Logger } from '../log.ts';

export interface MaintenanceTimerOptions {
  /** One maintenance run (batches until done). */
  run: (stopped: () => boolean) => Promise<MaintenanceResult>;
  log: Logger;
  /** Mean time between runs; each wait is drawn from 75 %–125 % of it. */
  intervalMs: number;
  /** Mean wait before the first run (default: a tenth of the interval, at most 30 s). */
  firstDelayMs?: number;
  /** For tests: a random source in [0, 1). */
  random?: () => number;
}

export class MaintenanceTimer {
  readonly #opts: MaintenanceTimerOptions;
  readonly #random: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Completed runs (tests wait on it). */
  runs = 0;

  constructor(opts: MaintenanceTimerOptions) {
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
  }

  start(): void {
    if (this.#opts.intervalMs <= 0) return;
    this.#schedule(this.#opts.firstDelayMs ?? Math.min(this.#opts.intervalMs / 10, 30_000));
  }

  /** No new run starts; resolves once a run in flight has finished its current batch. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(meanMs: number): void {
    if (this.#stopped) return;
    const delay = Math.round(meanMs * (0.75 + 0.5 * this.#random()));
    this.#timer = setTimeout(() => {
      this.#running = this.#runOnce().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#opts.intervalMs);
      });
    }, delay);
    // Never keeps the process alive by itself.
    this.#timer.unref?.();
  }

  async #runOnce(): Promise<void> {
    const { log } = this.#opts;
    const started = performance.now();
    try {
      const result = await this.#opts.run(() => this.#stopped);
      const removed = Object.values(result.removed).reduce((a, b) => a + b, 0);
      const errors = Object.keys(result.errors).length;
      if (errors > 0) {
        log.warn('maintenance: some tasks failed, retrying at the next run', { errors: result.errors, removed: result.removed });
      } else if (removed > 0) {
        log.info('maintenance: pruned stale rows', {
          removed: result.removed,
          batches: result.batches,
          ms: Math.round(performance.now() - started),
        });
      }
    } catch (err) {
      log.warn('maintenance failed, retrying at the next run', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.runs++;
    }
  }
}
