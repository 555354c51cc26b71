import type { Context, Handler } from 'hono';
import type { Config } from '../config.ts';
import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { BeginTurnResult, Store } from '../store/store.ts';
import type { Upstream } from '../upstream/upstream.ts';
import { refusalMessages } from './access.ts';
import type { AgentCache } from './agent-cache.ts';
import { resolveClientIp } from './client-ip.ts';
import type { AppEnv } from './env.ts';
import { relayTurn } from './relay.ts';
import { sseResponse } from './sse.ts';
import type { StopWatcher } from './stop-watcher.ts';
import { describeError, storeCall } from './store-call.ts';
import type { TurnRegistry } from './turns.ts';
import { parseChatBody } from './validate.ts';

export interface ChatRouteDeps {
  store: Store;
  upstream: Upstream | null;
  config: Config;
  log: Logger;
  cache: AgentCache;
  turns: TurnRegistry;
  stops: StopWatcher;
  getClientIp?: (c: Context) => string | null;
  waitUntil?: (p: Promise<unknown>) => void;
}

/** Default Retry-After (seconds) when the store refuses with rate_limited but names no delay. */
const DEFAULT_RETRY_AFTER_S = 30;

function refusal(r: Extract<BeginTurnResult, { ok: false }>): ApiError {
  const retryAfter = r.code === 'rate_limited' ? Math.max(1, Math.ceil(r.retryAfter ?? DEFAULT_RETRY_AFTER_S)) : undefined;
  return new ApiError(r.code, r.message || refusalMessages[r.code], { retryAfter });
}

const closing = () =>
  new ApiError('unavailable', 'The server is restarting. Please try again in a moment.', { retryAfter: 5 });

/**
 * `POST /v1/chat` (after `requireAgent` and the body limit): validate, refuse early when nothing can answer,
 * store the user message with `beginTurn` (one round trip), then stream the reply as SSE.
 */
export function chatRoute(deps: ChatRouteDeps): Handler<AppEnv> {
  const { store, config, log, turns } = deps;
  return async (c) => {
    const requestId = c.get('requestId');
    const upstream = deps.upstream;
    // Checked before anything is stored, so a misconfigured server leaves nothing half-done.
    if (!upstream) {
      log.error('chat refused: no upstream model is configured (MISTRAL_API_KEY is not set)', { request_id: requestId });
      throw new ApiError('unavailable', 'The assistant is not configured on this server yet.');
    }
    if (turns.closing) throw closing();

    let text: string;
    try {
      text = await c.req.text();
    } catch {
      throw new ApiError('invalid_request', 'the request body could not be read');
    }
    const input = parseChatBody(text, config.limits);
    const apiKey = c.get('apiKey');
    const clientSignal = c.req.raw.signal;

    if (turns.closing) throw closing();
    const turn = turns.open();
    let begun: BeginTurnResult;
    try {
      begun = await storeCall(log, requestId, 'beginTurn', () =>
        store.beginTurn({
          apiKey,
          origin: c.req.header('Origin') ?? null,
          clientIp: resolveClientIp(c.req.header('X-Forwarded-For'), config.trustProxy, () => deps.getClientIp?.(c) ?? null),
          sessionId: input.sessionId,
          visitorId: input.visitorId,
          metadata: input.metadata,
          content: input.message,
          historyLimit: config.limits.historyMessages,
          historyChars: config.limits.historyChars,
          userRef: c.get('userRef'),
          // The reply holds the session (one at a time) for at most the upstream's total time.
          replyLimitMs: config.timeouts.totalMs,
        }),
      );
    } catch (err) {
      turn.finish();
      throw err;
    }
    if (!begun.ok) {
      turn.finish();
      // The cached agent was stale (key rotated, agent disabled, identity now required): look it up again next time.
      if (begun.code !== 'rate_limited' && begun.code !== 'not_found' && begun.code !== 'reply_in_progress') deps.cache.invalidate(apiKey);
      throw refusal(begun);
    }

    const ok = begun;
    // SSE through our own writer (sse.ts: no TransformStream pair per response); it sets no-transform, so
    // proxies neither compress nor buffer the stream, and X-Accel-Buffering for nginx.
    return sseResponse(c, async (stream) => {
      const work = relayTurn({
        stream,
        turn,
        begun: ok,
        store,
        upstream,
        log,
        requestId,
        receivedAt: c.get('receivedAt'),
        clientSignal,
        stops: deps.stops,
      }).finally(() => turn.finish());
      // On serverless runtimes the reply and its last write (endTurn) must outlive the response (the visitor may leave).
      deps.waitUntil?.(work);
      await work;
    }, (err) => log.error('chat stream failed', { request_id: requestId, error: describeError(err) }));
  };
}
