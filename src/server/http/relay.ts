import type { ChatEventMap, ChatEventName, ErrorEventData, FinishReason, Source } from '../../protocol.ts';
import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AgentSettings, BeginTurnResult, HistoryItem, Store } from '../store/store.ts';
import type { Upstream, UpstreamEvent, UpstreamRequest, UpstreamResult, UpstreamYield } from '../upstream/upstream.ts';
import type { SseStream } from './sse.ts';
import { describeError, storeCall } from './store-call.ts';
import type { StopWatcher } from './stop-watcher.ts';
import type { Turn } from './turns.ts';

/**
 * One chat turn after `beginTurn` stored the user message: relay the upstream reply as SSE events
 * (start, delta / sources / activity, then done | error) and store what was relayed (text and sources) with
 * `endTurn`, whatever happens: a full reply, an upstream failure after some text, an explicit Stop (the
 * text relayed so far, marked stopped), a server shutdown. When the visitor leaves, the reply goes on to its
 * end (within the upstream's limits) and is stored whole: only writes to the visitor stop.
 * Never rejects: every failure ends as an `error` event (when someone still listens) and a log line.
 */

type Begun = Extract<BeginTurnResult, { ok: true }>;

export interface RelayInput {
  stream: SseStream;
  turn: Turn;
  begun: Begun;
  store: Store;
  upstream: Upstream;
  log: Logger;
  requestId: string;
  /** performance.now() when the request arrived. */
  receivedAt: number;
  /** The request's signal: aborts when the visitor's connection closes (the reply still goes on). */
  clientSignal: AbortSignal;
  /** Tells the turn when a Stop was requested for its conversation (from any instance). */
  stops: Pick<StopWatcher, 'watch'>;
}

/** How long a closing server keeps trying to deliver the last event of an aborted turn. */
const SHUTDOWN_WRITE_MS = 1_000;

const FINISH_REASONS: ReadonlySet<string> = new Set<FinishReason>([
  'stop',
  'length',
  'model_length',
  'error',
  'tool_calls',
  'aborted',
  'timeout',
]);

export function upstreamRequest(agent: AgentSettings, history: HistoryItem[]): UpstreamRequest {
  const messages: UpstreamRequest['messages'] = [];
  if (agent.instructions?.trim()) messages.push({ role: 'system', content: agent.instructions });
  // An empty reply (stopped before its first word) says nothing to the model.
  for (const m of history) if (m.role === 'user' || m.content) messages.push({ role: m.role, content: m.content });
  const req: UpstreamRequest = { model: agent.model, messages };
  if (agent.temperature !== null) req.temperature = Number(agent.temperature);
  if (agent.max_tokens !== null) req.max_tokens = Number(agent.max_tokens);
  if (agent.top_p !== null) req.top_p = Number(agent.top_p);
  // A Mistral agent: the upstream sends the conversation to that agent, whose own settings apply.
  if (agent.mistral_agent_id) req.agentId = agent.mistral_agent_id;
  return req;
}

/**
 * Rejects as soon as `signal` aborts (never resolves): raced with every upstream step, so a silent upstream
 * cannot hold a turn that was stopped. One per turn: a Promise, an abort listener and a `finally` per delta
 * were most of the relay's CPU at saturation (bench/profile-notes.md).
 */
function whenAborted(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
  });
  promise.catch(() => {}); // only ever raced
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

interface Pumped {
  text: string;
  /** Every source relayed, in order (what the reply cites). */
  sources: Source[];
  lastTokenAt: number | null;
  result: UpstreamResult | null;
  error: unknown;
}

async function pump(
  input: RelayInput,
  send: (text: string) => Promise<unknown>,
  sendEvent: (event: UpstreamEvent) => Promise<unknown>,
): Promise<Pumped> {
  const { turn, upstream, begun, requestId } = input;
  let text = '';
  const sources: Source[] = [];
  let lastTokenAt: number | null = null;
  let gen: AsyncGenerator<UpstreamYield, UpstreamResult, void> | undefined;
  const aborted = whenAborted(turn.signal);
  try {
    gen = upstream.stream(upstreamRequest(begun.agent, begun.history), { signal: turn.signal, requestId });
    for (;;) {
      if (turn.signal.aborted) throw turn.signal.reason;
      const step = await Promise.race([gen.next(), aborted.promise]);
      if (step.done) return { text, sources, lastTokenAt, result: step.value, error: null };
      const item = step.value;
      if (typeof item !== 'string') {
        if (item.type === 'source') {
          // Ids are unique within a reply (the protocol says so, and end_turn refuses a list that repeats one).
          if (sources.some((s) => s.id === item.source.id)) continue;
          sources.push(item.source);
        }
        await sendEvent(item);
        continue;
      }
      if (!item) continue;
      text += item;
      lastTokenAt = performance.now();
      await send(item);
    }
  } catch (error) {
    // Let the generator clean up (close its upstream body) without waiting for it.
    gen?.return({ finishReason: 'aborted', promptTokens: null, completionTokens: null }).catch(() => {});
    return { text, sources, lastTokenAt, result: null, error };
  } finally {
    aborted.dispose();
  }
}

function errorEvent(err: unknown, requestId: string, log: Logger): ErrorEventData {
  if (err instanceof ApiError) {
    const event: ErrorEventData = { code: err.code, message: err.message, request_id: requestId };
    if (err.retryAfter !== undefined) event.retry_after = err.retryAfter;
    return event;
  }
  log.error('upstream failed unexpectedly', { request_id: requestId, error: describeError(err) });
  return { code: 'upstream_error', message: 'The assistant could not answer. Please try again.', request_id: requestId };
}

export async function relayTurn(input: RelayInput): Promise<void> {
  const { stream, turn, begun, store, log, requestId, receivedAt, clientSignal } = input;
  // The visitor left: stop writing to them (and cancel our side of the response so a write waiting on a
  // reader that is gone returns at once), but finish the reply and store it whole.
  let clientGone = false;
  const onClientGone = () => {
    if (clientGone) return;
    clientGone = true;
    stream.abort();
    log.info('visitor left mid-reply: finishing it', { request_id: requestId });
  };
  stream.onAbort(onClientGone);
  if (clientSignal.aborted) onClientGone();
  else clientSignal.addEventListener('abort', onClientGone, { once: true });
  const send = async <K extends ChatEventName>(event: K, data: ChatEventMap[K]) => {
    if (!clientGone) await stream.writeSSE({ event, data: JSON.stringify(data) });
  };
  const unwatch = input.stops.watch(begun.conversationId, () => turn.abort('stop'));
  // A closing server gives the last event a moment, then lets go of a reader that does not read.
  let shutdownTimer: ReturnType<typeof setTimeout> | undefined;
  turn.signal.addEventListener('abort', () => {
    if (turn.abortReason === 'shutdown') shutdownTimer = setTimeout(() => stream.abort(), SHUTDOWN_WRITE_MS);
  });

  const endTurn = (content: string, sources: Source[], result: UpstreamResult | null, responseTimeMs: number, stopped = false) =>
    storeCall(log, requestId, 'endTurn', () =>
      store.endTurn({
        conversationId: begun.conversationId,
        userMessageId: begun.userMessageId,
        content,
        sources: sources.length ? sources : null,
        promptTokens: result?.promptTokens ?? null,
        completionTokens: result?.completionTokens ?? null,
        responseTimeMs,
        stopped,
      }),
    );
  const abandonTurn = () => storeCall(log, requestId, 'abandonTurn', () => store.abandonTurn(begun.conversationId, begun.userMessageId));

  try {
    await send('start', { conversation_id: begun.conversationId, message_id: begun.userMessageId });
    const { text, sources, lastTokenAt, result, error } = await pump(
      input,
      (t) => send('delta', { text: t }),
      (e) =>
        e.type === 'source' ? send('sources', { sources: [e.source] }) : send('activity', { tool: e.tool, state: e.state }),
    );
    unwatch();
    const responseTimeMs = Math.max(0, Math.round((lastTokenAt ?? performance.now()) - receivedAt));

    if (result) {
      // The whole reply was relayed (or produced for a visitor who left): store it with its billed tokens.
      const { messageId } = await endTurn(text, sources, result, responseTimeMs);
      await send('done', {
        message_id: messageId,
        tokens_used: result.completionTokens ?? 0,
        response_time_ms: responseTimeMs,
        finish_reason: FINISH_REASONS.has(result.finishReason) ? (result.finishReason as FinishReason) : 'stop',
      });
      return;
    }

    const reason = turn.abortReason;
    if (reason === 'stop') {
      // Exactly what was relayed, marked stopped (even when empty: the visitor saw a stopped, empty reply).
      const { messageId } = await endTurn(text, sources, null, responseTimeMs, true);
      log.info('chat stopped by the visitor', { request_id: requestId, relayed_chars: text.length });
      await send('done', { message_id: messageId, tokens_used: 0, response_time_ms: responseTimeMs, finish_reason: 'aborted', stopped: true });
      return;
    }

    // Failed or shut down: keep what was already relayed; no text relayed means no assistant message.
    const stored = text ? await endTurn(text, sources, null, responseTimeMs) : null;
    if (!stored) await abandonTurn();
    if (reason === 'shutdown') {
      await (stored
        ? send('done', { message_id: stored.messageId, tokens_used: 0, response_time_ms: responseTimeMs, finish_reason: 'aborted' })
        : send('error', {
            code: 'unavailable',
            message: 'The server is restarting. Please send your message again.',
            request_id: requestId,
          }));
    } else {
      const event = errorEvent(error, requestId, log);
      log.warn('upstream failed', { request_id: requestId, code: event.code, relayed_chars: text.length });
      await send('error', event);
    }
  } catch (err) {
    // endTurn failed (database down): the visitor has the text but it is not stored; say so. Free the session
    // without waiting (the in-flight row expires by itself if the database cannot take this either).
    if (!(err instanceof ApiError)) log.error('chat turn failed', { request_id: requestId, error: describeError(err) });
    abandonTurn().catch(() => {});
    await send('error', {
      code: err instanceof ApiError ? err.code : 'internal_error',
      message: 'Your reply could not be saved. Please try again.',
      request_id: requestId,
    });
  } finally {
    unwatch();
    clientSignal.removeEventListener('abort', onClientGone);
    clearTimeout(shutdownTimer);
  }
}
