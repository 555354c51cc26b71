/**
 * A stand-in for the mistral-agent-chat proxy inside the browser: it replaces `globalThis.fetch` for
 * one origin and answers protocol v1 calls. Chat replies are real SSE `Response`s whose bodies are
 * ReadableStreams the test drives event by event, so timing is under the test's control.
 */
import type { AgentInfo, ChatRequest, ConversationSummary, ErrorCode, StoredMessage } from '../../src/protocol.ts';

export const ENDPOINT = 'http://proxy.test';
export const KEY = 'mac_test_0123456789';

const enc = new TextEncoder();

export class SseReply {
  readonly response: Response;
  /** True once the body is closed: by the test, or by the client (Stop, reset, disconnect). */
  cancelled = false;
  #ctrl!: ReadableStreamDefaultController<Uint8Array>;

  constructor(
    readonly body: ChatRequest,
    readonly signal: AbortSignal | null,
  ) {
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => void (this.#ctrl = c),
      cancel: () => void (this.cancelled = true),
    });
    // Like a real fetch: aborting the request errors the body stream.
    signal?.addEventListener('abort', () => {
      if (this.cancelled) return;
      this.cancelled = true;
      this.#ctrl.error(new DOMException('The user aborted a request.', 'AbortError'));
    });
    this.response = new Response(stream, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_test' },
    });
  }

  /** Raw SSE frames, possibly several events in one chunk. */
  raw(text: string) {
    if (!this.cancelled) this.#ctrl.enqueue(enc.encode(text));
  }

  event(name: string, data: unknown) {
    this.raw(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  start() {
    this.event('start', { conversation_id: 'conv_1', message_id: 'msg_user' });
  }

  delta(text: string) {
    this.event('delta', { text });
  }

  done(id = 'msg_reply', tokens = 42) {
    this.event('done', { message_id: id, tokens_used: tokens, response_time_ms: 5, finish_reason: 'stop' });
    this.close();
  }

  /** The end of a reply ended by `POST /v1/sessions/{id}/stop`. */
  stopped(id = 'msg_reply') {
    this.event('done', { message_id: id, tokens_used: 7, response_time_ms: 5, finish_reason: 'aborted', stopped: true });
    this.close();
  }

  error(code: ErrorCode, message = 'upstream said no') {
    this.event('error', { code, message });
    this.close();
  }

  close() {
    if (!this.cancelled) this.#ctrl.close();
    this.cancelled = true;
  }

  /** The whole reply at once. */
  reply(text: string, id?: string) {
    this.start();
    this.delta(text);
    this.done(id);
  }
}

export interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body?: string;
}

type Answer = (call: Call) => Response | Promise<Response>;

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const errorBody = (status: number, code: ErrorCode, extra: Record<string, unknown> = {}, headers = {}) =>
  json(status, { error: { code, message: `server says ${code}`, ...extra } }, headers);

export class FakeProxy {
  calls: Call[] = [];
  agent: AgentInfo = { name: 'Ada', role: 'Helps with tests' };
  history: StoredMessage[] = [];
  /** `pending` of the history answer: a reply is being produced right now. */
  pending = false;
  conversations: ConversationSummary[] = [];
  /** Overrides of whole answers, by route. */
  onAgent?: Answer;
  onHistory?: Answer;
  onConversations?: Answer;
  /** `POST /v1/sessions/{id}/stop` (default 204) and `POST /v1/messages/{id}/feedback` (default 204). */
  onStop?: Answer;
  onFeedback?: Answer;
  /** Answers for the next `POST /v1/chat` calls, in order (a Response or an error to throw); default: an SseReply. */
  chatAnswers: (Response | Error)[] = [];
  replies: SseReply[] = [];
  #waiters: ((r: SseReply) => void)[] = [];
  #real = globalThis.fetch;

  constructor() {
    globalThis.fetch = (input, init) => this.#fetch(input, init);
  }

  restore() {
    globalThis.fetch = this.#real;
  }

  /** Resolves with the next chat reply stream the element opens. */
  nextReply(): Promise<SseReply> {
    return new Promise((r) => this.#waiters.push(r));
  }

  get chatCalls() {
    return this.calls.filter((c) => c.url.pathname === '/v1/chat');
  }

  /** Calls whose path matches. */
  callsTo(path: RegExp) {
    return this.calls.filter((c) => path.test(c.url.pathname));
  }

  async #fetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== ENDPOINT) return this.#real(input, init);
    const call: Call = { method: init.method ?? 'GET', url, headers: new Headers(init.headers), body: init.body == null ? undefined : String(init.body) };
    this.calls.push(call);
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    if (url.pathname === '/v1/agent') return this.onAgent ? this.onAgent(call) : json(200, this.agent);
    if (/^\/v1\/sessions\/[^/]+\/messages$/.test(url.pathname))
      return this.onHistory ? this.onHistory(call) : json(200, { messages: this.history, pending: this.pending });
    if (url.pathname === '/v1/conversations')
      return this.onConversations ? this.onConversations(call) : json(200, { conversations: this.conversations });
    if (/^\/v1\/sessions\/[^/]+\/stop$/.test(url.pathname) && call.method === 'POST')
      return this.onStop ? this.onStop(call) : new Response(null, { status: 204 });
    if (/^\/v1\/messages\/[^/]+\/feedback$/.test(url.pathname) && call.method === 'POST')
      return this.onFeedback ? this.onFeedback(call) : new Response(null, { status: 204 });
    if (url.pathname === '/v1/chat' && call.method === 'POST') {
      const answer = this.chatAnswers.shift();
      if (answer instanceof Error) throw answer;
      if (answer) return answer;
      const reply = new SseReply(JSON.parse(String(init.body)) as ChatRequest, init.signal ?? null);
      this.replies.push(reply);
      this.#waiters.shift()?.(reply);
      return reply.response;
    }
    return errorBody(404, 'not_found');
  }
}

/** Two animation frames: enough for a batched delta to render. */
export const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

/** The next event of that name, typed from GlobalEventHandlersEventMap. */
export const once = <K extends keyof GlobalEventHandlersEventMap>(target: EventTarget, name: K) =>
  new Promise<GlobalEventHandlersEventMap[K]>((resolve) =>
    target.addEventListener(name, (e) => resolve(e as GlobalEventHandlersEventMap[K]), { once: true }),
  );
