/**
 * A minimal SSE response for the chat relay: one ReadableStream we enqueue encoded events into, returned as
 * the Response body. Runtime-neutral (Web streams only), like Hono's `streamSSE`, but without its
 * TransformStream pair (a writer, a transform, a reader and a second ReadableStream, each with its promises
 * per chunk): on Node 20 that pair cost about 0.8 ms of CPU per 40-chunk reply (bench/profile-summary.md).
 *
 * Semantics kept from `streamSSE`: `writeSSE` waits while the response is not being read (backpressure,
 * here above HIGH_WATER_EVENTS queued), and returns at once, writing nothing, once the stream is aborted;
 * `abort()` runs the `onAbort` listeners and ends the response; a reader that goes away (the visitor closed
 * the tab) aborts it.
 */
import type { Context } from 'hono';

export interface SseMessage {
  event?: string;
  data: string;
}

/** What the relay writes to. Hono's SSEStreamingApi has the same shape, so either can be passed. */
export interface SseStream {
  writeSSE(message: SseMessage): Promise<void>;
  /** Called once when the stream is aborted: by `abort()` or because its reader went away. */
  onAbort(listener: () => void | Promise<void>): void;
  abort(): void;
  readonly aborted: boolean;
}

/** Events queued before `writeSSE` waits for the reader (a reply is rarely more). */
const HIGH_WATER_EVENTS = 256;
/**
 * How often a waiting writer looks whether the reader caught up. Polled rather than signalled by `pull`:
 * an underlying source with `pull` costs a promise and a few microtasks per chunk read, on every reply,
 * while a reader that lags 256 events behind is rare (a visitor on a stalled connection).
 */
const WAIT_POLL_MS = 20;

const encoder = new TextEncoder();

/** One event as SSE text; multi-line data becomes several `data:` lines. */
export function formatEvent(message: SseMessage): string {
  const { event, data } = message;
  if (event !== undefined && (event.includes('\n') || event.includes('\r'))) throw new Error('event must not contain "\\r" or "\\n"');
  const lines = data.includes('\n') || data.includes('\r') ? data.split(/\r\n|\r|\n/).join('\ndata: ') : data;
  return event ? `event: ${event}\ndata: ${lines}\n\n` : `data: ${lines}\n\n`;
}

export class SseWriter implements SseStream {
  readonly body: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #aborted = false;
  #closed = false;
  readonly #listeners: (() => void | Promise<void>)[] = [];
  /** Writers waiting for the reader to catch up, and the timer that looks. */
  #waiting: (() => void)[] = [];
  #poll: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        cancel: () => this.abort(),
      },
      { highWaterMark: HIGH_WATER_EVENTS },
    );
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get closed(): boolean {
    return this.#closed;
  }

  writeSSE(message: SseMessage): Promise<void> {
    if (this.#aborted || this.#closed) return Promise.resolve();
    const bytes = encoder.encode(formatEvent(message));
    try {
      this.#controller.enqueue(bytes);
    } catch {
      return Promise.resolve(); // the stream errored or was cancelled meanwhile
    }
    if ((this.#controller.desiredSize ?? 1) > 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#poll ??= setTimeout(() => this.#check(), WAIT_POLL_MS);
    });
  }

  #check(): void {
    this.#poll = undefined;
    if ((this.#controller.desiredSize ?? 1) > 0) this.#wake();
    else if (this.#waiting.length > 0) this.#poll = setTimeout(() => this.#check(), WAIT_POLL_MS);
  }

  onAbort(listener: () => void | Promise<void>): void {
    this.#listeners.push(listener);
  }

  /** Ends the response now (what was queued is dropped by a reader that is gone) and tells the listeners. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    for (const listener of this.#listeners) {
      try {
        Promise.resolve(listener()).catch(() => {});
      } catch {
        // a listener's failure is not the stream's
      }
    }
    this.#end();
  }

  /** Ends the response after what was written. */
  close(): void {
    this.#end();
  }

  #end(): void {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#controller.close();
      } catch {
        // already cancelled by the reader
      }
    }
    this.#wake();
  }

  #wake(): void {
    clearTimeout(this.#poll);
    this.#poll = undefined;
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** The headers of an SSE reply: no-transform, so proxies neither compress nor buffer it; X-Accel-Buffering for nginx. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
  // Chunked from the start: @hono/node-server otherwise waits a timer tick for more chunks before the headers.
  'Transfer-Encoding': 'chunked',
};

/**
 * Runs `run` with an SseWriter and answers with its stream (through `c.newResponse`, so headers set on the
 * context by middleware are kept); the response ends when `run` settles. A rejection is logged by `onError`
 * (the relay never rejects: its failures are `error` events).
 */
export function sseResponse(c: Context, run: (stream: SseWriter) => Promise<void>, onError: (err: unknown) => void = () => {}): Response {
  const stream = new SseWriter();
  void run(stream)
    .catch(onError)
    .finally(() => stream.close());
  return c.newResponse(stream.body, 200, SSE_HEADERS);
}
