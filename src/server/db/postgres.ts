/**
 * Db over a `pg` Pool (Node-only adapter). Queries are unnamed (no named prepared statements), so it
 * also works through a transaction pooler (Supabase's port 6543, PgBouncer in transaction mode).
 */
import pg from 'pg';
import type { Db } from './db.ts';

export interface PostgresOptions {
  /** Pool size; default 10. */
  max?: number;
  /** Called when an idle pooled connection fails (the pool replaces it); default: ignored. */
  onError?: (err: Error) => void;
}

export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<{ rows: T[] }> {
    const res = await this.pool.query(sql, params);
    return { rows: res.rows as T[] };
  }

  async exec(sql: string): Promise<void> {
    // No parameters: the simple query protocol, which accepts several statements.
    await this.pool.query(sql);
  }

  async transaction<R>(fn: (tx: Pick<Db, 'query' | 'exec'>) => Promise<R>): Promise<R> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const result = await fn({
        query: async <T>(sql: string, params: unknown[] = []) => ({ rows: (await client.query(sql, params)).rows as T[] }),
        exec: async (sql: string) => {
          await client.query(sql);
        },
      });
      await client.query('commit');
      return result;
    } catch (err) {
      try {
        await client.query('rollback');
      } catch (rollbackErr) {
        broken = rollbackErr as Error; // the connection is unusable: destroy it instead of pooling it
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

export function openPostgres(connectionString: string, opts: PostgresOptions = {}): PostgresDb {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    // A dead or partitioned host must fail fast instead of holding a pooled connection for minutes:
    // connecting gives up after 10 s, and TCP keep-alive notices a peer that vanished.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  // Without a listener, an idle connection dropped by the server would crash the process.
  pool.on('error', (err) => opts.onError?.(err));
  return new PostgresDb(pool);
}
