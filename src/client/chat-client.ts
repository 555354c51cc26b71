/**
 * Browser client for widget protocol v1 (see DESIGN.md): `GET /v1/agent`, `GET /v1/sessions/{id}/messages`,
 * the streamed `POST /v1/chat`, and the wave-2 additions (`GET /v1/conversations`, Stop, feedback, `X-User-Token`). Fetch-based, no server imports; SSE framing by eventsource-parser.
 * Every failure becomes a {@link ChatError} with a code the element can map to a message; a raw response
 * body is never surfaced (an HTML error page from a CDN must not end up in the chat).
 */
import { createParser } from 'eventsource-parser';
import {
  API_KEY_HEADER,
  ERROR_STATUS,
  REQUEST_ID_HEADER,
  USER_TOKEN_HEADER,
  type ActivityEvent,
  type AgentInfo,
  type ChatRequest,
  type ConversationSummary,
  type DoneEvent,
  type ErrorCode,
  type FeedbackRequest,
  type HistoryResponse,
  type Source,
  type StartEvent,
  type StoredMessage,
} from '../protocol.ts';

export type ChatErrorCode = ErrorCode | 'network' | 'offline' | 'aborted' | 'bad_response';

export interface ChatErrorInit {
  status?: number | null;
  retryAfter?: number | null;
  requestId?: string | null;
  cause?: unknown;
}

export class ChatError extends Error {
  /** Protocol error code, or a client-side one: `network`, `offline`, `aborted`, `bad_response`. */
  code: ChatErrorCode;
  /** HTTP status when the error came as an HTTP answer; null for network failures and SSE `error` events. */
  status: number | null;
  /** Seconds to wait before retrying (`retry_after` in the body, else the `Retry-After` header). */
  retryAfter: number | null;
  /** The proxy's request id, for support. */
  requestId: string | null;

  constructor(code: ChatErrorCode, message: string, init: ChatErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ChatError';
    this.code = code;
    this.status = init.status ?? null;
    this.retryAfter = init.retryAfter ?? null;
    this.requestId = init.requestId ?? null;
  }
}

export interface ChatHandlers {
  onStart?(e: StartEvent): void;
  onDelta?(text: string): void;
  /** Sources the reply cites (new ones, or ones to replace by `id`); malformed entries are left out. */
  onSources?(sources: Source[]): void;
  /** The agent started or finished running a tool (an optional event: never relied upon). */
  onActivity?(e: ActivityEvent): void;
  onDone?(e: DoneEvent): void;
}

export interface ChatClientOptions {
  endpoint: string;
  apiKey: string;
  fetch?: typeof fetch;
  /** The visitor's identity token, read at each call (sent as `X-User-Token` when not empty). */
  userToken?: () => string | null | undefined;
  /** How long a stream may stay open after its `done` or `error` event before the client lets go (default 5000 ms). */
  drainMs?: number;
}

/** The code an HTTP status implies when the body is not our JSON (a CDN or gateway answered); 403 is ambiguous. */
function codeForStatus(status: number): ChatErrorCode {
  const codes = (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((c) => ERROR_STATUS[c] === status);
  return codes.length === 1 ? (codes[0] as ErrorCode) : 'bad_response';
}

// Not Object.hasOwn: the initial bundle keeps to ES2021 built-ins.
const isErrorCode = (c: unknown): c is ErrorCode =>
  typeof c === 'string' && Object.prototype.hasOwnProperty.call(ERROR_STATUS, c);

/** Refuse absurd SSE frames instead of buffering them forever. */
const MAX_SSE_BUFFER = 1024 * 1024;

export class ChatClient {
  readonly endpoint: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch | undefined;
  readonly #token: () => string | null | undefined;
  readonly #drainMs: number;

  constructor(opts: ChatClientOptions) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.#apiKey = opts.apiKey;
    this.#fetch = opts.fetch;
    this.#token = opts.userToken ?? (() => '');
    this.#drainMs = opts.drainMs ?? 5000;
  }

  async agent(signal?: AbortSignal): Promise<AgentInfo> {
    const body = await this.#json(await this.#send('GET', '/v1/agent', undefined, signal), signal);
    if (!hasShape(body, { name: 'string', role: 'string' })) throw badResponse('agent info has an unexpected shape');
    return { name: body.name, role: body.role };
  }

  /** The stored history and whether a reply is being produced right now (`pending`). */
  async session(sessionId: string, limit?: number, signal?: AbortSignal): Promise<Required<HistoryResponse>> {
    const query = limit === undefined ? '' : `?limit=${encodeURIComponent(String(limit))}`;
    const body = await this.#json(await this.#send('GET', `${sessionPath(sessionId)}/messages${query}`, undefined, signal), signal);
    const messages = isRecord(body) ? body.messages : undefined;
    if (!Array.isArray(messages) || !messages.every(isStoredMessage)) {
      throw badResponse('history has an unexpected shape');
    }
    return {
      pending: isRecord(body) && body.pending === true,
      // Optional fields are kept only when well-formed.
      messages: messages.map(({ sources, stopped, feedback, ...m }) => {
        const valid = validSources(sources);
        return {
          ...m,
          ...(valid.length ? { sources: valid } : {}),
          ...(stopped === true ? { stopped } : {}),
          ...(feedback === 'up' || feedback === 'down' ? { feedback } : {}),
        };
      }),
    };
  }

  /** `GET /v1/conversations`: the verified user's conversations (needs a user token). */
  async conversations(signal?: AbortSignal): Promise<ConversationSummary[]> {
    const body = await this.#json(await this.#send('GET', '/v1/conversations', undefined, signal), signal);
    const list = isRecord(body) ? body.conversations : undefined;
    if (!Array.isArray(list)) throw badResponse('conversations have an unexpected shape');
    return list.filter((c): c is ConversationSummary => hasShape(c, { session_id: 'string', title: 'string', updated_at: 'string' }));
  }

  /** `POST /v1/sessions/{id}/stop`: ends the reply being produced for this session (204, also when there is none). */
  async stop(sessionId: string, signal?: AbortSignal): Promise<void> {
    await discard(await this.#send('POST', `${sessionPath(sessionId)}/stop`, undefined, signal));
  }

  /** `POST /v1/messages/{id}/feedback`: rates a reply (`rating: null` clears). */
  async feedback(messageId: string, body: FeedbackRequest, signal?: AbortSignal): Promise<void> {
    const path = `/v1/messages/${encodeURIComponent(messageId)}/feedback`;
    await discard(await this.#send('POST', path, JSON.stringify(body), signal));
  }

  /** Resolves with the done event; rejects with ChatError (error event, HTTP error JSON, network, aborted, stream closed without done). */
  async chat(body: ChatRequest, handlers: ChatHandlers, signal?: AbortSignal): Promise<DoneEvent> {
    const res = await this.#send('POST', '/v1/chat', JSON.stringify(body), signal);
    const type = res.headers.get('content-type') ?? '';
    if (!res.body || !type.toLowerCase().startsWith('text/event-stream')) {
      await discard(res);
      throw badResponse('expected an event stream', res);
    }
    const requestId = res.headers.get(REQUEST_ID_HEADER);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let outcome: { done: DoneEvent } | { error: unknown } | undefined;
    // Cancelling the reader on abort also unblocks a stream that does not watch the signal itself.
    const onAbort = () => void reader.cancel().catch(() => {});
    signal?.addEventListener('abort', onAbort, { once: true });

    const parser = createParser({
      maxBufferSize: MAX_SSE_BUFFER,
      onError: (err) => {
        // Unknown fields and bad `retry:` values are ignored, as EventSource does; an endless frame is fatal.
        if (err.type === 'max-buffer-size-exceeded') outcome ??= { error: badResponse('event too large', res) };
      },
      onEvent: ({ event, data }) => {
        if (outcome) return;
        try {
          switch (event) {
            // Validate first: `handlers.onX?.(parse())` would skip the parse when there is no handler.
            case 'start': {
              const e = parseEvent(data, isStartEvent);
              handlers.onStart?.(e);
              break;
            }
            case 'delta': {
              const e = parseEvent(data, isDeltaEvent);
              handlers.onDelta?.(e.text);
              break;
            }
            // Optional events: a malformed one is dropped, it never fails the reply.
            case 'sources': {
              const e = tryJson(data);
              const list = validSources(isRecord(e) ? e.sources : undefined);
              if (list.length) handlers.onSources?.(list);
              break;
            }
            case 'activity': {
              const e = tryJson(data);
              if (hasShape(e, { tool: 'string', state: 'string' }) && (e.state === 'started' || e.state === 'done'))
                handlers.onActivity?.({ tool: e.tool, state: e.state });
              break;
            }
            case 'done': {
              const done = parseEvent(data, isDoneEvent);
              outcome = { done };
              handlers.onDone?.(done);
              break;
            }
            case 'error': {
              const e = parseEvent(data, isErrorEvent);
              // A code this client does not know yet (a newer server) is still an error.
              const code = isErrorCode(e.code) ? e.code : 'bad_response';
              const retryAfter = typeof e.retry_after === 'number' && e.retry_after >= 0 ? e.retry_after : null;
              outcome = { error: new ChatError(code, e.message, { requestId: e.request_id ?? requestId, retryAfter }) };
              break;
            }
            default: // unknown events are ignored: later protocol minors may add some
          }
        } catch (err) {
          // A bad payload, or a handler that threw: stop reading and reject with it.
          outcome = { error: err };
        }
      },
    });

    try {
      while (!outcome) {
        const { value, done } = await reader.read();
        if (done) {
          parser.feed(decoder.decode());
          break;
        }
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch (err) {
      throw transportError(err, signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // With an outcome, read on to the end the proxy sends right after it: a reader cancelled first makes the
      // browser report a finished reply as cancelled (net::ERR_ABORTED). Without one, let go at once.
      if (outcome) void drain(reader, this.#drainMs);
      else reader.cancel().catch(() => {});
    }
    if (!outcome && signal?.aborted) throw new ChatError('aborted', 'the request was cancelled');
    if (!outcome) {
      throw new ChatError('network', 'the connection closed before the reply finished', { requestId });
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.done;
  }

  /** Sends a request; resolves only with an ok response, otherwise throws the matching ChatError. */
  async #send(method: 'GET' | 'POST', path: string, body: string | undefined, signal?: AbortSignal): Promise<Response> {
    if (signal?.aborted) throw new ChatError('aborted', 'the request was cancelled');
    const headers: Record<string, string> = {
      [API_KEY_HEADER]: this.#apiKey,
      Accept: path === '/v1/chat' ? 'text/event-stream, application/json' : 'application/json',
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const token = this.#token();
    if (token) headers[USER_TOKEN_HEADER] = token;
    const doFetch = this.#fetch ?? globalThis.fetch;
    let res: Response;
    try {
      res = await doFetch(this.endpoint + path, { method, headers, body, signal, credentials: 'omit' });
    } catch (err) {
      throw transportError(err, signal);
    }
    if (!res.ok) throw await httpError(res, signal);
    return res;
  }

  async #json(res: Response, signal?: AbortSignal): Promise<unknown> {
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw transportError(err, signal);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw badResponse('expected JSON', res);
    }
  }
}

/** Builds the ChatError for a non-2xx answer from our JSON body, headers and status, never the raw body. */
async function httpError(res: Response, signal?: AbortSignal): Promise<ChatError> {
  let body: unknown;
  try {
    body = JSON.parse(await res.text());
  } catch (err) {
    if (signal?.aborted) return new ChatError('aborted', 'the request was cancelled', { cause: err });
    body = undefined;
  }
  const e = isRecord(body) && isRecord(body.error) ? body.error : {};
  const known = isErrorCode(e.code);
  const code: ChatErrorCode = known ? (e.code as ErrorCode) : codeForStatus(res.status);
  const message = known && typeof e.message === 'string' ? e.message : `the server answered HTTP ${res.status}`;
  const retryAfter =
    typeof e.retry_after === 'number' && e.retry_after >= 0 ? e.retry_after : parseRetryAfter(res.headers.get('retry-after'));
  const requestId = typeof e.request_id === 'string' ? e.request_id : res.headers.get(REQUEST_ID_HEADER);
  return new ChatError(code, message, { status: res.status, retryAfter, requestId });
}

/** `Retry-After` is delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

function transportError(err: unknown, signal?: AbortSignal): unknown {
  if (err instanceof ChatError) return err;
  if (signal?.aborted || (err instanceof DOMException && err.name === 'AbortError')) {
    return new ChatError('aborted', 'the request was cancelled', { cause: err });
  }
  if (typeof navigator !== 'undefined' && navigator.onLine === false) {
    return new ChatError('offline', 'the browser is offline', { cause: err });
  }
  return new ChatError('network', 'the chat server could not be reached', { cause: err });
}

function badResponse(message: string, res?: Response): ChatError {
  return new ChatError('bad_response', `unexpected answer from the chat server: ${message}`, {
    status: res?.status ?? null,
    requestId: res?.headers.get(REQUEST_ID_HEADER) ?? null,
  });
}

/** Reads what is left of a stream (nothing, normally: its end), ignoring it; cancels a stream that stays open. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number): Promise<void> {
  const timer = setTimeout(() => void reader.cancel().catch(() => {}), ms);
  try {
    while (!(await reader.read()).done);
  } catch {
    // cancelled or cut: nothing to do
  } finally {
    clearTimeout(timer);
  }
}

async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

function parseEvent<T>(data: string, check: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw badResponse('an event is not JSON');
  }
  if (!check(value)) throw badResponse('an event has an unexpected shape');
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Shape = Record<string, 'string' | 'number'>;
type Shaped<S extends Shape> = Record<string, unknown> & { [K in keyof S]: S[K] extends 'string' ? string : number };
/** Whether `v` is an object whose listed fields have the listed types (extra fields are fine). */
function hasShape<S extends Shape>(v: unknown, shape: S): v is Shaped<S> {
  return isRecord(v) && Object.entries(shape).every(([k, t]) => typeof v[k] === t);
}

const sessionPath = (id: string) => `/v1/sessions/${encodeURIComponent(id)}`;

const isStartEvent = (v: unknown): v is StartEvent => hasShape(v, { conversation_id: 'string', message_id: 'string' });
const isDeltaEvent = (v: unknown): v is { text: string } => hasShape(v, { text: 'string' });
const isDoneEvent = (v: unknown): v is DoneEvent =>
  hasShape(v, { message_id: 'string', tokens_used: 'number', response_time_ms: 'number', finish_reason: 'string' });
const isErrorEvent = (v: unknown): v is { code: string; message: string; request_id?: string; retry_after?: unknown } =>
  hasShape(v, { code: 'string', message: 'string' }) && (v.request_id === undefined || typeof v.request_id === 'string');
function tryJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** The well-formed entries of a `sources` list (string id and title; url and snippet strings when present). */
export function validSources(v: unknown): Source[] {
  if (!Array.isArray(v)) return [];
  return v.filter(
    (x): x is Source =>
      hasShape(x, { id: 'string', title: 'string' }) &&
      (x.url === undefined || typeof x.url === 'string') &&
      (x.snippet === undefined || typeof x.snippet === 'string'),
  );
}

const isStoredMessage = (v: unknown): v is StoredMessage =>
  hasShape(v, { id: 'string', content: 'string', created_at: 'string' }) && (v.role === 'user' || v.role === 'assistant');
