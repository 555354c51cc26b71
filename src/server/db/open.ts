/** Picks the database: `pg` on a URL (DATABASE_URL), else embedded PGlite in a data directory. */
import { mkdir } from 'node:fs/promises';
import type { Db } from './db.ts';
import { openPglite } from './pglite.ts';
import { openPostgres, type PostgresOptions } from './postgres.ts';

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  /** PGlite data directory (created when missing); undefined = in memory. */
  dataDir?: string | undefined;
  /** Pool options when `databaseUrl` is set. */
  pool?: PostgresOptions;
}

export async function openDb(opts: OpenDbOptions): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.pool);
  if (opts.dataDir === undefined) return openPglite();
  await mkdir(opts.dataDir, { recursive: true });
  return openPglite({ dataDir: opts.dataDir });
}
