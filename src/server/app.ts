/**
 * The proxy: one portable Hono app (Web APIs only) that Node, Deno and Supabase Edge entries serve.
 * Routes = widget protocol v1 (DESIGN.md). Errors: one `onError`, JSON `{"error":{code,message,request_id}}`.
 */
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { API_KEY_HEADER, REQUEST_ID_HEADER } from '../protocol.ts';
import type { Config } from './config.ts';
import { ApiError } from './errors.ts';
import { requireAgent } from './http/access.ts';
import { AgentCache } from './http/agent-cache.ts';
import { chatBodyLimit } from './http/body-limit.ts';
import { chatRoute } from './http/chat-route.ts';
import type { AppEnv } from './http/env.ts';
import { ownerRoutes } from './http/owner-routes.ts';
import { describeError, storeCall } from './http/store-call.ts';
import { TurnRegistry } from './http/turns.ts';
import { parseHistoryLimit, parseSessionId } from './http/validate.ts';
import type { Logger } from './log.ts';
import type { OwnerApi } from './owner/owner-api.ts';
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
  /** The owner API (`/v1/owner/*`, owner/owner-api.ts); absent: those routes answer 404. */
  owner?: OwnerApi;
}

export interface ProxyApp {
  app: Hono<AppEnv>;
  /** Chat turns in flight (open SSE streams, plus turns being started). */
  streams: { readonly active: number };
  /**
   * Refuse new chats (503 unavailable), let open streams finish for `graceMs`, then abort the rest
   * (their partial replies are stored) and wait for those writes.
   */
  shutdown(graceMs: number): Promise<void>;
}

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
  const widgetCors = cors({
    origin: (origin) => origin || null,
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['Content-Type', API_KEY_HEADER],
    exposeHeaders: [REQUEST_ID_HEADER, 'Retry-After'],
    maxAge: 86_400,
    credentials: false,
  });
  // The owner API: a bearer token (never a cookie), so any origin may call it (the console may be hosted
  // anywhere); it needs Authorization and the write methods.
  const ownerCors = cors({
    origin: (origin) => origin || null,
    allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'Authorization'],
    exposeHeaders: [REQUEST_ID_HEADER, 'Retry-After'],
    maxAge: 86_400,
    credentials: false,
  });
  const ownerPrefix = `${(deps.basePath ?? '').replace(/\/+$/, '')}/v1/owner/`;
  root.use('*', (c, next) => (c.req.path.startsWith(ownerPrefix) ? ownerCors(c, next) : widgetCors(c, next)));

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
    chatBodyLimit(config.limits.bodyBytes),
    chatRoute({ ...deps, cache, turns }),
  );

  api.get('/v1/sessions/:session_id/messages', agent, async (c) => {
    const sessionId = parseSessionId(c.req.param('session_id'));
    const limit = parseHistoryLimit(c.req.query('limit'));
    const { id } = c.get('agent');
    const messages = await storeCall(log, c.get('requestId'), 'history', () => store.history(id, sessionId, limit));
    c.header('Cache-Control', 'no-store');
    return c.json({ messages });
  });

  if (deps.owner) {
    const onAgentChanged = (agentId: string) => cache.invalidateAgent(agentId);
    api.route('/v1/owner', ownerRoutes({ owner: deps.owner, config, log, getClientIp: deps.getClientIp, onAgentChanged }));
  }

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
