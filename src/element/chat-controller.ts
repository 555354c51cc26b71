/**
 * Network and state for one `<mistral-agent-chat>`: ids, history, streaming (batched to one update
 * per animation frame), Stop, Retry, offline detection, and the lazily loaded Markdown renderer.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ChatClient, type ChatError } from '../client/chat-client.ts';
import { createIdStore } from '../client/ids.ts';
import { LIMITS } from '../protocol.ts';
import { initialState, reduce, type Action, type ChatState, type Message, type ViewError } from './chat-state.ts';
import { defaultEndpoint } from './endpoint.ts';
import { MistralChatErrorEvent, MistralChatResponseEvent } from './events.ts';

type Markdown = typeof import('../markdown/render.ts');

/** What the controller needs from its element. */
export interface ChatHost extends ReactiveControllerHost, HTMLElement {
  apiKey: string;
  endpoint: string;
  allowImages: boolean;
  metadata: Record<string, unknown>;
}

let markdown: Promise<Markdown | null> | undefined;
/** Loads the Markdown chunk once per page; a failed load leaves replies as plain text. */
const loadMarkdown = () => (markdown ??= import('../markdown/render.ts').then(async (m) => (await m.ready, m)).catch(() => null));

const cut = (s: string) => s.slice(0, 1024);

/** Refusals only the site owner can end: the chat says so calmly and takes no more messages. */
const REFUSALS = ['invalid_api_key', 'agent_inactive', 'origin_not_allowed'];

/** What the conversation stores by default, besides the host's `metadata`. */
const pageMetadata = () => ({
  page_url: cut(location.href),
  referrer: cut(document.referrer),
  language: navigator.language,
  time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  viewport: `${innerWidth}x${innerHeight}`,
});

export class ChatController implements ReactiveController {
  state: ChatState = initialState;
  /** The agent's display name from `GET /v1/agent`. */
  agentName = '';
  offline = !navigator.onLine;
  md: Markdown | null = null;

  readonly #host: ChatHost;
  readonly #ids = createIdStore();
  #client?: ChatClient;
  #clientKey = '';
  /** Bumped when the conversation starts over: late answers for an older one are dropped. */
  #gen = 0;
  #abort?: AbortController;
  #buffer = '';
  #frame = 0;
  #stream?: InstanceType<Markdown['MarkdownStream']>;
  #html = new WeakMap<Message, string[]>();
  #htmlImages = false;
  /** A refusal of the current endpoint and key (see `refusal`). */
  #refusal?: { code: string; key: string };
  /** What the site owner was already told in the console. */
  #told = new Set<string>();

  constructor(host: ChatHost) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected() {
    addEventListener('online', this.#net);
    addEventListener('offline', this.#net);
  }

  hostDisconnected() {
    removeEventListener('online', this.#net);
    removeEventListener('offline', this.#net);
    this.#abort?.abort();
  }

  #net = () => {
    this.offline = !navigator.onLine;
    this.#host.requestUpdate();
  };

  /** `invalid_api_key`, `agent_inactive` or `origin_not_allowed` when the proxy refused this endpoint and key; else ''. */
  get refusal(): string {
    const r = this.#refusal;
    return r && r.key === `${this.endpoint} ${this.#host.apiKey}` ? r.code : '';
  }

  get busy() {
    return this.state.phase === 'waiting' || this.state.phase === 'streaming';
  }

  /** The endpoint in use: the attribute, else the origin the widget script came from. */
  get endpoint() {
    return (this.#host.endpoint || defaultEndpoint()).replace(/\/+$/, '');
  }

  #dispatch(a: Action) {
    this.state = reduce(this.state, a);
    this.#host.requestUpdate();
  }

  /** The client for the current endpoint and key; a change of either starts over. */
  #api(): ChatClient {
    const { apiKey } = this.#host;
    const key = `${this.endpoint} ${apiKey}`;
    if (!this.#client || key !== this.#clientKey) {
      if (this.#client) {
        this.#abort?.abort();
        this.#gen++;
        this.state = initialState;
        this.agentName = '';
      }
      this.#clientKey = key;
      this.#client = new ChatClient({ endpoint: this.endpoint, apiKey });
    }
    return this.#client;
  }

  #loading?: Promise<void>;

  /** Loads the agent's name and the stored history, once (first open, or connect when inline). */
  load(): Promise<void> {
    this.#api();
    if (this.state.loaded) return Promise.resolve();
    return (this.#loading ??= this.#load().finally(() => (this.#loading = undefined)));
  }

  async #load() {
    const api = this.#api();
    const gen = this.#gen;
    this.#dispatch({ type: 'history' });
    if (!this.agentName)
      api.agent().then(
        (a) => ((this.agentName = a.name), this.#host.requestUpdate()),
        () => {}, // the heading falls back to the built-in title; history reports real errors
      );
    try {
      // The Markdown chunk too, so replies never flash as plain text.
      const [messages, md] = await Promise.all([
        api.history(this.#ids.sessionId(this.#host.apiKey), LIMITS.historyLimitMax),
        loadMarkdown(),
      ]);
      this.md = md;
      if (gen === this.#gen) this.#dispatch({ type: 'loaded', messages });
    } catch (e) {
      const refused = (e as ChatError).code === 'network' && navigator.onLine && (await this.#refused());
      if (gen === this.#gen) this.#fail(refused || e, 'history');
    }
  }

  /**
   * A refused origin gets a 403 without a CORS grant, which the browser reports as a network failure. If the
   * proxy answers `GET /healthz` (a simple CORS request: no key), it is up and this page is what it refused:
   * then the error for the view and, once, the fix for the site owner in the console.
   */
  async #refused(): Promise<Partial<ChatError> | false> {
    try {
      const res = await fetch(`${this.endpoint}/healthz`, { credentials: 'omit', signal: AbortSignal.timeout(4000) });
      if (!('ok' in (await res.json()))) return false;
    } catch {
      return false;
    }
    const origin = location.origin;
    const message = `${this.endpoint} refuses this page: ${origin} is not in the agent's allowed origins.`;
    this.#tell(`${message} Add it: mistral-agent-chat agent update <id> --allowed-origins "<those allowed now>,${origin}"`);
    return { code: 'origin_not_allowed', message };
  }

  /** One plain line in the console for the site owner, once per page and problem. */
  #tell(line: string) {
    if (!this.#told.has(line)) console.error(`<mistral-agent-chat>: ${line}`);
    this.#told.add(line);
  }

  /** Sends `text` as a new turn (the element fired the send event). Resolves when the reply ends. */
  async send(text: string) {
    const api = this.#api();
    const { apiKey, metadata } = this.#host;
    const abort = (this.#abort = new AbortController());
    const gen = this.#gen;
    this.#dispatch({ type: 'send', id: `local-${Date.now()}`, text });
    if (this.offline) return this.#fail({ code: 'offline', message: 'navigator.onLine is false' }, 'send');
    // The history is requested before the new turn is stored, so it cannot contain it twice.
    await this.load();
    if (abort.signal.aborted) return void (gen === this.#gen && this.#dispatch({ type: 'stopped' }));
    if (!this.state.loaded) {
      // No history, no turn: Retry then loads the history and sends again.
      const error = this.state.error;
      return this.#dispatch({ type: 'fail', error: { code: error?.code ?? 'network', retry: 'send' } });
    }
    this.md = await loadMarkdown();
    // While a reply streams, images stay links even with allow-images: a URL still arriving (or a reference
    // definition still being typed) must never be fetched. The finished reply renders them (see html()).
    this.#stream = this.md ? new this.md.MarkdownStream({ allowImages: false }) : undefined;
    try {
      const done = await api.chat(
        {
          session_id: this.#ids.sessionId(apiKey),
          visitor_id: this.#ids.visitorId(),
          message: text,
          metadata: { ...pageMetadata(), ...metadata },
        },
        {
          onDelta: (t) => {
            this.#buffer += t;
            this.#frame ||= requestAnimationFrame(this.#flush);
          },
          // Sources follow the text they support: render the text buffered so far first.
          onSources: (sources) => (this.#flush(), this.#dispatch({ type: 'sources', sources })),
          onActivity: (e) => this.#dispatch({ type: 'activity', tool: e.state === 'started' ? e.tool : null }),
        },
        abort.signal,
      );
      this.#flush();
      this.#dispatch({ type: 'done', id: done.message_id });
      const reply = this.state.messages.at(-1)!;
      // The stream has every finished block cached: the final HTML costs only the last block,
      // and the same segments keep their DOM.
      // With allow-images, html() renders the whole reply once more, images included.
      if (this.#stream && !this.#host.allowImages) this.#html.set(reply, (this.#stream.set(reply.text), this.#stream.segments()));
      this.#host.dispatchEvent(new MistralChatResponseEvent(done.message_id, reply.text, done.tokens_used, reply.sources ?? []));
    } catch (e) {
      this.#flush();
      if (abort.signal.aborted) {
        if (gen === this.#gen && this.busy) this.#dispatch({ type: 'stopped' });
      } else if (gen === this.#gen) this.#fail(e, 'send');
    }
  }

  /** Renders the buffered deltas: at most once per animation frame. */
  #flush = () => {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    if (!this.#buffer) return;
    const text = this.#buffer;
    this.#buffer = '';
    this.#dispatch({ type: 'delta', text });
  };

  #fail(e: unknown, retry: ViewError['retry']) {
    const err = e as Partial<ChatError>;
    const code = String(err.code ?? 'network');
    if (REFUSALS.includes(code)) {
      this.#refusal = { code, key: this.#clientKey };
      const key = `api-key "${this.#host.apiKey.slice(0, 12)}…"`;
      if (code === 'invalid_api_key')
        this.#tell(`${this.endpoint} does not know ${key}. Copy your agent's key from \`mistral-agent-chat agent list\` (after \`agent rotate-key\`, only the new key works).`);
      else if (code === 'agent_inactive')
        this.#tell(`the agent of ${key} is switched off on ${this.endpoint}. Switch it on: mistral-agent-chat agent enable <id>`);
    }
    this.#dispatch({ type: 'fail', error: { code, retryAfter: err.retryAfter ?? null, retry } });
    this.#host.dispatchEvent(new MistralChatErrorEvent(code, String(err.message ?? e)));
  }

  stop() {
    this.#abort?.abort();
  }

  retry() {
    const { error, lastText } = this.state;
    if (!error) return;
    this.#dispatch({ type: 'retry' });
    return error.retry === 'history' ? this.load() : this.send(lastText);
  }

  /** Starts a new conversation: a new session id, an empty list. */
  reset() {
    this.#abort?.abort();
    this.#gen++;
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.#buffer = '';
    const { apiKey } = this.#host;
    if (apiKey) this.#ids.newSession(apiKey);
    this.#dispatch({ type: 'reset', loaded: true });
  }

  /**
   * Sanitized HTML for an assistant message, in segments (finished blocks, then the tail) so that
   * a streaming update only touches the DOM of what changed; null while the Markdown chunk is not loaded.
   */
  html(m: Message): string[] | null {
    const md = this.md;
    if (!md) return null;
    const allowImages = this.#host.allowImages;
    if (allowImages !== this.#htmlImages) {
      this.#html = new WeakMap();
      this.#htmlImages = allowImages;
    }
    if (m.status === 'streaming' && this.#stream) return (this.#stream.set(m.text), this.#stream.segments());
    let out = this.#html.get(m);
    // A stopped or failed reply may end inside an image URL: it keeps its images as links.
    const images = allowImages && m.status === undefined;
    if (!out) this.#html.set(m, (out = [md.renderMarkdown(m.text, { allowImages: images })]));
    return out;
  }
}
