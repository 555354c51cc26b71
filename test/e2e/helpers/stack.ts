/**
 * The real thing for end-to-end tests: the Node server (startServer, in-process) on embedded PGlite in a
 * temp DATA_DIR or on a fresh PostgreSQL database, talking to the scriptable Mistral stand-in.
 * Agents are created before the server starts (PGlite is single-process), with the data functions the CLI uses.
 * The server runs in demo mode on both backends: the demo pages embed the main key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, updateAgent } from '../../../src/server/data/agents.ts';
import { DEFAULT_OWNER, ensureOwner } from '../../../src/server/data/owners.ts';
import type { Db } from '../../../src/server/db/db.ts';
import { migrate } from '../../../src/server/db/migrate.ts';
import { openDb } from '../../../src/server/db/open.ts';
import { memoryLogger } from '../../../src/server/log.ts';
import { startServer, type ServerHandle } from '../../../src/server/node/server.ts';
import type { StoredMessage } from '../../../src/protocol.ts';
import { startMistralStandIn, type MistralStandIn } from '../../helpers/mistral-stand-in.ts';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../helpers/pg.ts';

export type Backend = 'pglite' | 'postgres';

/** Where each backend's suites run; postgres skips (with the reason) when no server answers. */
export const backends = async (): Promise<{ backend: Backend; skip: string | false }[]> => [
  { backend: 'pglite', skip: false },
  { backend: 'postgres', skip: await pgSkip() },
];

export interface Keys {
  /** Any origin, no per-IP limit: what most tests use (also the demo pages' key: created first). */
  main: string;
  /** One turn per session per minute. */
  limited: string;
  /** Only https://shop.example.test may use it. */
  restricted: string;
}

export interface Stack {
  backend: Backend;
  url: string;
  port: number;
  standIn: MistralStandIn;
  keys: Keys;
  log: ReturnType<typeof memoryLogger>;
  /** `GET /v1/sessions/{id}/messages` as the widget would call it. */
  history(sessionId: string, key?: string): Promise<StoredMessage[]>;
  /** Stops the server, runs `fn` on its database as the CLI would, starts it again (PGlite is single-process). */
  admin<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** Closes the server (the data stays). */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export const ALLOWED_ORIGIN = 'https://shop.example.test';

async function seed(db: Db): Promise<Keys> {
  await migrate(db);
  const owner = { userId: await ensureOwner(db, DEFAULT_OWNER) };
  const main = await createAgent(db, { name: 'Demo assistant', rate_limit_ip_per_minute: 0 }, owner);
  const limited = await createAgent(db, { name: 'Limited assistant', rate_limit_ip_per_minute: 0 }, owner);
  // Set through SQL, as an owner would on a live database.
  await db.query('update public.agents set rate_limit_session_per_minute = 1 where id = $1', [limited.id]);
  const restricted = await createAgent(db, { name: 'Restricted assistant' }, owner);
  await updateAgent(db, restricted.id, { allowed_origins: [ALLOWED_ORIGIN] });
  return { main: main.api_key, limited: limited.api_key, restricted: restricted.api_key };
}

export async function startStack(backend: Backend, extraEnv: Record<string, string> = {}): Promise<Stack> {
  const standIn = await startMistralStandIn();
  let dir: string | undefined;
  let database: TestDatabase | undefined;
  const env: Record<string, string> = { MISTRAL_API_KEY: 'test', MISTRAL_BASE_URL: standIn.url, SHUTDOWN_GRACE_MS: '500', ...extraEnv };
  if (backend === 'pglite') {
    dir = await mkdtemp(join(tmpdir(), 'mac-e2e-'));
    env.DATA_DIR = join(dir, 'data');
  } else {
    database = await createTestDatabase();
    env.DATABASE_URL = database.url;
  }
  const db = await openDb({ dataDir: env.DATA_DIR, databaseUrl: env.DATABASE_URL });
  let keys: Keys;
  try {
    keys = await seed(db);
  } finally {
    await db.close();
  }

  const log = memoryLogger();
  let server: ServerHandle | null = await startServer({ env, port: 0, log, demo: true });
  const port = server.port;
  if (server.demoKey !== keys.main) throw new Error(`the demo pages would embed ${server.demoKey}, not the main key`);

  const stack: Stack = {
    backend,
    url: server.url,
    port,
    standIn,
    keys,
    log,
    async history(sessionId, key = keys.main) {
      const res = await fetch(`${stack.url}/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': key } });
      if (!res.ok) throw new Error(`history answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { messages: StoredMessage[] }).messages;
    },
    async admin(fn) {
      await stack.stop();
      const db = await openDb({ dataDir: env.DATA_DIR, databaseUrl: env.DATABASE_URL });
      try {
        return await fn(db);
      } finally {
        await db.close();
        await stack.start();
      }
    },
    async stop() {
      const s = server;
      server = null;
      await s?.close();
    },
    async start() {
      if (!server) server = await startServer({ env, port, log, demo: true });
    },
    async close() {
      await stack.stop();
      await standIn.close();
      if (dir) await rm(dir, { recursive: true, force: true });
      await database?.drop();
    },
  };
  return stack;
}

/** Polls `fn` until it returns a truthy value (or throws the last error after `ms`). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, ms = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
