/**
 * The proxy: one portable Hono app (Web APIs only) that Node, Deno and Supabase Edge entries serve.
 * Routes = widget protocol v1 (DESIGN.md). Errors: one `onError`, JSON `{"error":{code,message,request_id}}`.
 */
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { API_KEY_HEADER, REQUEST_ID_HEADER, USER_TOKEN_HEADER } from '../protocol.ts';
import type { Config } from './config.ts';
import { ApiError } from './errors.ts';
import { requireAgent } from './http/access.ts';
import { AgentCache } from './http/agent-cache.ts';
import { chatBodyLimit } from './http/body-limit.ts';
import { chatRoute } from './http/chat-route.ts';
import type { AppEnv } from './http/env.ts';
import { identify } from './http/identity.ts';
import { visitorRoutes } from './http/visitor-routes.ts';
import { describeError } from './http/store-call.ts';
import { StopWatcher } from './http/stop-watcher.ts';
import { TurnRegistry } from './http/turns.ts';
import type { Logger } from './log.ts';
import type { Store } from './store/store.ts';
import type { Upstream } from './upstream/upstream.ts';

export interface AppDeps {
  store: Store;
  /** null when no model is configured (e.g. no MISTRAL_API_KEY on Supabase): chats answer 503. */
  upstream: Upstream | null;
  config: Config;
  log: Logger;
  /** Mount point, e.g. `/mistral-agent-chat` for a Supabase Edge Function. */
  basePath?: string;
  /** The runtime's view of the client address (the Node entry passes the socket address). */
  getClientIp?: (c: Context) => string | null;
  /** Keeps the runtime alive for work that outlives the response (Supabase: EdgeRuntime.waitUntil). */
  waitUntil?: (p: Promise<unknown>) => void;
}

export interface ProxyApp {
  app: Hono<AppEnv>;
  /** Chat turns in flight (open SSE streams, plus turns being started). */
  streams: { readonly active: number };
  /**
   * Refuse new chats (503 unavailable), let open streams (and replies whose visitor left) finish for
   * `graceMs`, then abort the rest (their partial replies are stored) and wait for those writes.
   */
  shutdown(graceMs: number): Promise<void>;
}

/** How often an instance streaming replies asks the database whether one was stopped (Stop ends it within 1 s). */
const STOP_POLL_MS = 300;

/** How long `/healthz` waits for the database. */
const HEALTH_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function toApiError(err: Error, c: Context<AppEnv>, log: Logger): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException && err.status === 413) {
    return new ApiError('payload_too_large', 'The request body is too large.');
  }
  log.error('unhandled error', { request_id: c.get('requestId'), error: describeError(err), stack: err.stack });
  return new ApiError('internal_error', 'Something went wrong on our side. Please try again.');
}

export function createApp(deps: AppDeps): ProxyApp {
  const { store, config, log } = deps;
  const cache = new AgentCache(store);
  const turns = new TurnRegistry();
  const stops = new StopWatcher((ids) => store.stopRequests(ids), {
    intervalMs: STOP_POLL_MS,
    onError: (err) => log.warn('checking for stopped replies failed', { error: describeError(err) }),
  });
  const agent = requireAgent(cache, log);

  const root = new Hono<AppEnv>();
  const api = new Hono<AppEnv>();

  // Outermost: a request id for every answer; strip any CORS grant from an origin refusal.
  root.use('*', async (c, next) => {
    const requestId = crypto.randomUUID();
    c.set('requestId', requestId);
    c.set('receivedAt', performance.now());
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
    if (c.get('originDenied')) c.res.headers.delete('Access-Control-Allow-Origin');
  });

  // Preflights are answered for any origin (the key is not visible in a preflight); actual answers to a
  // browser reflect its origin, except origin_not_allowed (stripped above). Never credentials.
  root.use(
    '*',
    cors({
      origin: (origin) => origin || null,
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', API_KEY_HEADER, USER_TOKEN_HEADER],
      exposeHeaders: [REQUEST_ID_HEADER, 'Retry-After'],
      maxAge: 86_400,
      credentials: false,
    }),
  );

  api.get('/healthz', async (c) => {
    if (turns.closing) return c.json({ ok: false }, 503);
    try {
      await withTimeout(store.ping(), HEALTH_TIMEOUT_MS);
      return c.json({ ok: true });
    } catch (err) {
      log.warn('health check failed', { request_id: c.get('requestId'), error: describeError(err) });
      return c.json({ ok: false }, 503);
    }
  });

  api.get('/v1/agent', agent, (c) => {
    const { name, role } = c.get('agent');
    return c.json({ name, role });
  });

  api.post(
    '/v1/chat',
    agent,
    identify(),
    chatBodyLimit(config.limits.bodyBytes),
    chatRoute({ ...deps, cache, turns, stops }),
  );

  visitorRoutes(api, { store, log, agent });

  root.route(deps.basePath || '/', api);

  // Unknown route or wrong method: JSON, never Hono's text/HTML default.
  root.notFound((c) => {
    const err = new ApiError('not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`);
    return c.json(err.toBody(c.get('requestId')), 404);
  });

  root.onError((raw, c) => {
    const err = toApiError(raw, c, log);
    if (err.code === 'origin_not_allowed') c.set('originDenied', true);
    if (err.retryAfter !== undefined) c.header('Retry-After', String(err.retryAfter));
    return c.json(err.toBody(c.get('requestId')), err.status as ContentfulStatusCode);
  });

  return {
    app: root,
    streams: {
      get active() {
        return turns.active;
      },
    },
    shutdown: (graceMs) => turns.shutdown(graceMs),
  };
}
