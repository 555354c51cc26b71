/**
 * The offline demo model, used when no MISTRAL_API_KEY is set: an in-process `fetch` that answers
 * /v1/chat/completions in Mistral's exact wire format, handed to createMistralUpstream so the demo runs
 * through the same parsing, timing and abort code as the real thing.
 */
import type { Logger } from '../log.ts';
import { createMistralUpstream } from './mistral.ts';
import { withGroundedDemo } from './offline-conversations.ts';
import type { Upstream } from './upstream.ts';
import { timedStream } from './timed-stream.ts';
import { offlineDemoReply, tokenPieces } from './offline-demo-replies.ts';
import { EVENT_STREAM_HEADERS, lastUserText, replyFrames, requestValidationError, usageOf } from './wire-format.ts';

export interface OfflineDemoOptions {
  /** Mean pause between two streamed chunks, varied ±50 % like a real model's (default 25 ms; 0: none). */
  chunkDelayMs?: number;
  /** Characters per chunk; default: a few tokens' worth, cut at word pieces like a real model's. */
  chunkSize?: number;
  /** Pause before the first words (default 350 ms with the default pacing, else 0). */
  firstTokenMs?: number;
  log?: Logger;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

export function createOfflineDemoUpstream(opts: OfflineDemoOptions = {}): Upstream {
  const paced = opts.chunkDelayMs === undefined;
  const inner = createMistralUpstream({
    apiKey: 'offline-demo',
    baseUrl: 'http://offline-demo.invalid',
    timeouts: { firstByteMs: 10_000, idleMs: 10_000, totalMs: 120_000 },
    retries: { max: 0, maxDelayMs: 0 },
    log: opts.log ?? silent,
    // Agents with a mistral_agent_id get the grounded Conversations demo (offline-conversations.ts).
    fetch: withGroundedDemo(offlineDemoFetch(opts.chunkDelayMs ?? 25, opts.chunkSize, opts.firstTokenMs ?? (paced ? 350 : 0)), opts),
    localAgentIds: new Set(),
  });
  return { kind: 'offline-demo', stream: (req, o) => inner.stream(req, o) };
}

export { offlineDemoReply };

function abortError(): DOMException {
  return new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * A fetch-compatible function that only knows `POST …/v1/chat/completions` with `stream: true`. Without
 * `chunkSize` the reply comes in token-sized pieces; `firstTokenMs` is the wait before the first words.
 */
export function offlineDemoFetch(chunkDelayMs: number, chunkSize?: number, firstTokenMs = 0): typeof fetch {
  return async (input, init) => {
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) throw abortError();
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/v1/chat/completions') || init?.method !== 'POST') {
      return Response.json({ detail: 'Not Found' }, { status: 404 });
    }
    let body: unknown;
    try {
      body = JSON.parse(typeof init.body === 'string' ? init.body : '');
    } catch {
      return Response.json({ detail: 'There was an error parsing the body' }, { status: 400 });
    }
    const invalid = requestValidationError(body);
    if (invalid) return new Response(invalid, { status: 422, headers: { 'content-type': 'application/json' } });
    const { model, messages } = body as { model: string; messages: { content: unknown }[] };
    const text = offlineDemoReply(lastUserText(messages));
    const pieces = chunkSize === undefined ? tokenPieces(text) : undefined;
    const frames = replyFrames(text, { model, chunkSize, pieces, usageValue: usageOf(messages, text) });
    return new Response(frameStream(frames, chunkDelayMs, firstTokenMs, signal), { status: 200, headers: EVENT_STREAM_HEADERS });
  };
}

/**
 * Streams frames one at a time: the first (role only) at once, the first words after `firstMs`, then a pause
 * of `delayMs` ±50 % between frames. Aborting the signal errors the stream.
 */
function frameStream(frames: string[], delayMs: number, firstMs: number, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  return timedStream(frames, (i) => (i === 1 ? firstMs : delayMs * (0.5 + Math.random())), signal);
}
