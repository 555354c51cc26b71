/**
 * The Node entry (Node-only): the proxy app plus the widget bundle and demo pages on one port.
 * Starts even when the database is down (503 until it answers, retried in the background).
 * Signals are handled by the `serve` command, not here, so tests can start and close servers in-process.
 */
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Hono, type Context } from 'hono';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { consoleLogger, type Logger } from '../log.ts';
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
}

export interface ServerInfo {
  url: string;
  port: number;
  /** 'pglite' | 'postgres' | 'supabase'. */
  database: string;
  /** Whether the database answered at start (otherwise it is retried in the background). */
  databaseReady: boolean;
  upstream: 'mistral' | 'offline-demo';
  demoKey: string | null;
  createdDemoAgent: boolean;
}

export interface ServerHandle extends ServerInfo {
  /** Stops accepting, lets open streams finish (SHUTDOWN_GRACE_MS) or aborts them, closes the database. */
  close(): Promise<void>;
}

function listen(server: ServerType, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
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
  // Embedded PGlite is single-process: refuse to start on a data folder another process has open.
  const unlock = storageMode(env, config) === 'pglite' ? lockDataDir(config.dataDir, 'serve') : () => {};
  const supervisor = new RuntimeSupervisor({ env, log });
  const databaseReady = await supervisor.start();

  const proxy = createApp({
    store: supervisor.store,
    upstream: supervisor.upstream,
    config,
    log,
    getClientIp: socketAddress,
  });
  const root = new Hono();
  root.route('/', createStaticApp({ demo: true, demoKey: () => supervisor.currentDemoKey(), publicUrl: env.PUBLIC_URL || undefined }));
  root.all('*', (c) => proxy.app.fetch(c.req.raw, c.env));

  const server = createAdaptorServer({ fetch: root.fetch });
  let port: number;
  try {
    port = await listen(server, opts.port ?? config.port, env.HOST || undefined);
  } catch (err) {
    await supervisor.close();
    unlock();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${opts.port ?? config.port} is already in use: stop the other server or set PORT`, { cause: err });
    }
    throw err;
  }

  const info: ServerInfo = {
    url: env.PUBLIC_URL?.replace(/\/+$/, '') || `http://localhost:${port}`,
    port,
    database: databaseReady ? supervisor.store.kind : storageMode(env, config),
    databaseReady,
    upstream: supervisor.upstream.kind,
    demoKey: supervisor.demoKey,
    createdDemoAgent: supervisor.createdDemoAgent,
  };
  if (info.createdDemoAgent) log.warn('created a demo agent on this empty database', { name: 'Demo assistant', api_key: info.demoKey });
  if (!databaseReady && info.upstream === 'offline-demo') {
    // The runtime says this loudly once it is built; with the database down it is not built yet.
    log.warn('!!! OFFLINE DEMO MODE: MISTRAL_API_KEY is not set, replies will come from a built-in demo model, NOT from Mistral. !!!');
  }
  log.info('mistral-agent-chat is listening', {
    url: info.url,
    port,
    database: info.databaseReady ? info.database : `${info.database} (unreachable, retrying)`,
    upstream: info.upstream === 'mistral' ? 'mistral' : 'OFFLINE DEMO',
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
