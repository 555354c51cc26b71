/**
 * Db over a `pg` Pool (Node-only adapter). Queries are unnamed, except the hot ones the store names
 * (`opts.prepare`: begin_turn, end_turn), which are named prepared statements kept per connection (the
 * server parses and plans them once: PostgreSQL CPU per turn x0.91 to x0.94). A transaction pooler
 * (Supabase's port 6543, PgBouncer in transaction mode) cannot keep them: the first sign of that (the
 * server does not know the statement, or already has one of that name) switches this Db to unnamed
 * queries for good, with a warning, after running the failed query again unnamed (it failed before running).
 *
 * A statement timeout (the proxy's: the store call's 10 s) makes an abandoned query free its connection: the
 * server cancels the statement (its locks go with it), and 2 s later the client gives up on a server that
 * does not answer at all and drops the connection from the pool. It is a start-up parameter; a pooler that
 * refuses start-up parameters (PgBouncer: "unsupported startup parameter") gets a pool without it, once,
 * with a warning: only the client-side limit is left then.
 */
import pg from 'pg';
import type { Db, QueryOptions } from './db.ts';

export interface PostgresOptions {
  /** Pool size; default 10. */
  max?: number;
  /** Called when an idle pooled connection fails (the pool replaces it); default: ignored. */
  onError?: (err: Error) => void;
  /** Longest a statement may run (server: statement_timeout; client: this + 2 s); default: no limit. */
  statementTimeoutMs?: number;
  /** Told once when the server refuses the statement_timeout start-up parameter (see above). */
  onWarning?: (message: string) => void;
}

/** How long after the server's statement_timeout the client itself gives up on an answer. */
const CLIENT_GRACE_MS = 2_000;

function poolConfig(connectionString: string, opts: PostgresOptions, serverTimeout: boolean): pg.PoolConfig {
  const timeout = opts.statementTimeoutMs;
  return {
    connectionString,
    max: opts.max ?? 10,
    // A dead or partitioned host must fail fast instead of holding a pooled connection for minutes:
    // connecting gives up after 10 s, and TCP keep-alive notices a peer that vanished.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    ...(timeout ? { query_timeout: timeout + CLIENT_GRACE_MS } : {}),
    ...(timeout && serverTimeout ? { statement_timeout: timeout } : {}),
  };
}

function newPool(connectionString: string, opts: PostgresOptions, serverTimeout: boolean): pg.Pool {
  const pool = new pg.Pool(poolConfig(connectionString, opts, serverTimeout));
  // Without a listener, an idle connection dropped by the server would crash the process.
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}

/**
 * `<prefix>_<hash of the SQL text>`: two versions of the proxy sharing server connections (a rolling deploy
 * behind a pooler) never take one another's statement of the same name but another text.
 */
export function statementName(prefix: string, sql: string): string {
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < sql.length; i++) h = Math.imul(h ^ sql.charCodeAt(i), 0x01000193);
  return `${prefix}_${(h >>> 0).toString(36)}`;
}

const refusesStartupParameter = (err: unknown) =>
  err instanceof Error && /unsupported startup parameter/i.test(err.message);

/**
 * Errors a named statement gets from a pooler that moves sessions between server connections, raised before
 * the statement runs: 26000 the statement is unknown on this connection, 42P05 one of that name exists
 * already, 0A000 "cached plan must not change result type" (its function was replaced).
 */
function preparedRefused(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (code === '26000' || code === '42P05') return true;
  return code === '0A000' && /cached plan must not change result type/i.test(String(message));
}

export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  #pool: pg.Pool;
  readonly #reopen: (() => pg.Pool) | undefined;
  readonly #warn: (message: string) => void;
  /** Named prepared statements for `opts.prepare` queries, until a pooler shows it cannot keep them. */
  #prepared = true;
  /** Statement names by SQL text (see `statementName`). */
  readonly #names = new Map<string, string>();

  constructor(pool: pg.Pool, reopen?: () => pg.Pool, warn: (message: string) => void = () => {}) {
    this.#pool = pool;
    this.#reopen = reopen;
    this.#warn = warn;
  }

  /** The pg Pool (for pool statistics). */
  get pool(): pg.Pool {
    return this.#pool;
  }

  /** Runs `fn` on the pool; if the server refuses our start-up parameters, once more on a pool without them. */
  async #withPool<R>(fn: (pool: pg.Pool) => Promise<R>): Promise<R> {
    const used = this.#pool;
    try {
      return await fn(used);
    } catch (err) {
      if (!this.#reopen || !refusesStartupParameter(err)) throw err;
      // Concurrent calls all fail the same way: the first swaps the pool, the others just retry on it.
      if (this.#pool === used) {
        this.#warn(
          `the database (or its pooler) refuses the statement_timeout start-up parameter (${(err as Error).message}): ` +
            'continuing without it, so an abandoned query is cut on our side only; set a statement_timeout on the database role instead',
        );
        this.#pool = this.#reopen();
        void used.end().catch(() => {});
      }
      return fn(this.#pool);
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = [], opts?: QueryOptions): Promise<{ rows: T[] }> {
    const name = this.#prepared && opts?.prepare !== undefined ? this.#name(opts.prepare, sql) : undefined;
    if (name === undefined) {
      const res = await this.#withPool((pool) => pool.query(sql, params));
      return { rows: res.rows as T[] };
    }
    try {
      const res = await this.#withPool((pool) => pool.query({ name, text: sql, values: params }));
      return { rows: res.rows as T[] };
    } catch (err) {
      if (!preparedRefused(err)) throw err;
      if (this.#prepared) {
        this.#prepared = false;
        this.#warn(
          `the database (or its pooler) does not keep prepared statements (${(err as Error).message}): ` +
            'continuing with unnamed statements (a session pooler, or a direct connection, keeps them)',
        );
      }
      const res = await this.#withPool((pool) => pool.query(sql, params));
      return { rows: res.rows as T[] };
    }
  }

  #name(prefix: string, sql: string): string {
    let name = this.#names.get(sql);
    if (name === undefined) this.#names.set(sql, (name = statementName(prefix, sql)));
    return name;
  }

  async exec(sql: string): Promise<void> {
    // No parameters: the simple query protocol, which accepts several statements.
    await this.#withPool((pool) => pool.query(sql));
  }

  async transaction<R>(fn: (tx: Pick<Db, 'query' | 'exec'>) => Promise<R>): Promise<R> {
    const client = await this.#withPool((pool) => pool.connect());
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
    if (!this.#pool.ended) await this.#pool.end();
  }
}

export function openPostgres(connectionString: string, opts: PostgresOptions = {}): PostgresDb {
  const pool = newPool(connectionString, opts, true);
  const reopen = opts.statementTimeoutMs ? () => newPool(connectionString, opts, false) : undefined;
  return new PostgresDb(pool, reopen, opts.onWarning);
}
