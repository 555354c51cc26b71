/**
 * Network and state for one `<mistral-agent-chat>`: ids, history, streaming (batched to one update
 * per animation frame), Stop, Retry, offline detection, and the lazily loaded Markdown renderer; wave 2:
 * a reply produced elsewhere (polled), tabs in sync (tab-sync.ts), feedback, the user's conversations.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ChatClient, type ChatError } from '../client/chat-client.ts';
import { createIdStore } from '../client/ids.ts';
import { LIMITS, type ConversationSummary, type FeedbackRating } from '../protocol.ts';
import { initialState, reduce, type Action, type ChatState, type Message, type ViewError } from './chat-state.ts';
import { defaultEndpoint } from './endpoint.ts';
import { MistralChatErrorEvent, MistralChatFeedbackEvent, MistralChatResponseEvent } from './events.ts';
import { TabSync, type TabMessage } from './tab-sync.ts';

type Markdown = typeof import('../markdown/render.ts');

/** What the controller needs from its element. */
export interface ChatHost extends ReactiveControllerHost, HTMLElement {
  apiKey: string;
  endpoint: string;
  allowImages: boolean;
  metadata: Record<string, unknown>;
  userToken: string;
}

let markdown: Promise<Markdown | null> | undefined;
/** Loads the Markdown chunk once per page; a failed load leaves replies as plain text. */
const loadMarkdown = () => (markdown ??= import('../markdown/render.ts').then(async (m) => (await m.ready, m)).catch(() => null));

const cut = (s: string) => s.slice(0, 1024);

/** Refusals only the site owner can end: the chat says so calmly and takes no more messages. */
const REFUSALS = ['invalid_api_key', 'agent_inactive', 'origin_not_allowed', 'invalid_user_token', 'identity_required'];

/** A reply produced elsewhere is polled for every 1.5 s, backing off to 5 s, for at most the proxy's reply limit. */
const POLL_FIRST_MS = 1500;
const POLL_MAX_MS = 5000;
const POLL_FOR_MS = 130_000;
/** After Stop, how long the stream may take to end before it is cut here. */
const STOP_GRACE_MS = 5000;
/** A mirrored reply with no news from its tab for this long is looked for in the history instead. */
const MIRROR_SILENCE_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


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
  /** The verified user's conversations (switcher); a string is the error code of the last attempt. */
  conversations: ConversationSummary[] | string | null = null;
  /** Stop was pressed and the stream is being read to its end. */
  stopping = false;

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
  /** Called when a reply finished (here, mirrored from another tab, or polled): the unread badge. */
  readonly #replied: () => void;
  readonly #tabs = new TabSync((m) => this.#onTab(m));
  /** This tab shows another tab's reply as it streams (it saw the message that started it). */
  #mirroring = false;
  #quiet?: ReturnType<typeof setTimeout>;

  constructor(host: ChatHost, replied: () => void = () => {}) {
    this.#host = host;
    this.#replied = replied;
    host.addController(this);
  }

  hostConnected() {
    addEventListener('online', this.#net);
    addEventListener('offline', this.#net);
    // Moved in the page: listen to the other tabs again.
    if (this.state.loaded) this.#tabs.join(this.#channel());
  }

  hostDisconnected() {
    removeEventListener('online', this.#net);
    removeEventListener('offline', this.#net);
    this.#abort?.abort();
    this.#tabs.close();
  }

  #net = () => {
    this.offline = !navigator.onLine;
    this.#host.requestUpdate();
  };

  /** `invalid_api_key`, `agent_inactive` or `origin_not_allowed` when the proxy refused this endpoint and key; else ''. */
  get refusal(): string {
    const r = this.#refusal;
    return r && r.key === this.#refusalKey() ? r.code : '';
  }

  /** A refusal holds for one endpoint, key and user token: a new token (signed in again) tries again. */
  #refusalKey() {
    return `${this.endpoint} ${this.#host.apiKey} ${this.#host.userToken}`;
  }

  get #sid() {
    return this.#ids.sessionId(this.#host.apiKey);
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
      this.#client = new ChatClient({ endpoint: this.endpoint, apiKey, userToken: () => this.#host.userToken });
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

  async #load(again = false): Promise<void> {
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
      const [{ messages, pending }, md] = await Promise.all([api.session(this.#sid, LIMITS.historyLimitMax), loadMarkdown()]);
      this.md = md;
      if (gen !== this.#gen) return;
      this.#tabs.join(this.#channel());
      this.#dispatch({ type: 'loaded', messages, pending });
      const left = this.#ids.inFlight(this.#host.apiKey, false);
      if (pending) void this.#watch(gen);
      // The page before was left mid-reply and the reply is stored since: news for a closed panel.
      else if (left && messages.at(-1)?.role === 'assistant') this.#replied();
    } catch (e) {
      // A conversation bound to a signed-in user whose token this page does not have (a shared computer, a
      // signed-out visitor): not theirs to see; start a new one.
      if ((e as ChatError).code === 'not_found' && gen === this.#gen && !again) {
        this.#restart(false);
        return (this.#loading = this.#load(true));
      }
      const refused = (e as ChatError).code === 'network' && navigator.onLine && (await this.#refused());
      if (gen === this.#gen) this.#fail(refused || e, 'history');
    }
  }

  /** Polls the history until the reply being produced elsewhere is stored (or the proxy's reply limit passed). */
  async #watch(gen: number) {
    const end = Date.now() + POLL_FOR_MS;
    for (let wait = POLL_FIRST_MS; gen === this.#gen && this.state.coming; wait = Math.min(wait * 1.5, POLL_MAX_MS)) {
      await sleep(wait);
      if (gen !== this.#gen || !this.state.coming) return;
      const last = Date.now() > end;
      try {
        const { messages, pending } = await this.#api().session(this.#sid, LIMITS.historyLimitMax);
        if (gen !== this.#gen || !this.state.coming) return;
        if (!pending || last) {
          this.#dispatch({ type: 'synced', messages, pending: false });
          if (!pending) this.#replied();
          return;
        }
      } catch {
        if (last) return this.#dispatch({ type: 'synced', messages: [], pending: false });
        // a failed poll (network) is tried again
      }
    }
  }

  /** Reloads the stored history in place (another tab changed it in a way that was not mirrored). */
  async #refresh() {
    if (!this.state.loaded) return;
    const gen = this.#gen;
    try {
      const { messages, pending } = await this.#api().session(this.#sid, LIMITS.historyLimitMax);
      if (gen !== this.#gen || this.#abort) return;
      if (this.state.coming && !pending) this.#replied();
      this.#dispatch({ type: 'synced', messages, pending });
      if (pending) void this.#watch(gen);
    } catch {
      // the next change or load tries again
    }
  }

  /** The BroadcastChannel of this conversation: tabs of one site on one session share it. */
  #channel() {
    return `mistral-agent-chat:${this.endpoint}:${this.#host.apiKey}:${this.#sid}`;
  }

  /** What another tab of this conversation did. */
  #onTab(m: TabMessage) {
    const own = !!this.#abort;
    // A tab closed mid-reply says nothing more: after a silence, the stored history (and `pending`) tells.
    clearTimeout(this.#quiet);
    if (!own && m.type !== 'done') this.#quiet = setTimeout(() => ((this.#mirroring = false), void this.#refresh()), MIRROR_SILENCE_MS);
    if (!this.state.loaded || own) {
      // Not shown yet (a closed panel): only the unread badge; its history loads when opened.
      if (m.type === 'done' && !own) this.#replied();
      return;
    }
    switch (m.type) {
      case 'user':
        this.#mirroring = true;
        this.#stream = this.md ? new this.md.MarkdownStream({ allowImages: false }) : undefined;
        return this.#dispatch({ type: 'send', id: m.id, text: m.text });
      case 'delta':
        return void (this.#mirroring && this.#dispatch({ type: 'delta', text: m.text }));
      case 'sources':
        return void (this.#mirroring && this.#dispatch({ type: 'sources', sources: m.sources }));
      case 'done':
        if (this.#mirroring) {
          this.#mirroring = false;
          this.#dispatch(m.stopped ? { type: 'stopped', id: m.id } : { type: 'done', id: m.id });
          this.#replied();
        } else void this.#refresh();
        return;
      default:
        this.#mirroring = false;
        void this.#refresh();
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
    const { metadata } = this.#host;
    const abort = (this.#abort = new AbortController());
    const gen = this.#gen;
    const id = `local-${Date.now()}`;
    this.#dispatch({ type: 'send', id, text });
    try {
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
      const sid = this.#sid;
      this.#tabs.join(this.#channel());
      this.#ids.inFlight(this.#host.apiKey, true);
      await this.#turn(api, sid, text, id, { ...pageMetadata(), ...metadata }, abort, gen);
    } finally {
      if (this.#abort === abort) this.#abort = undefined;
      clearTimeout(this.#stopTimer);
      this.stopping = false;
    }
  }

  async #turn(api: ChatClient, sid: string, text: string, id: string, metadata: Record<string, unknown>, abort: AbortController, gen: number) {
    const tabs = this.#tabs;
    this.#started = false;
    tabs.post({ type: 'user', id, text });
    try {
      const done = await api.chat(
        { session_id: sid, visitor_id: this.#ids.visitorId(), message: text, metadata },
        {
          // Stop pressed before the proxy had started the turn: it can be stopped now.
          onStart: () => void ((this.#started = true), this.stopping && this.#requestStop(api, sid, abort)),
          onDelta: (t) => {
            this.#buffer += t;
            this.#frame ||= requestAnimationFrame(this.#flush);
            tabs.post({ type: 'delta', text: t });
          },
          // Sources follow the text they support: render the text buffered so far first.
          onSources: (sources) => (this.#flush(), this.#dispatch({ type: 'sources', sources }), tabs.post({ type: 'sources', sources })),
          onActivity: (e) => this.#dispatch({ type: 'activity', tool: e.state === 'started' ? e.tool : null }),
        },
        abort.signal,
      );
      // Every delta received is rendered before the reply is marked done or stopped: what was shown is what is stored.
      this.#flush();
      this.#ids.inFlight(this.#host.apiKey, false);
      const stopped = done.stopped === true || done.finish_reason === 'aborted';
      tabs.post({ type: 'done', id: done.message_id, stopped });
      if (gen !== this.#gen) return;
      if (stopped) return this.#dispatch({ type: 'stopped', id: done.message_id });
      this.#dispatch({ type: 'done', id: done.message_id });
      const reply = this.state.messages.at(-1)!;
      // The stream has every finished block cached: the final HTML costs only the last block,
      // and the same segments keep their DOM.
      // With allow-images, html() renders the whole reply once more, images included.
      if (this.#stream && !this.#host.allowImages) this.#html.set(reply, (this.#stream.set(reply.text), this.#stream.segments()));
      this.#replied();
      this.#host.dispatchEvent(new MistralChatResponseEvent(done.message_id, reply.text, done.tokens_used, reply.sources ?? []));
    } catch (e) {
      this.#flush();
      tabs.post({ type: 'refresh' });
      // A page being left cuts the stream too (a network error): then the mark stays for the next page.
      if ((e as ChatError).code !== 'network') this.#ids.inFlight(this.#host.apiKey, false);
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
      this.#refusal = { code, key: this.#refusalKey() };
      const key = `api-key "${this.#host.apiKey.slice(0, 12)}…"`;
      if (code === 'invalid_api_key')
        this.#tell(`${this.endpoint} does not know ${key}. Copy your agent's key from \`mistral-agent-chat agent list\` (after \`agent rotate-key\`, only the new key works).`);
      else if (code === 'invalid_user_token')
        this.#tell(`${this.endpoint} refused the user-token: sign it with the agent's identity secret (HS256, with \`sub\` and \`exp\`) and give the page a fresh one before it expires.`);
      else if (code === 'identity_required')
        this.#tell(`the agent of ${key} accepts signed-in visitors only: set user-token to a token your backend signs with the agent's identity secret.`);
      else if (code === 'agent_inactive')
        this.#tell(`the agent of ${key} is switched off on ${this.endpoint}. Switch it on: mistral-agent-chat agent enable <id>`);
    }
    this.#dispatch({ type: 'fail', error: { code, retryAfter: err.retryAfter ?? null, retry } });
    this.#host.dispatchEvent(new MistralChatErrorEvent(code, String(err.message ?? e)));
  }

  #stopTimer?: ReturnType<typeof setTimeout>;
  /** The proxy started this tab's turn (its `start` event came). */
  #started = false;

  /**
   * Stop: asks the proxy to end the reply (whichever tab or instance produces it) and keeps reading this
   * tab's stream to its `done`, so that the reply shown is exactly the one stored. A proxy without the call,
   * or a stream that does not end in time, is cut here instead.
   */
  stop() {
    const api = this.#api();
    const abort = this.#abort;
    if (!abort) return void api.stop(this.#sid).catch(() => {}); // mirrored or polled: the producer ends it
    if (this.stopping) return;
    this.stopping = true;
    this.#host.requestUpdate();
    // Before the first words the turn may not have started on the proxy yet: `start` sends the call then.
    if (this.#started) this.#requestStop(api, this.#sid, abort);
    this.#stopTimer = setTimeout(() => abort.abort(), STOP_GRACE_MS);
  }

  #requestStop(api: ChatClient, sid: string, abort: AbortController) {
    api.stop(sid).catch(() => abort.abort());
  }

  retry() {
    const { error, lastText } = this.state;
    if (!error) return;
    this.#dispatch({ type: 'retry' });
    return error.retry === 'history' ? this.load() : this.send(lastText);
  }

  /** Starts a new conversation: a new session id, an empty list. */
  reset() {
    this.#restart(true);
  }

  /** Drops the conversation shown; `loaded`: a new one (nothing to load), else `session` is loaded next. */
  #restart(loaded: boolean, session?: string) {
    this.#abort?.abort();
    this.#gen++;
    this.#loading = undefined;
    this.#mirroring = false;
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.#buffer = '';
    const { apiKey } = this.#host;
    if (apiKey) {
      if (session) this.#ids.setSession(apiKey, session);
      else this.#ids.newSession(apiKey);
    }
    this.#tabs.join(this.#channel());
    this.#dispatch({ type: 'reset', loaded });
  }

  /** The page before was left while a reply of this conversation was on its way. */
  get inFlight() {
    return !!this.#host.apiKey && this.#ids.inFlight(this.#host.apiKey);
  }

  /** The id of the conversation shown (the switcher marks it). */
  get sessionId() {
    return this.#sid;
  }

  /** Loads the verified user's conversations for the switcher. */
  async listConversations() {
    try {
      this.conversations = await this.#api().conversations();
    } catch (e) {
      const err = e as ChatError;
      this.conversations = err.code;
      if (REFUSALS.includes(err.code)) this.#fail(e, 'history');
      else this.#host.dispatchEvent(new MistralChatErrorEvent(err.code, err.message));
    }
    this.#host.requestUpdate();
  }

  /** Shows the current conversation again from scratch (its history is loaded on the next `load()`). */
  restart() {
    this.#restart(false, this.#sid);
  }

  /** Reopens a conversation of the switcher: its history, its session id. */
  openConversation(sessionId: string) {
    this.#restart(false, sessionId);
    return this.load();
  }

  /**
   * Rates a finished reply (null clears) and stores it; the rating shows at once and goes back if it could
   * not be stored. Resolves true when stored.
   */
  async rate(m: Message, rating: FeedbackRating | null, comment?: string): Promise<boolean> {
    const before = m.feedback ?? null;
    this.#dispatch({ type: 'feedback', id: m.id, rating });
    try {
      await this.#api().feedback(m.id, { session_id: this.#sid, rating, ...(comment ? { comment } : {}) });
      this.#host.dispatchEvent(new MistralChatFeedbackEvent(m.id, rating, comment || undefined));
      return true;
    } catch (e) {
      this.#dispatch({ type: 'feedback', id: m.id, rating: before });
      const err = e as ChatError;
      this.#host.dispatchEvent(new MistralChatErrorEvent(err.code ?? 'network', String(err.message ?? e)));
      return false;
    }
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
