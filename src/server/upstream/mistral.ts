/**
 * The Mistral upstream: one streamed POST, parsed with eventsource-parser, with time limits, retries before
 * the first delta, and error mapping to ApiError. Runtime-neutral: its HTTP client is a transport (transport.ts),
 * fetch by default, a keep-alive node:http client on the Node server. It speaks both of
 * Mistral's streaming wire formats with the same transport: chat completions, and the Conversations API
 * when the request names a Mistral agent (`agentId`); see chat-completions.ts and conversations.ts.
 *
 * Abort semantics: when `opts.signal` aborts, the fetch is aborted at once and the generator throws a
 * DOMException named `AbortError` (see `isAbortError`), never an ApiError; text already yielded stays
 * with the caller. Ending the iteration early (`break`, `return()`) also aborts the request.
 */
import { createParser } from 'eventsource-parser';
import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { DOCS_DEMO_AGENT_ID } from './builtin-agents.ts';
import { chatCompletions } from './chat-completions.ts';
import { conversations } from './conversations.ts';
import { summarizeErrorBody } from './error-body.ts';
import { StreamError, type WireFormat } from './stream-reader.ts';
import { fetchTransport, type TransportRequest, type TransportResponse, type UpstreamTransport } from './transport.ts';
import type { Upstream, UpstreamOptions, UpstreamRequest, UpstreamResult, UpstreamYield } from './upstream.ts';

export { contentText, requestBody } from './chat-completions.ts';
export { summarizeErrorBody } from './error-body.ts';

export interface MistralUpstreamOptions {
  apiKey: string;
  /** Without `/v1`, e.g. `https://api.mistral.ai`. */
  baseUrl: string;
  /** Milliseconds; 0 disables a limit. */
  timeouts: { firstByteMs: number; idleMs: number; totalMs: number };
  retries: { max: number; maxDelayMs: number };
  log: Logger;
  /** Defaults to the global fetch; the offline demo passes an in-process one. Unused when `transport` is given. */
  fetch?: typeof fetch;
  /** The HTTP client; default: `fetchTransport(fetch)`. The Node server passes a keep-alive node:http one. */
  transport?: UpstreamTransport;
  /**
   * Agent ids Mistral does not know, answered through chat completions with the row's own instructions
   * instead of the Conversations API. Default: the offline demo's built-in docs agent, so a database made
   * in demo mode keeps working once a real MISTRAL_API_KEY is set. The offline demo passes an empty set.
   */
  localAgentIds?: ReadonlySet<string>;
}

export const UPSTREAM_MESSAGES = {
  badKey: 'The assistant is not configured correctly.',
  badRequest: 'The assistant could not handle this request.',
  rateLimited: 'The assistant is receiving too many requests right now. Please try again in a moment.',
  unavailable: 'The assistant is temporarily unavailable. Please try again.',
  unreachable: 'The assistant could not be reached. Please try again.',
  blocked: 'The assistant cannot answer this message.',
  cutOff: 'The assistant stopped answering before the end of its reply.',
  timeout: 'The assistant took too long to answer. Please try again.',
} as const;

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const BACKOFF_BASE_MS = 250;
const ERROR_BODY_MAX = 8 * 1024;

export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

const DEFAULT_LOCAL_AGENTS: ReadonlySet<string> = new Set([DOCS_DEMO_AGENT_ID]);

export function createMistralUpstream(options: MistralUpstreamOptions): Upstream {
  const base = options.baseUrl.replace(/\/+$/, '');
  const local = options.localAgentIds ?? DEFAULT_LOCAL_AGENTS;
  const transport = options.transport ?? fetchTransport(options.fetch);
  const told = new Set<string>();
  return {
    kind: 'mistral',
    stream(req, opts) {
      if (req.agentId === undefined || !local.has(req.agentId)) {
        return streamReply(options, transport, req.agentId === undefined ? chatCompletions : conversations, base, req, opts);
      }
      if (!told.has(req.agentId)) {
        told.add(req.agentId);
        options.log.warn('This agent is linked to a built-in demo agent that Mistral does not know: answering with chat completions and the agent\'s own instructions. Link it to a real Mistral agent with `mistral-agent-chat agent link-mistral`.', {
          request_id: opts.requestId,
          mistral_agent_id: req.agentId,
        });
      }
      const { agentId: _local, ...plain } = req;
      return streamReply(options, transport, chatCompletions, base, plain, opts);
    },
  };
}

type StopReason = 'caller' | 'first_byte' | 'idle' | 'total';

/** A failed attempt: the error to throw if it is not retried, and how to log it. */
class AttemptFailure extends Error {
  constructor(
    readonly error: ApiError,
    readonly retryable: boolean,
    readonly level: 'warn' | 'error',
    readonly logMsg: string,
    readonly fields: Record<string, unknown>,
    readonly retryAfterMs?: number,
  ) {
    super(logMsg);
  }
}

/** State shared by the attempts of one call. */
interface Call {
  readonly o: MistralUpstreamOptions;
  readonly transport: UpstreamTransport;
  readonly opts: UpstreamOptions;
  readonly controller: AbortController;
  readonly watch: Watchdog;
  stopped: StopReason | undefined;
  yielded: boolean;
  cancelReader: (() => void) | undefined;
  /** The Mistral agent of a Conversations call. */
  readonly agentId: string | undefined;
}

async function* streamReply(
  o: MistralUpstreamOptions,
  transport: UpstreamTransport,
  wire: WireFormat,
  base: string,
  req: UpstreamRequest,
  opts: UpstreamOptions,
): AsyncGenerator<UpstreamYield, UpstreamResult, void> {
  if (opts.signal.aborted) throw abortError();
  const url = base + wire.path;
  const init = {
    headers: {
      authorization: `Bearer ${o.apiKey}`,
      'content-type': 'application/json',
      accept: 'text/event-stream',
    },
    body: JSON.stringify(wire.body(req)),
  };
  const call: Call = {
    o, transport, opts, controller: new AbortController(), stopped: undefined, yielded: false, cancelReader: undefined,
    agentId: wire === conversations ? req.agentId : undefined,
    watch: new Watchdog(o.timeouts, (why) => stop(why)),
  };
  function stop(why: StopReason) {
    if (call.stopped) return;
    call.stopped = why;
    call.watch.dispose();
    call.controller.abort();
    call.cancelReader?.(); // in case a custom fetch ignores the signal once the response is out
  }
  const onCallerAbort = () => stop('caller');
  opts.signal.addEventListener('abort', onCallerAbort, { once: true });
  let complete = false;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const a = await openAttempt(call, wire, url, { ...init, signal: call.controller.signal });
        try {
          for (;;) {
            const step = await a.next();
            if (step.done) {
              complete = true;
              return step.value;
            }
            yield step.value;
          }
        } finally {
          a.close();
        }
      } catch (err) {
        if (call.stopped) throw stopError(call);
        if (!(err instanceof AttemptFailure)) throw err;
        if (!err.retryable || call.yielded || attempt >= o.retries.max) {
          o.log[err.level](err.logMsg, { request_id: opts.requestId, ...err.fields, attempts: attempt + 1 });
          throw err.error;
        }
        const delayMs = retryDelay(attempt, err.retryAfterMs, o.retries.maxDelayMs);
        o.log.warn(`${err.logMsg}; retrying`, { request_id: opts.requestId, ...err.fields, attempt: attempt + 1, delayMs });
        call.watch.phase('none');
        await sleep(delayMs, call.controller.signal);
        if (call.stopped) throw stopError(call);
      }
    }
  } finally {
    call.watch.dispose();
    opts.signal.removeEventListener('abort', onCallerAbort);
    if (!complete) call.controller.abort();
  }
}

/**
 * One attempt: the POST, then its answer read event by event. Not an async generator of its own: streamReply
 * is the only generator layer, since a `yield*` between two costs a few promises and microtasks per delta.
 * Throws AttemptFailure (mapped, maybe retried by streamReply) or, once stopped, an Error streamReply replaces.
 */
async function openAttempt(call: Call, wire: WireFormat, url: string, init: TransportRequest): Promise<Attempt> {
  call.watch.phase('first_byte');
  let res: TransportResponse;
  try {
    res = await call.transport.post(url, init);
  } catch (err) {
    throw networkFailure(err, call);
  }
  if (res.status < 200 || res.status > 299) throw await statusFailure(res, call);
  if (!res.hasBody) {
    throw new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.unavailable), true, 'error',
      'Mistral answered without a body', { status: res.status });
  }
  return new Attempt(call, wire, res);
}

class Attempt {
  // A reader loop around createParser: on Node 20 about 6x less CPU per reply than pipeThrough(TextDecoderStream)
  // + pipeThrough(EventSourceParserStream), which matters at thousands of replies a second.
  readonly #events: { event: string | undefined; data: string }[] = [];
  readonly #parser = createParser({ onEvent: (e) => void this.#events.push({ event: e.event, data: e.data }) });
  readonly #stream: ReturnType<WireFormat['reader']>;
  /** Items of the last event, handed out from #outAt. */
  readonly #out: UpstreamYield[] = [];
  #outAt = 0;
  #drained = false;
  #ended = false;
  #sawEvent = false;

  constructor(
    private readonly call: Call,
    wire: WireFormat,
    private readonly res: TransportResponse,
  ) {
    this.#stream = wire.reader((msg, fields) => call.o.log.warn(msg, { request_id: call.opts.requestId, ...fields }));
    call.cancelReader = () => res.cancel();
  }

  /** The next item, or the result once the reply is complete. */
  async next(): Promise<IteratorResult<UpstreamYield, UpstreamResult>> {
    const { call, res } = this;
    const events = this.#events;
    for (;;) {
      if (this.#outAt < this.#out.length) {
        const item = this.#out[this.#outAt++] as UpstreamYield;
        call.yielded = true;
        call.watch.pause();
        return { done: false, value: item };
      }
      this.#out.length = 0;
      this.#outAt = 0;
      if (this.#ended) break;
      if (call.stopped) break; // checked here too: events may be queued while the consumer had the turn
      if (events.length === 0) {
        if (this.#drained) break;
        call.watch.touch();
        let next: string | null;
        try {
          next = await res.read();
        } catch (err) {
          if (call.stopped || this.#stream.result() !== null) break; // stopped: the caller throws; finished: keep the reply
          throw networkFailure(err, call);
        }
        if (call.stopped) break;
        if (next === null) this.#drained = true;
        else this.#parser.feed(next);
        continue;
      }
      const { event, data } = events.shift()!;
      if (!this.#sawEvent) {
        this.#sawEvent = true;
        call.watch.phase('idle');
      }
      try {
        this.#ended = this.#stream.onEvent(event, data, this.#out);
      } catch (err) {
        if (!(err instanceof StreamError)) throw err;
        throw new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.unavailable), false, 'error', err.logMsg,
          redactFields(err.fields, call.o.apiKey));
      }
    }
    const result = this.#stream.result();
    // A time limit hit after the reply completed (waiting for usage or the end of the stream) still leaves a complete reply.
    const complete = result !== null && call.stopped !== 'caller';
    if (call.stopped && !complete) throw new Error('stopped'); // streamReply turns this into the stop's error
    if (result === null) {
      throw new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.cutOff), false, 'error', this.#stream.cutMessage,
        { sawEnd: this.#ended });
    }
    return { done: true, value: result };
  }

  /** Lets go of the answer: cancels it unless it was read to its end. */
  close(): void {
    this.call.cancelReader = undefined;
    if (!this.#drained) this.res.cancel();
  }
}

function networkFailure(err: unknown, call: Call): AttemptFailure {
  const cause = err instanceof Error ? err.cause : undefined;
  const message = [err, cause].filter(Boolean).map((e) => (e instanceof Error ? e.message : String(e))).join(': ');
  return new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.unreachable), true, 'error',
    'Mistral could not be reached', { error: redact(message, call.o.apiKey) });
}

async function statusFailure(res: TransportResponse, call: Call): Promise<AttemptFailure> {
  const status = res.status;
  const body = redact(await readCapped(res).catch(() => ''), call.o.apiKey);
  const fields = { status, detail: summarizeErrorBody(body), body: body.slice(0, 500) };
  if (status === 403 && /guardrail/i.test(body)) {
    return new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.blocked), false, 'warn',
      'A Mistral guardrail blocked the request', fields);
  }
  if (status === 401 || status === 403) {
    return new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.badKey), false, 'error',
      'Mistral rejected the API key', fields);
  }
  if (status === 404 && call.agentId !== undefined) {
    return new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.badKey), false, 'error',
      'Mistral does not know this agent (check the agent\'s mistral_agent_id)', { ...fields, mistral_agent_id: call.agentId });
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(res.header('retry-after'));
    const retryAfter = retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new AttemptFailure(new ApiError('rate_limited', UPSTREAM_MESSAGES.rateLimited, { retryAfter }), true, 'warn',
      'Mistral rate limit reached', fields, retryAfterMs);
  }
  if (status === 400 || status === 422) {
    return new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.badRequest), false, 'error',
      'Mistral rejected the request', fields);
  }
  const retryAfterMs = parseRetryAfter(res.header('retry-after'));
  return new AttemptFailure(new ApiError('upstream_error', UPSTREAM_MESSAGES.unavailable), RETRY_STATUSES.has(status),
    'error', 'Mistral answered with an error', fields, retryAfterMs);
}

/** Reads at most ERROR_BODY_MAX characters of an error body, then drops the rest. */
async function readCapped(res: TransportResponse): Promise<string> {
  let text = '';
  try {
    while (text.length < ERROR_BODY_MAX) {
      const chunk = await res.read();
      if (chunk === null) return text;
      text += chunk;
    }
    return text.slice(0, ERROR_BODY_MAX);
  } finally {
    res.cancel();
  }
}

function redact(text: string, apiKey: string): string {
  return apiKey.length >= 4 ? text.split(apiKey).join('[redacted]') : text;
}

function redactFields(fields: Record<string, unknown>, apiKey: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'string' ? redact(v, apiKey) : v;
  return out;
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Retry-After when given, else exponential backoff with jitter; both capped by maxDelayMs. */
function retryDelay(attempt: number, retryAfterMs: number | undefined, maxDelayMs: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, maxDelayMs);
  const ceiling = Math.min(maxDelayMs, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function abortError(): DOMException {
  return new DOMException('The upstream request was aborted.', 'AbortError');
}

function stopError(call: Call): Error {
  if (call.stopped === 'caller') return abortError();
  const limits = { first_byte: 'firstByteMs', idle: 'idleMs', total: 'totalMs' } as const;
  const limit = call.stopped ? call.o.timeouts[limits[call.stopped]] : undefined;
  call.o.log.warn('Mistral timed out', { request_id: call.opts.requestId, phase: call.stopped, limitMs: limit });
  return new ApiError('upstream_timeout', UPSTREAM_MESSAGES.timeout);
}

/**
 * One timer for all time limits of a call: the total deadline, plus the current phase's (time to the
 * first SSE event, or silence while waiting for the next one). `touch()` only records the time, so a
 * busy stream costs no timer churn; the timer re-arms itself when it fires early.
 */
class Watchdog {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #phase: 'none' | 'first_byte' | 'idle' = 'none';
  #since = 0;
  #waiting = true;
  readonly #totalEnd: number;

  constructor(
    private readonly t: MistralUpstreamOptions['timeouts'],
    private readonly onExpire: (why: 'first_byte' | 'idle' | 'total') => void,
  ) {
    this.#totalEnd = t.totalMs > 0 ? performance.now() + t.totalMs : Infinity;
    this.#arm();
  }

  phase(p: 'none' | 'first_byte' | 'idle'): void {
    this.#phase = p;
    this.#since = performance.now();
    this.#arm();
  }

  /** Waiting for upstream starts now. */
  touch(): void {
    this.#waiting = true;
    if (this.#phase === 'idle') this.#since = performance.now();
  }

  /** Our consumer has the turn: idle only counts time spent waiting for upstream, not for the consumer. */
  pause(): void {
    this.#waiting = false;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#phase = 'none';
  }

  #deadline(): { at: number; why: 'first_byte' | 'idle' | 'total' } {
    const ms = this.#phase === 'first_byte' ? this.t.firstByteMs : this.#phase === 'idle' ? this.t.idleMs : 0;
    // While paused, look again one idle period later: touch() will have moved #since by then.
    const from = this.#phase === 'idle' && !this.#waiting ? performance.now() : this.#since;
    const phaseEnd = ms > 0 ? from + ms : Infinity;
    return phaseEnd < this.#totalEnd ? { at: phaseEnd, why: this.#phase as 'first_byte' | 'idle' } : { at: this.#totalEnd, why: 'total' };
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const { at } = this.#deadline();
    this.#timer = at === Infinity ? undefined : setTimeout(() => this.#check(), Math.max(0, at - performance.now()));
  }

  #check(): void {
    const { at, why } = this.#deadline();
    if (performance.now() >= at) {
      this.dispose();
      this.onExpire(why);
    } else {
      this.#arm();
    }
  }
}
