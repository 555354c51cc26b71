/**
 * The offline demo model, used when no MISTRAL_API_KEY is set: an in-process `fetch` that answers
 * /v1/chat/completions in Mistral's exact wire format, handed to createMistralUpstream so the demo runs
 * through the same parsing, timing and abort code as the real thing.
 */
import type { Logger } from '../log.ts';
import { createMistralUpstream } from './mistral.ts';
import type { Upstream } from './upstream.ts';
import { EVENT_STREAM_HEADERS, lastUserText, replyFrames, requestValidationError, usageOf } from './wire-format.ts';

export interface OfflineDemoOptions {
  /** Pause between two streamed chunks (default 15 ms). */
  chunkDelayMs?: number;
  /** Characters per chunk (default 6). */
  chunkSize?: number;
  log?: Logger;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

export function createOfflineDemoUpstream(opts: OfflineDemoOptions = {}): Upstream {
  const inner = createMistralUpstream({
    apiKey: 'offline-demo',
    baseUrl: 'http://offline-demo.invalid',
    timeouts: { firstByteMs: 10_000, idleMs: 10_000, totalMs: 120_000 },
    retries: { max: 0, maxDelayMs: 0 },
    log: opts.log ?? silent,
    fetch: offlineDemoFetch(opts.chunkDelayMs ?? 15, opts.chunkSize ?? 6),
  });
  return { kind: 'offline-demo', stream: (req, o) => inner.stream(req, o) };
}

/** What the demo model says: markdown-rich, clear that it is offline, echoing a bit of the visitor. */
export function offlineDemoReply(lastUserMessage: string): string {
  const flat = lastUserMessage.replace(/\s+/g, ' ').trim();
  const echo = flat.length > 80 ? `${flat.slice(0, 80)}…` : flat;
  return [
    '## Offline demo reply',
    '',
    'This answer comes from the **offline demo model**: no `MISTRAL_API_KEY` is set on this server, ' +
      'so nothing was sent to Mistral.',
    '',
    echo ? `You wrote: “${echo}”` : 'Your message was empty.',
    '',
    'What works in this mode:',
    '- your messages are **stored** in the database, like in production;',
    '- replies **stream** in small chunks, in Mistral’s own wire format;',
    '- markdown renders: headings, lists, **bold**, `code` and links.',
    '',
    'To get real answers, set the key and restart:',
    '',
    '```sh',
    'MISTRAL_API_KEY=your-key npm start',
    '```',
    '',
    'Learn more in the [Mistral documentation](https://docs.mistral.ai).',
  ].join('\n');
}

function abortError(): DOMException {
  return new DOMException('The operation was aborted.', 'AbortError');
}

/** A fetch-compatible function that only knows `POST …/v1/chat/completions` with `stream: true`. */
export function offlineDemoFetch(chunkDelayMs: number, chunkSize: number): typeof fetch {
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
    const frames = replyFrames(text, { model, chunkSize, usageValue: usageOf(messages, text) });
    return new Response(frameStream(frames, chunkDelayMs, signal), { status: 200, headers: EVENT_STREAM_HEADERS });
  };
}

/** Streams frames one at a time with a pause between them; aborting the signal errors the stream. */
function frameStream(frames: string[], delayMs: number, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  const cleanup = () => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      onAbort = () => {
        cleanup();
        controller.error(abortError());
        wake?.();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    },
    pull(controller) {
      return new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(() => {
          controller.enqueue(encoder.encode(frames[i++]));
          if (i >= frames.length) {
            cleanup();
            controller.close();
          }
          resolve();
        }, i === 0 ? 0 : delayMs);
      });
    },
    cancel: cleanup,
  });
}
