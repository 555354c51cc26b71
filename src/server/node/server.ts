/**
 * The Node entry (Node-only): the proxy app plus the widget bundle (and, in demo mode, the demo pages) on one
 * port. Starts even when the database is down (503 until it answers, retried in the background).
 * Signals are handled by the `serve` command, not here, so tests can start and close servers in-process.
 *
 * Two modes. Demo (the embedded database by default, or `serve --demo` / DEMO_MODE=1): a demo agent on an
 * empty database, the demo pages with its key, the offline demo model without MISTRAL_API_KEY. Production (a
 * real database by default, or DEMO_MODE=0): nothing is created in the database, `/` shows no key, and without
 * MISTRAL_API_KEY chats answer 503 `unavailable`.
 */
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Hono, type Context } from 'hono';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { isWildcardHost, localUrl } from '../embed.ts';
import { consoleLogger, type Logger } from '../log.ts';
import { ownerApiFor } from '../owner/owner-api.ts';
import { storageMode } from '../runtime.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { createStaticApp } from './static.ts';
import { RuntimeSupervisor } from './supervisor.ts';

type Env = Record<string, string | undefined>;

export interface StartServerOptions {
  env: Env;
  log?: Logger;
  /** Overrides PORT; 0 picks a free port. */
  port?: number;
  /** Demo mode (`serve --demo` / `--no-demo`); undefined = DEMO_MODE, else on for the embedded database only. */
  demo?: boolean;
}

export interface ServerInfo {
  /** Where to open it: PUBLIC_URL, else this machine's address for HOST and the port. */
  url: string;
  port: number;
  /** The address it really listens on (`::` or `0.0.0.0` = every interface). */
  address: string;
  /** True when it listens on every interface (HOST unset or a wildcard). */
  allInterfaces: boolean;
  mode: 'demo' | 'production';
  /** 'pglite' | 'postgres' | 'supabase'. */
  database: string;
  /** Whether the database answered at start (otherwise it is retried in the background). */
  databaseReady: boolean;
  /** 'none': production mode without MISTRAL_API_KEY, chats answer 503. */
  upstream: 'mistral' | 'offline-demo' | 'none';
  demoKey: string | null;
  createdDemoAgent: boolean;
  /** Demo mode: the console password this start gave demo@localhost (no owner had one); print it once. */
  demoOwner: { email: string; password: string } | null;
  /** Whether an owner can sign in to /console with a local password (null: unknown, or Supabase Auth). */
  ownerSignIn: boolean | null;
}

export interface ServerHandle extends ServerInfo {
  /** Stops accepting, lets open streams finish (SHUTDOWN_GRACE_MS) or aborts them, closes the database. */
  close(): Promise<void>;
}

function listen(server: ServerType, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** DEMO_MODE: `1`/`true`/`yes`/`on`, `0`/`false`/`no`/`off`, or unset. Anything else stops the start. */
export function parseDemoMode(raw: string | undefined): boolean | undefined {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`DEMO_MODE must be 1 (demo agent, demo pages, offline demo model) or 0 (production), got "${raw}"`);
}

/** The peer address of the request's socket (X-Forwarded-For is the app's business, with TRUST_PROXY). */
function socketAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // not behind @hono/node-server (e.g. app.request() in a test)
  }
}

export async function startServer(opts: StartServerOptions): Promise<ServerHandle> {
  const { env } = opts;
  const log = opts.log ?? consoleLogger();
  const config = loadConfig(env);
  const storage = storageMode(env, config);
  const demo = opts.demo ?? parseDemoMode(env.DEMO_MODE) ?? storage === 'pglite';
  const host = env.HOST?.trim() || undefined;
  // Embedded PGlite is single-process: refuse to start on a data folder another process has open.
  const unlock = storage === 'pglite' ? lockDataDir(config.dataDir, 'serve') : () => {};
  const supervisor = new RuntimeSupervisor({ env, log, demo });
  const databaseReady = await supervisor.start();
  // Production without a key has no model at all: chats answer 503 before anything is stored.
  const hasModel = Boolean(config.mistralApiKey) || demo;

  const proxy = createApp({
    store: supervisor.store,
    upstream: hasModel ? supervisor.upstream : null,
    config,
    log,
    getClientIp: socketAddress,
    // The owner API: local auth over the supervisor's Db (503 until the database is ready), or Supabase Auth.
    owner: ownerApiFor({ config, storage: storage === 'supabase' ? 'supabase' : { db: () => supervisor.runtime?.db ?? null } }, log),
  });
  const root = new Hono();
  // `demo` decides what `/` shows (demo pages with a key, or a status page without one).
  root.route(
    '/',
    createStaticApp({ demo, demoKey: demo ? () => supervisor.currentDemoKey() : async () => null, publicUrl: env.PUBLIC_URL || undefined }),
  );
  root.all('*', (c) => proxy.app.fetch(c.req.raw, c.env));

  const server = createAdaptorServer({ fetch: root.fetch });
  let bound: AddressInfo;
  try {
    bound = await listen(server, opts.port ?? config.port, host);
  } catch (err) {
    await supervisor.close();
    unlock();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(`port ${opts.port ?? config.port} is already in use: stop the other server or set PORT`, { cause: err });
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new Error(`HOST=${host} is not an address of this machine: unset HOST to listen on every interface`, { cause: err });
    }
    throw err;
  }
  const port = bound.port;

  const info: ServerInfo = {
    url: env.PUBLIC_URL?.trim().replace(/\/+$/, '') || localUrl(host, port),
    port,
    address: bound.address,
    allInterfaces: isWildcardHost(host),
    mode: demo ? 'demo' : 'production',
    database: databaseReady ? supervisor.store.kind : storage,
    databaseReady,
    upstream: hasModel ? supervisor.upstream.kind : 'none',
    demoKey: supervisor.demoKey,
    createdDemoAgent: supervisor.createdDemoAgent,
    demoOwner: supervisor.demoOwner,
    ownerSignIn: supervisor.ownerSignIn,
  };
  if (info.createdDemoAgent) log.warn('created a demo agent on this empty database', { name: 'Demo assistant', api_key: info.demoKey });
  if (!databaseReady && info.upstream === 'offline-demo') {
    // The runtime says this loudly once it is built; with the database down it is not built yet.
    log.warn('!!! OFFLINE DEMO MODE: MISTRAL_API_KEY is not set, replies will come from a built-in demo model, NOT from Mistral. !!!');
  }
  if (!databaseReady && info.upstream === 'none') {
    log.error('MISTRAL_API_KEY is not set: chat requests will answer 503 unavailable until it is (or run `serve --demo` for the offline demo model)');
  }
  log.info('mistral-agent-chat is listening', {
    url: info.url,
    address: info.address,
    port,
    interfaces: info.allInterfaces ? 'all (set HOST=127.0.0.1 to accept connections from this machine only)' : 'HOST only',
    mode: info.mode,
    database: info.databaseReady ? info.database : `${info.database} (unreachable, retrying)`,
    upstream: info.upstream === 'mistral' ? 'mistral' : info.upstream === 'offline-demo' ? 'OFFLINE DEMO' : 'none (MISTRAL_API_KEY unset: chats answer 503)',
    demo_key: info.demoKey,
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const http = server as Server;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      await proxy.shutdown(config.shutdownGraceMs);
      // Streams are over; give other answers in flight a moment, then cut what is left (idle keep-alives).
      const late = setTimeout(() => http.closeAllConnections(), 1_000);
      http.closeIdleConnections();
      await closed;
      clearTimeout(late);
      await supervisor.close();
      unlock();
      log.info('server closed');
    })());

  return { ...info, close };
}
