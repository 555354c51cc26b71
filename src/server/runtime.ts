/**
 * Builds what the app needs (config, store, upstream) from a plain env record, on Node and on Deno
 * (Supabase Edge). Runtime-neutral at import time: the Node-only modules (PGlite, `pg`, migrations that
 * read files) are imported dynamically, only when the chosen storage needs them.
 *
 * Storage, first match wins:
 * 1. DATABASE_URL set explicitly                  → SqlStore over `pg` (kind 'postgres');
 * 2. SUPABASE_URL + a secret key                  → SupabaseStore (supabase-js `.rpc()`, kind 'supabase');
 * 3. SUPABASE_DB_URL                              → SqlStore over `pg`;
 * 4. nothing                                      → SqlStore over PGlite in DATA_DIR (Node only).
 * On Supabase Edge the platform sets SUPABASE_URL, SUPABASE_SECRET_KEYS and SUPABASE_DB_URL together: we
 * take supabase-js (2.), because PostgREST holds the database connections, while every short-lived Edge
 * isolate opening its own `pg` pool would exhaust them. An explicit DATABASE_URL still wins; on Supabase
 * point it at the transaction pooler (port 6543): our `pg` Db names only the two statements of a turn, and
 * falls back to unnamed ones for good at the first sign that the pooler cannot keep them (db/postgres.ts).
 */
import { loadConfig, type Config } from './config.ts';
import type { Db } from './db/db.ts';
import { STORE_TIMEOUT_MS } from './http/store-call.ts';
import type { Logger } from './log.ts';
import { SqlStore } from './store/sql-store.ts';
import type { Store } from './store/store.ts';
import { SupabaseStore } from './store/supabase-store.ts';
import { createMistralUpstream } from './upstream/mistral.ts';
import type { UpstreamTransport } from './upstream/transport.ts';
import type { Upstream } from './upstream/upstream.ts';

export interface RuntimeOptions {
  log: Logger;
  /** Apply supabase/migrations when a Db is used (Node; reads the SQL files). Default false. */
  migrate?: boolean;
  /**
   * Without MISTRAL_API_KEY: answer from the built-in offline demo model (default; the Node server passes its
   * demo mode), or (false: the Edge Function, a Node server in production mode) have no upstream at all, so
   * chat answers 503 `unavailable`.
   */
  offlineDemo?: boolean;
  /** The Mistral upstream's HTTP client; default fetch (the Node server passes a keep-alive node:http one). */
  upstreamTransport?: UpstreamTransport;
}

export interface Runtime {
  config: Config;
  store: Store;
  /** null: no MISTRAL_API_KEY and the offline demo is off. */
  upstream: Upstream | null;
  /** The Db under a SqlStore (for migrations, the CLI, seeding); null with SupabaseStore. */
  db: Db | null;
  /** Closes the store (and its Db). */
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

/** Which storage an env selects (exported for tests and the CLI's diagnostics). */
export function storageMode(env: Env, config: Config = loadConfig(env)): 'postgres' | 'supabase' | 'pglite' {
  if (env.DATABASE_URL) return 'postgres';
  if (config.supabaseUrl && config.supabaseKey) return 'supabase';
  if (config.databaseUrl) return 'postgres';
  return 'pglite';
}

async function openStorage(env: Env, config: Config, log: Logger): Promise<{ store: Store; db: Db | null }> {
  const mode = storageMode(env, config);
  if (mode === 'supabase') {
    log.info('storage: supabase-js', { supabase_url: config.supabaseUrl });
    return { store: new SupabaseStore({ url: config.supabaseUrl!, key: config.supabaseKey! }), db: null };
  }
  if (mode === 'postgres') {
    const { openPostgres } = await import('./db/postgres.ts');
    // An Edge isolate serves few requests at once and there may be many isolates: keep each pool small.
    const db = openPostgres(config.databaseUrl!, {
      max: isDeno ? 3 : 10,
      // As long as a store call waits (then the visitor gets 503): an abandoned query frees its connection.
      statementTimeoutMs: STORE_TIMEOUT_MS,
      onError: (err) => log.warn('idle database connection failed', { error: err.message }),
      onWarning: (message) => log.warn(message),
    });
    log.info('storage: postgres', { source: env.DATABASE_URL ? 'DATABASE_URL' : 'SUPABASE_DB_URL' });
    return { store: new SqlStore(db), db };
  }
  if (isDeno) {
    throw new Error('No storage configured: set SUPABASE_URL with SUPABASE_SECRET_KEYS (or SUPABASE_SERVICE_ROLE_KEY), or DATABASE_URL. Embedded PGlite is for Node only.');
  }
  const { openDb } = await import('./db/open.ts');
  const db = await openDb({ dataDir: config.dataDir });
  log.info('storage: embedded PGlite', { data_dir: config.dataDir });
  return { store: new SqlStore(db), db };
}

async function openUpstream(config: Config, opts: RuntimeOptions): Promise<Upstream | null> {
  const { log } = opts;
  if (config.mistralApiKey) {
    log.info('upstream: mistral', { base_url: config.mistralBaseUrl });
    return createMistralUpstream({
      apiKey: config.mistralApiKey,
      baseUrl: config.mistralBaseUrl,
      timeouts: config.timeouts,
      retries: config.retries,
      log,
      ...(opts.upstreamTransport ? { transport: opts.upstreamTransport } : {}),
    });
  }
  if (opts.offlineDemo === false) {
    log.error(
      'MISTRAL_API_KEY is not set: chat requests will answer 503 unavailable until it is (Supabase: `supabase secrets set MISTRAL_API_KEY=…`; Node: set it in the environment, or run `serve --demo` for the offline demo model)',
    );
    return null;
  }
  const { createOfflineDemoUpstream } = await import('./upstream/offline-demo.ts');
  log.warn(
    '!!! OFFLINE DEMO MODE: MISTRAL_API_KEY is not set, replies come from a built-in demo model, NOT from Mistral. Set MISTRAL_API_KEY for real answers. !!!',
    { upstream: 'offline-demo' },
  );
  return createOfflineDemoUpstream();
}

export async function createRuntime(env: Env, opts: RuntimeOptions): Promise<Runtime> {
  const config = loadConfig(env);
  const { store, db } = await openStorage(env, config, opts.log);
  try {
    if (opts.migrate && db) {
      const { migrate } = await import('./db/migrate.ts');
      // A migration may run long (an index on a big table): on PostgreSQL it gets a connection of its own,
      // without the statement timeout of the proxy's pool.
      const target = db.kind === 'postgres' ? (await import('./db/postgres.ts')).openPostgres(config.databaseUrl!, { max: 1 }) : db;
      try {
        const { applied } = await migrate(target, { log: (msg) => opts.log.info(msg) });
        opts.log.info('migrations up to date', { applied });
      } finally {
        if (target !== db) await target.close();
      }
    }
    const upstream = await openUpstream(config, opts);
    return { config, store, upstream, db, close: () => store.close() };
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}
