import { LitElement, html, nothing, type PropertyDeclarations, type PropertyValues } from 'lit';
import { LIMITS } from '../protocol.ts';
import { ChatController } from './chat-controller.ts';
import type { FeedbackRating } from '../protocol.ts';
import type { Message, ViewError } from './chat-state.ts';
import { MistralChatCloseEvent, MistralChatOpenEvent, MistralChatResponseEvent, MistralChatSendEvent } from './events.ts';
import { feedbackStyles, feedbackView, type CommentState } from './feedback.ts';
import { CHAT, CLOSE, LIST, NEW, SEND, STOP, icon } from './icons.ts';
import styles from './mistral-agent-chat.styles.ts';
import { morphHTML } from './morph-html.ts';
import { activityText, sourcesStyles, sourcesView } from './sources.ts';
import { fmt, isRtl, resolveLang, stringsFor, type Strings } from './strings.ts';
import { STUB_OPEN } from './stub.ts';
import { switcherStyles, switcherView } from './switcher.ts';

/** `starters` attribute: a JSON array of strings; anything else is ignored. */
const jsonList = {
  fromAttribute(v: string | null): string[] {
    try {
      const a: unknown = JSON.parse(v ?? '');
      return Array.isArray(a) ? a.map(String) : [];
    } catch {
      return [];
    }
  },
};

/** The `sub` of a user token (not verified: the proxy does that), to tell a refreshed token from another user's. */
const userOf = (token: string): string => {
  try {
    return String((JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown }).sub ?? '');
  } catch {
    return token;
  }
};

/** The counter appears when fewer than this many characters are left. */
const COUNTER_FROM = 500;

/**
 * @tagname mistral-agent-chat
 * @summary A complete, themeable, accessible chat with a Mistral agent, talking to the mistral-agent-chat proxy.
 *
 * @slot footer - Replaces the footer text (for example with a link to your privacy policy).
 *
 * @fires {MistralChatOpenEvent} mistral-chat-open - The panel opened (bubble mode).
 * @fires {MistralChatCloseEvent} mistral-chat-close - The panel closed (bubble mode).
 * @fires {MistralChatSendEvent} mistral-chat-send - The visitor is about to send `event.text`. Cancelable: `preventDefault()` keeps it from being sent.
 * @fires {MistralChatResponseEvent} mistral-chat-response - A reply finished: `event.id`, `event.text` (Markdown source), `event.tokens_used`, `event.sources` (what it cites).
 * @fires {MistralChatFeedbackEvent} mistral-chat-feedback - The visitor rated a reply and the rating is stored: `event.message_id`, `event.rating` (`up`, `down`, or null when cleared), `event.comment` when they wrote one (the same fields in `event.detail`).
 * @fires {MistralChatErrorEvent} mistral-chat-error - A request failed: `event.code` (protocol error code such as `invalid_user_token` or `identity_required`, `network` or `offline`; `origin_not_allowed` also when the browser hid the proxy's refusal of this page's origin), `event.message` (for the site owner).
 *
 * @csspart launcher - The round button that opens and closes the panel (bubble mode).
 * @csspart unread-badge - The count of replies that finished while the panel was closed, on the launcher (cleared when opened).
 * @csspart panel - The chat window (a non-modal dialog in bubble mode, a region inline).
 * @csspart header - The panel's top bar.
 * @csspart heading - The title in the header (the agent's name by default).
 * @csspart button - Every button inside the panel (icon buttons, send, stop, retry, starters, copy).
 * @csspart new-button - The "New conversation" button.
 * @csspart close-button - The close button in the header (bubble mode).
 * @csspart conversations-button - The header button that shows the signed-in visitor's conversations (with `user-token`).
 * @csspart conversations - The list of the signed-in visitor's conversations, under the header.
 * @csspart conversation - One conversation of that list (a button: its first message and date; the one shown has `aria-current`).
 * @csspart messages - The scrolling message list (`role="log"`).
 * @csspart message - Each message row, with `message-user` or `message-assistant`.
 * @csspart message-user - A message row written by the visitor.
 * @csspart message-assistant - A message row written by the agent (also the welcome message and typing indicator).
 * @csspart welcome - The welcome message row.
 * @csspart bubble - The bubble of a message, with `bubble-user` or `bubble-assistant`.
 * @csspart bubble-user - The bubble of a visitor's message.
 * @csspart bubble-assistant - The bubble of an agent's message.
 * @csspart markdown - The rendered Markdown body of an agent message.
 * @csspart code-block - A code block in a reply (wraps `pre`; a `pre` wider than the bubble scrolls sideways and is a tab stop).
 * @csspart copy-button - The copy button of a code block.
 * @csspart typing - The typing indicator row shown until the first words of a reply arrive.
 * @csspart note - The "Stopped." note under an interrupted reply, the "answer is on its way" note, the thank-you for feedback.
 * @csspart coming - The note under the last question while its answer is produced elsewhere (an earlier page, another tab).
 * @csspart feedback - The thumbs under a finished reply.
 * @csspart feedback-up - The thumbs-up button (`aria-pressed` when chosen; pressed again, it clears the rating).
 * @csspart feedback-down - The thumbs-down button (opens a comment field).
 * @csspart feedback-form - The optional comment field after a thumbs-down (with `feedback-comment`, `feedback-send`).
 * @csspart feedback-comment - The comment textarea (also has `input`).
 * @csspart feedback-send - The button that sends the comment.
 * @csspart sources - The numbered list of sources under a reply that cites some (a labelled `ol`).
 * @csspart source - One source: its title (a link to it, with its domain, when it has a URL) and snippet.
 * @csspart error - An error in the conversation (or a configuration problem).
 * @csspart retry - The Retry button of an error.
 * @csspart notice - The offline notice.
 * @csspart starters - The list of suggested first questions.
 * @csspart starter - One suggested question.
 * @csspart composer - The form at the bottom (input, counter, send/stop).
 * @csspart input - The message textarea.
 * @csspart counter - The characters-left counter (near the limit).
 * @csspart send - The send button.
 * @csspart stop - The stop button (while a reply streams).
 * @csspart footer - The small print under the composer.
 *
 * @cssprop [--mistral-chat-accent=#c2410c] - Accent: launcher, send button, user bubbles, links (dark: #fb923c).
 * @cssprop [--mistral-chat-on-accent=#fff] - Text and icons on the accent (dark: #1c1105).
 * @cssprop [--mistral-chat-bg=#fff] - Panel background (dark: #17181c).
 * @cssprop [--mistral-chat-fg=#1f2328] - Text colour (dark: #e8eaed).
 * @cssprop [--mistral-chat-muted=#57606a] - Secondary text: footer, counter, placeholder (dark: #a3abb5).
 * @cssprop [--mistral-chat-surface=#f1f2f4] - Agent bubbles and hovered buttons (dark: #26282e).
 * @cssprop [--mistral-chat-border=#d0d7de] - Borders and dividers (dark: #40444c).
 * @cssprop [--mistral-chat-user-bg=var(--mistral-chat-accent)] - Visitor bubble background.
 * @cssprop [--mistral-chat-user-fg=var(--mistral-chat-on-accent)] - Visitor bubble text.
 * @cssprop [--mistral-chat-assistant-bg=var(--mistral-chat-surface)] - Agent bubble background.
 * @cssprop [--mistral-chat-assistant-fg=var(--mistral-chat-fg)] - Agent bubble text.
 * @cssprop [--mistral-chat-link=var(--mistral-chat-accent)] - Links in replies.
 * @cssprop [--mistral-chat-focus=var(--mistral-chat-accent)] - Focus ring (dark: #fdba74).
 * @cssprop [--mistral-chat-error-bg=#fdecea] - Error and offline notice background (dark: #3d1518).
 * @cssprop [--mistral-chat-error-fg=#a40e26] - Error and offline notice text (dark: #ffb3ad).
 * @cssprop [--mistral-chat-code-bg=#1f2328] - Code block background (dark: #0c0d10).
 * @cssprop [--mistral-chat-code-fg=#f0f3f6] - Code block text (dark: #e8eaed).
 * @cssprop [--mistral-chat-quote-fg=var(--mistral-chat-muted)] - Text of a quote (`>`) in a reply.
 * @cssprop [--mistral-chat-quote-border=var(--mistral-chat-border)] - The bar at the inline start of a quote.
 * @cssprop [--mistral-chat-scroll-shadow=color-mix(in srgb, currentColor 30%, transparent)] - Shadow at the edge of a table or code block that scrolls sideways, where more is hidden.
 * @cssprop [--mistral-chat-font=system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif] - Font family.
 * @cssprop [--mistral-chat-font-mono=ui-monospace, SFMono-Regular, Menlo, Consolas, monospace] - Code font family.
 * @cssprop [--mistral-chat-font-size=15px] - Base font size (the input never goes under 16px on phones).
 * @cssprop [--mistral-chat-line-height=1.5] - Base line height.
 * @cssprop [--mistral-chat-radius=16px] - Panel corner radius, and the base of every other radius below (0 squares every corner).
 * @cssprop [--mistral-chat-bubble-radius=calc(var(--mistral-chat-radius) * 0.875)] - Message bubble corner radius (14px).
 * @cssprop [--mistral-chat-control-radius=calc(var(--mistral-chat-radius) * 0.625)] - Input, buttons and error corner radius (10px).
 * @cssprop [--mistral-chat-code-radius=calc(var(--mistral-chat-radius) * 0.5)] - Code block corner radius (8px); the copy button has three quarters of it (6px).
 * @cssprop [--mistral-chat-starter-radius=calc(var(--mistral-chat-radius) * 2)] - Suggested question corner radius (32px: a pill).
 * @cssprop [--mistral-chat-width=380px] - Panel width (bubble mode).
 * @cssprop [--mistral-chat-height=600px] - Panel height (bubble mode).
 * @cssprop [--mistral-chat-launcher-size=56px] - Launcher diameter.
 * @cssprop [--mistral-chat-offset=20px] - Distance of the launcher from the viewport corner.
 * @cssprop [--mistral-chat-gap=12px] - Inner spacing of the panel.
 * @cssprop [--mistral-chat-shadow=0 12px 40px rgb(0 0 0 / 0.2)] - Panel shadow.
 * @cssprop [--mistral-chat-launcher-shadow=0 4px 14px rgb(0 0 0 / 0.25)] - Launcher shadow.
 * @cssprop [--mistral-chat-z-index=2147483000] - Stacking order of the launcher and panel.
 * @cssprop [--mistral-chat-badge-bg=#b91c1c] - Unread badge background (on the launcher).
 * @cssprop [--mistral-chat-badge-fg=#fff] - Unread badge text.
 */
export class MistralAgentChat extends LitElement {
  static override styles = [styles, sourcesStyles, feedbackStyles, switcherStyles];

  // Declared here rather than with decorators: the decorator helpers cost ~0.6 KB gzip in the bundle.
  static override properties: PropertyDeclarations = {
    apiKey: { attribute: 'api-key' },
    endpoint: {},
    mode: { reflect: true },
    opened: { type: Boolean, reflect: true, attribute: 'open' },
    position: { reflect: true },
    theme: { reflect: true },
    lang: {},
    heading: {},
    placeholder: {},
    welcomeMessage: { attribute: 'welcome-message' },
    starters: { converter: jsonList },
    allowImages: { type: Boolean, attribute: 'allow-images' },
    strings: { attribute: false },
    metadata: { attribute: false },
    userToken: { attribute: 'user-token' },
  };

  /** The widget key of the agent (`mac_…`), sent as `X-Api-Key`. Required. */
  apiKey = '';

  /** Base URL of the proxy. Defaults to the origin `widget.js` was loaded from. */
  endpoint = '';

  /** `bubble`: a launcher in a corner opens a panel. `inline`: the chat fills its container. */
  mode: 'bubble' | 'inline' = 'bubble';

  /** Whether the panel is open (bubble mode). Attribute `open`; use `open()`, `close()`, `toggle()` too. */
  opened = false;

  /** Corner of the launcher and panel (bubble mode). */
  position: 'bottom-right' | 'bottom-left' = 'bottom-right';

  /** `auto` follows the visitor's `prefers-color-scheme`. */
  theme: 'auto' | 'light' | 'dark' = 'auto';

  /** UI language (BCP 47). Default: the page's `lang`, then the browser's. Built in: `en`, `fr`; right-to-left languages get an RTL layout. */
  override lang = '';

  /** Title of the panel. Default: the agent's name from `GET /v1/agent`. */
  heading = '';

  /** Placeholder of the input. Default: a built-in string. */
  placeholder = '';

  /**
   * A first message shown by the agent (plain text, not stored). Unset (no attribute): a built-in greeting with the
   * agent's name (`strings.welcome`); `welcome-message=""` (or `''`): none.
   */
  welcomeMessage?: string | null;

  /** Suggested first questions, shown while the conversation is empty. Attribute: a JSON array. */
  starters: string[] = [];

  /** Render images in replies (off by default: an image can leak the visitor's IP to any host). */
  allowImages = false;

  /** Overrides of built-in UI strings, by key (see `strings.ts`). Property only. */
  strings: Partial<Strings> = {};

  /** Merged into the metadata the conversation stores (page URL, referrer, language, time zone and viewport are sent by default). Property only. */
  metadata: Record<string, unknown> = {};

  /**
   * The signed-in visitor's identity: a JWT your backend signs with the agent's identity secret (HS256, `sub`
   * and `exp`), sent as `X-User-Token`. With it, the visitor's conversations follow them across devices (a
   * switcher in the header). Attribute `user-token`.
   */
  userToken = '';

  readonly #chat = new ChatController(this, () => this.#replied());
  /** Replies that finished while the panel was closed (the launcher's badge). */
  #unread = 0;
  /** The switcher's list is shown. */
  #convs = false;
  /** The reply whose comment field is open or was sent. */
  #comment: { id: string; state: CommentState } = { id: '', state: '' };
  /** Length of the draft (drives the send button and the counter). */
  #len = 0;
  /** Text of the polite live region: the last finished reply. */
  #announce = '';
  #s: Strings = stringsFor('en');
  #lang = 'en';
  /** Follow new text unless the visitor scrolled up. */
  #stick = true;
  #refocus = false;
  /** What the visitor did with the script-tag loader's stub launcher, carried over after the upgrade. */
  #fromStub: '' | 'open' | 'focus' = '';
  /** Reply nodes patched by this render (see `updated()`). */
  #morphed: Node[] = [];
  #onMorphed = (nodes: Node[]) => void this.#morphed.push(...nodes);

  constructor() {
    super();
    this.addEventListener(MistralChatResponseEvent.eventName, () => void this.#announceReply());
  }

  /** Opens the panel (bubble mode). */
  open() {
    this.opened = true;
  }

  /** Closes the panel (bubble mode). */
  close() {
    this.opened = false;
  }

  /** Opens the panel if closed, closes it if open. */
  toggle() {
    this.opened = !this.opened;
  }

  /** Sends `text` as the visitor (fires the cancelable `mistral-chat-send`). Resolves when the reply ends. */
  send(text: string): Promise<void> {
    return this.#begin(text) ?? Promise.resolve();
  }

  /** Starts a new conversation (new `session_id`); the old one stays stored on the server. */
  reset() {
    this.#chat.reset();
    this.#convs = false;
    this.#stick = true;
  }

  /** Focuses the input when the panel is shown, else the launcher. */
  override focus(options?: FocusOptions) {
    const target = this.#shown ? this.#input : this.#launcher;
    if (target) target.focus(options);
    else super.focus(options);
  }

  #q<T extends HTMLElement>(selector: string) {
    return this.renderRoot.querySelector<T>(selector);
  }
  get #launcher() {
    return this.#q<HTMLButtonElement>('.launcher');
  }
  get #input() {
    return this.#q<HTMLTextAreaElement>('.input');
  }

  get #shown() {
    return this.mode === 'inline' || this.opened;
  }

  /** A configuration problem shown in the panel instead of the conversation. */
  get #problem(): 'noEndpoint' | 'noKey' | '' {
    return !this.#chat.endpoint ? 'noEndpoint' : !this.apiKey ? 'noKey' : '';
  }

  #begin(text: string): Promise<void> | undefined {
    text = text.trim();
    if (!text || this.#chat.busy || this.#problem || this.#chat.refusal) return;
    const event = new MistralChatSendEvent(text); // (a variable: the manifest analyzer misreads `new X(text)` inline)
    if (!this.dispatchEvent(event)) return;
    this.opened ||= this.mode !== 'inline';
    this.#stick = true;
    return this.#chat.send(text);
  }

  protected override willUpdate(changed: PropertyValues<this>) {
    this.#lang = resolveLang(this.lang);
    this.#s = stringsFor(this.#lang, this.strings);
    if (changed.has('opened') && !this.opened) this.#refocus = this.matches(':focus-within');
    if (this.#shown) this.#unread = 0;
    // Another visitor signed in, or the visitor signed out (a shared computer): the conversation shown may be
    // theirs no longer. It is loaded again with the new token (another user's answers 404: a new one starts).
    if (this.hasUpdated && changed.has('userToken') && userOf(changed.get('userToken') ?? '') !== userOf(this.userToken)) {
      this.#convs = false;
      this.#chat.restart();
    }
    // First open (or connect, inline): load the agent's name and the stored history.
    if ((['opened', 'mode', 'apiKey', 'endpoint', 'userToken'] as const).some((k) => changed.has(k)) && this.#shown && !this.#problem)
      void this.#chat.load();
  }

  /** Lit reuses an existing shadow root: the script-tag loader's stub (stub.ts) is cleared before rendering. */
  protected override createRenderRoot() {
    const stub = this.shadowRoot;
    if (stub) {
      this.#fromStub = this.hasAttribute(STUB_OPEN) ? 'open' : stub.activeElement ? 'focus' : '';
      this.removeAttribute(STUB_OPEN);
      stub.replaceChildren();
    }
    return super.createRenderRoot();
  }

  protected override firstUpdated() {
    // After a click on the stub, open as the launcher does (focus in the input, open event); once rendered,
    // so that it is a change like any other. A focused stub hands its focus to the real launcher.
    if (this.#fromStub === 'open') void this.updateComplete.then(() => this.open());
    else if (this.#fromStub === 'focus') this.focus();
    const problem = this.#problem;
    // Left mid-reply on the page before: look for the reply now, panel closed or not (the badge tells).
    if (!problem && !this.#shown && this.#chat.inFlight) void this.updateComplete.then(() => this.#chat.load());
    if (problem) {
      console.error(
        problem === 'noEndpoint'
          ? '<mistral-agent-chat>: no endpoint. Add endpoint="https://your-proxy.example.com" (the base URL of your mistral-agent-chat proxy) to the element, or load the script from your proxy\'s /widget.js.'
          : '<mistral-agent-chat>: no api-key. Add api-key="mac_…" (the widget key printed by `mistral-agent-chat agent create`) to the element.',
      );
    }
  }

  protected override updated(changed: PropertyValues<this>) {
    const list = this.#q('.messages');
    // While a reply streams, only the blocks that changed get their copy button and width check, not every
    // code block and table of the conversation on every frame.
    const morphed = this.#morphed;
    this.#morphed = [];
    if (list) {
      if (this.#stick) list.scrollTop = list.scrollHeight;
      this.#decorate(this.#chat.state.phase === 'streaming' ? morphed : [list]);
    }
    // Not on the first render: a page that starts with `open` must not have its focus stolen.
    if (changed.has('opened') && changed.get('opened') !== undefined && this.mode !== 'inline') {
      if (this.opened) this.#input?.focus();
      else if (this.#refocus) this.#launcher?.focus();
      this.#refocus = false;
      this.dispatchEvent(this.opened ? new MistralChatOpenEvent() : new MistralChatCloseEvent());
    }
  }

  /** Copy buttons for the code blocks in `roots`; a tab stop (and a name) for each table or code block there that is
   * wider than its bubble. */
  #decorate(roots: Node[]) {
    const all = <E extends Element>(selector: string) =>
      roots.flatMap((r) => (r instanceof Element ? [...(r.matches(selector) ? [r as E] : []), ...r.querySelectorAll<E>(selector)] : []));
    for (const block of all('.code-block')) {
      if (block.querySelector('.copy')) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'copy';
      b.setAttribute('part', 'button copy-button');
      b.textContent = this.#s.copy;
      block.append(b);
    }
    // A table or code block wider than its bubble scrolls sideways: keyboard users must be able to reach it (and
    // scroll it). All reads, then the writes that change something: one layout.
    const wide = all<HTMLElement>('table, pre').map((e) => [e, e.scrollWidth > e.clientWidth] as const);
    for (const [e, scrolls] of wide) {
      if (scrolls === e.hasAttribute('tabindex')) continue;
      // A code block also gets a name, to be announced by when it takes the focus (a table has its own role).
      const lang = e.firstElementChild?.className.match(/language-(\S+)/)?.[1];
      const label = lang ? `${this.#s.code} (${lang})` : this.#s.code;
      const attrs = e.localName === 'pre' ? { tabindex: '0', role: 'group', 'aria-label': label } : { tabindex: '0' };
      for (const [k, v] of Object.entries(attrs))
        if (scrolls) e.setAttribute(k, v);
        else e.removeAttribute(k);
    }
  }

  /** A reply finished: counted on the launcher while the panel is closed (and said by its live region). */
  #replied() {
    if (this.#shown) return;
    this.#unread++;
    this.requestUpdate();
  }

  #toggleConvs() {
    this.#convs = !this.#convs;
    if (this.#convs) {
      this.#chat.conversations = null;
      void this.#chat.listConversations();
    }
    this.requestUpdate();
  }

  #openConv(sessionId: string) {
    this.#convs = false;
    this.#stick = true;
    void this.#chat.openConversation(sessionId);
    this.#input?.focus();
  }

  #rate(m: Message, rating: FeedbackRating | null) {
    this.#comment = { id: m.id, state: rating === 'down' ? 'open' : '' };
    void this.#chat.rate(m, rating);
  }

  #sendComment(m: Message, text: string) {
    if (!text) return void (this.#comment = { id: '', state: '' }, this.requestUpdate());
    void this.#chat.rate(m, 'down', text.slice(0, LIMITS.feedbackCommentChars)).then((ok) => ok && ((this.#comment = { id: m.id, state: 'sent' }), this.requestUpdate()));
  }

  /** Puts the finished reply's text in the polite live region, once. */
  async #announceReply() {
    this.#announce = '';
    this.requestUpdate();
    await this.updateComplete;
    const bodies = this.renderRoot.querySelectorAll('.message-assistant .bubble');
    this.#announce = bodies[bodies.length - 1]?.textContent?.trim() ?? '';
    this.requestUpdate();
  }

  #onKey(e: KeyboardEvent) {
    // keyCode 229: an IME is composing (some browsers report isComposing late)
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      this.#submit();
    }
  }

  #onPanelKey(e: KeyboardEvent) {
    if (e.key !== 'Escape' || e.isComposing) return;
    if (this.#convs) {
      e.stopPropagation();
      this.#toggleConvs();
      this.#q<HTMLElement>('[part~=conversations-button]')?.focus();
    } else if (this.mode !== 'inline' && this.opened) {
      e.stopPropagation();
      this.close();
    }
  }

  #onInput() {
    const input = this.#input!;
    this.#len = input.value.length;
    this.requestUpdate();
    if (!CSS.supports('field-sizing', 'content')) {
      input.style.height = 'auto';
      input.style.height = `${input.scrollHeight + 2}px`;
    }
  }

  #submit(e?: Event) {
    e?.preventDefault();
    const input = this.#input!;
    if (input.value.length > LIMITS.messageChars || !this.#begin(input.value)) return;
    input.value = '';
    input.style.height = '';
    this.#len = 0;
    this.requestUpdate();
  }

  #onScroll(e: Event) {
    const l = e.currentTarget as HTMLElement;
    this.#stick = l.scrollHeight - l.scrollTop - l.clientHeight < 40;
  }

  /** Copy buttons of code blocks (added after render, handled by delegation). */
  #onListClick(e: Event) {
    const b = (e.target as Element).closest('.copy');
    const code = b?.parentElement?.querySelector('code')?.textContent;
    if (!b || code == null) return;
    navigator.clipboard?.writeText(code).then(
      () => {
        b.textContent = this.#s.copied;
        setTimeout(() => (b.textContent = this.#s.copy), 1500);
      },
      () => {},
    );
  }

  #errorText(e: Pick<ViewError, 'code' | 'retryAfter'>) {
    const s = this.#s;
    if (e.code === 'rate_limited')
      return e.retryAfter ? fmt(s.e_rate_limited, { n: Math.ceil(e.retryAfter) }) : s.e_rate_limited_soon;
    return (s as unknown as Record<string, string | undefined>)[`e_${e.code}`] ?? s.e_default;
  }

  #message(m: Message) {
    const user = m.role === 'user';
    // The one place where HTML is rendered: sanitized output of the markdown module, never user text.
    const body = user ? null : this.#chat.html(m);
    return html`<div part="message message-${m.role}" class="message message-${m.role} ${m.role}">
      <div part="bubble bubble-${m.role}" class="bubble">
        ${body === null
          ? html`<div class="text" dir="auto">${m.text}</div>`
          : html`<div part="markdown" class="markdown" dir="auto">${body.map((h) => morphHTML(h, this.#onMorphed))}</div>`}
      </div>
      ${m.sources?.length ? sourcesView(m.sources, this.#s) : nothing}
      ${m.status === 'stopped' ? html`<span part="note" class="note">${this.#s.stopped}</span>` : nothing}
      ${!user && m.id && !m.id.startsWith('local-') && (!m.status || m.status === 'stopped')
        ? feedbackView(m, this.#s, this.#comment.id === m.id ? this.#comment.state : '', (r) => this.#rate(m, r), (t) => this.#sendComment(m, t))
        : nothing}
    </div>`;
  }

  /** The panel's content. Send and Stop are one button, so keyboard focus survives the switch. */
  #body() {
    const s = this.#s;
    const chat = this.#chat;
    const st = chat.state;
    const busy = chat.busy;
    const problem = this.#problem;
    // A refusal only the site owner can end: said calmly, no Retry, and no more messages.
    const refusal = chat.refusal;
    const error = refusal ? { code: refusal } : st.error;
    const off = !!(problem || refusal);
    const name = this.heading || chat.agentName;
    const welcome = this.welcomeMessage ?? (name && !off ? fmt(s.welcome, { name }) : '');
    const left = LIMITS.messageChars - this.#len;
    const near = left <= COUNTER_FROM;
    const footer = this.querySelector('[slot=footer]') || s.footer;
    return html`
      <div part="header" class="header">
        <h2 id="heading" part="heading" class="heading">${this.heading || chat.agentName || s.title}</h2>
        ${this.userToken
          ? html`<button part="button conversations-button" class="icon" aria-label=${s.conversations} title=${s.conversations}
              aria-expanded=${String(this.#convs)} aria-controls="convs" @click=${this.#toggleConvs}>${icon(LIST)}</button>`
          : nothing}
        <button part="button new-button" class="icon" aria-label=${s.newChat} title=${s.newChat} @click=${this.reset}>
          ${icon(NEW)}
        </button>
        ${this.mode === 'inline'
          ? nothing
          : html`<button part="button close-button" class="icon" aria-label=${s.closeChat} title=${s.closeChat} @click=${this.close}>
              ${icon(CLOSE)}
            </button>`}
      </div>
      ${this.#convs && this.userToken
        ? switcherView(chat.conversations, chat.sessionId, s, this.#lang, (c) => this.#errorText({ code: c }), (id) => this.#openConv(id))
        : nothing}
      <div part="messages" class="messages" role="log" aria-label=${s.log} aria-live="off" aria-busy=${busy || st.loading}
        tabindex="0" @scroll=${this.#onScroll} @click=${this.#onListClick}>
        ${problem ? html`<p part="error" class="error" role="alert">${s[problem]}</p>` : nothing}
        ${welcome
          ? html`<div part="message message-assistant welcome" class="message">
              <div part="bubble bubble-assistant" class="bubble text" dir="auto">${welcome}</div>
            </div>`
          : nothing}
        ${st.messages.map((m) => this.#message(m))}
        ${st.coming ? html`<p part="note coming" class="note" role="status">${s.coming}</p>` : nothing}
        ${st.phase === 'waiting'
          ? html`<div part="message message-assistant typing" class="message">
              <div part="bubble bubble-assistant" class="bubble typing"><span class="dot"></span><span class="dot"></span><span class="dot"></span>
                ${st.activity ? html`<span class="activity">${activityText(st.activity, s)}</span>` : nothing}
                <span class="sr">${s.typing}</span></div>
            </div>`
          : nothing}
        ${error
          ? html`<div part="error" class="error" role="alert">
              <span>${this.#errorText(error)}</span>
              ${refusal ? nothing : html`<button part="button retry" class="retry" @click=${() => chat.retry()}>${s.retry}</button>`}
            </div>`
          : chat.offline
            ? html`<p part="notice" class="notice" role="status">${s.e_offline}</p>`
            : nothing}
      </div>
      ${this.starters.length && !st.messages.length && st.loaded && !error
        ? html`<ul part="starters" class="starters" aria-label=${s.starters}>
            ${this.starters.map(
              (t) => html`<li><button part="button starter" class="starter" @click=${() => (this.send(t), this.#input?.focus())}>${t}</button></li>`,
            )}
          </ul>`
        : nothing}
      <form part="composer" class="composer" @submit=${this.#submit}>
        <textarea part="input" class="input" rows="1" dir="auto" aria-label=${s.inputLabel}
          placeholder=${this.placeholder || s.placeholder} aria-describedby=${near ? 'counter' : nothing}
          ?disabled=${off} @input=${this.#onInput} @keydown=${this.#onKey}></textarea>
        ${near
          ? html`<span id="counter" part="counter" class="counter ${left < 0 ? 'over' : ''}"
              >${left < 0 ? fmt(s.over, { n: -left }) : fmt(s.left, { n: left })}</span>`
          : nothing}
        <button type=${busy ? 'button' : 'submit'} part="button ${busy ? 'stop' : 'send'}" class="icon send"
          aria-label=${busy ? s.stop : s.send} title=${busy ? s.stop : s.send}
          ?disabled=${busy ? chat.stopping : !this.#len || left < 0 || off} @click=${busy ? () => chat.stop() : nothing}>
          ${icon(busy ? STOP : SEND)}
        </button>
      </form>
      ${footer ? html`<p part="footer" class="footer"><slot name="footer">${s.footer}</slot></p>` : nothing}
      <div class="sr" aria-live="polite">${this.#announce}</div>
    `;
  }

  protected override render() {
    const inline = this.mode === 'inline';
    const s = this.#s;
    return html`
      ${inline
        ? nothing
        : html`<button part="launcher" class="launcher" aria-controls="panel" aria-expanded=${String(this.opened)}
            aria-label=${this.opened ? s.closeChat : this.#unread ? `${s.openChat} (${fmt(s.unreadCount, { n: this.#unread })})` : s.openChat} @click=${this.toggle}>
            ${icon(this.opened ? CLOSE : CHAT)}
          </button>
          ${this.#unread ? html`<span part="unread-badge" class="badge" aria-hidden="true">${this.#unread}</span>` : nothing}
          <div class="sr" role="status">${this.#unread ? s.unread : ''}</div>`}
      <div id="panel" part="panel" class="panel" role=${inline ? 'region' : 'dialog'} aria-labelledby="heading"
        lang=${this.#lang} dir=${isRtl(this.#lang) ? 'rtl' : 'ltr'} ?hidden=${!this.#shown} @keydown=${this.#onPanelKey}>
        ${this.#body()}
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mistral-agent-chat': MistralAgentChat;
  }
}
