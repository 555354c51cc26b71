/** Db over embedded PGlite (Node-only adapter): a data directory on disk, in memory, or a loaded snapshot. */
import { PGlite } from '@electric-sql/pglite';
import type { Db } from './db.ts';

export interface PgliteOptions {
  /** Directory holding the database files; omitted = in memory. */
  dataDir?: string;
  /** A tarball from `dumpDataDir()` to start from (tests load a migrated snapshot this way). */
  loadDataDir?: Blob | File;
}

export class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  /** The underlying PGlite instance (for `dumpDataDir()` and tools). */
  readonly pg: PGlite;

  constructor(pg: PGlite) {
    this.pg = pg;
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<{ rows: T[] }> {
    const res = await this.pg.query<T>(sql, params);
    return { rows: res.rows };
  }

  async exec(sql: string): Promise<void> {
    await this.pg.exec(sql);
  }

  transaction<R>(fn: (tx: Pick<Db, 'query' | 'exec'>) => Promise<R>): Promise<R> {
    return this.pg.transaction((tx) =>
      fn({
        query: async <T>(sql: string, params: unknown[] = []) => ({ rows: (await tx.query<T>(sql, params)).rows }),
        exec: async (sql: string) => {
          await tx.exec(sql);
        },
      }),
    );
  }

  /** A snapshot of the whole cluster, loadable with `openPglite({ loadDataDir })`. */
  dump(): Promise<File | Blob> {
    return this.pg.dumpDataDir('none');
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}

export async function openPglite(opts: PgliteOptions = {}): Promise<PgliteDb> {
  const options: { loadDataDir?: Blob | File } = {};
  if (opts.loadDataDir) options.loadDataDir = opts.loadDataDir;
  const pg = await PGlite.create(opts.dataDir, options);
  return new PgliteDb(pg);
}
