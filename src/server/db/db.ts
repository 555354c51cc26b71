/**
 * The smallest SQL surface the proxy needs, so PGlite (embedded) and `pg` (a pool on DATABASE_URL)
 * are interchangeable. Parameters are positional ($1, $2 …).
 */
export interface Db {
  /**
   * Runs one parameterised statement. `opts.prepare` names it for a hot path: a driver that can keeps it
   * parsed and planned per connection (pg: a named prepared statement); others ignore the name.
   */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], opts?: QueryOptions): Promise<{ rows: T[] }>;
  /** Runs a script of several statements (migrations); no parameters. */
  exec(sql: string): Promise<void>;
  /** Runs `fn` inside one transaction on one connection. */
  transaction<R>(fn: (tx: Pick<Db, 'query' | 'exec'>) => Promise<R>): Promise<R>;
  close(): Promise<void>;
  /** 'pglite' or 'postgres', for logs and benchmarks. */
  readonly kind: 'pglite' | 'postgres';
}

export interface QueryOptions {
  /** A statement name, unique per SQL text (e.g. `begin_turn`). */
  prepare?: string;
}
