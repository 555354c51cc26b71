import { LitElement, html, nothing, type PropertyDeclarations, type PropertyValues } from 'lit';
import { state } from 'lit/decorators.js';
import { primary, resolveLang } from '../element/launcher-label.ts';
import { OwnerApi, OwnerApiError, type Agent } from './api.ts';
import styles from './mistral-agent-console.styles.ts';
import { createSession, type OwnerSession } from './session.ts';
import { absoluteEndpoint } from './snippets.ts';
import { consoleStrings, fmt, stringsLang, type ConsoleStrings } from './strings.ts';
import { AgentActions } from './views/agent-actions.ts';
import { AgentForm } from './views/agent-form.ts';
import type { AgentTab, ConfirmOptions, ConsoleContext } from './views/context.ts';
import { EmbedView } from './views/embed.ts';
import { Inbox } from './views/inbox.ts';
import { SignIn } from './views/sign-in.ts';
import { Stats } from './views/stats.ts';

type Route = { view: 'overview' } | { view: 'new' } | { view: 'agent'; id: string; tab: AgentTab };
type Phase = 'starting' | 'unreachable' | 'signed-out' | 'ready';

const TABS: AgentTab[] = ['settings', 'embed', 'conversations', 'statistics'];
const TAB_LABEL = {
  settings: 'tabSettings',
  embed: 'tabEmbed',
  conversations: 'tabConversations',
  statistics: 'tabStatistics',
} as const satisfies Record<AgentTab, keyof ConsoleStrings>;

/**
 * @tagname mistral-agent-console
 * @summary The owner's console: sign in, manage agents and their keys, embed the widget, read conversations, see statistics. Talks to the owner API v1 of a mistral-agent-chat server.
 *
 * @csspart header - The top bar (title, signed-in owner, sign-out).
 * @csspart nav - The list of agents (a `nav` landmark).
 * @csspart main - The main area (a `main` landmark).
 * @csspart sign-in - The sign-in screen (a `main` landmark).
 * @csspart notice - Why the owner is on the sign-in screen (session ended, signed out).
 * @csspart tabs - The agent's tab list.
 * @csspart tab - One tab.
 * @csspart tab-panel - The panel of the selected tab.
 * @csspart card - A boxed section (key, identity, deletion, snippets, theme editor, preview).
 * @csspart danger-zone - The card that deletes the agent.
 * @csspart form - The agent settings form.
 * @csspart field - A form field (label, control, hint, error).
 * @csspart field-error - The message under a field that needs fixing.
 * @csspart warning - A warning that does not stop anything (an origin the preview will be refused from, …).
 * @csspart error - A failure message (`role="alert"`).
 * @csspart button - Every button.
 * @csspart primary-button - The main action of a form (save, create, sign in).
 * @csspart danger-button - A destructive action (delete, erase) and its confirmation.
 * @csspart copy-button - A button that copies a snippet or a secret.
 * @csspart api-key - The agent's widget key.
 * @csspart snippet - A code snippet with its copy button.
 * @csspart theme-editor - The embed tab's theme editor.
 * @csspart preview - The box holding the live preview of the widget.
 * @csspart search - The inbox's search form.
 * @csspart conversation-list - The inbox's list of conversations.
 * @csspart conversation - One conversation in the inbox (a button that opens it).
 * @csspart transcript - The transcript of a conversation.
 * @csspart transcript-meta - The conversation's details (dates, visitor, page).
 * @csspart transcript-message - One message of a transcript.
 * @csspart markdown - The rendered Markdown of an agent's reply.
 * @csspart sources - The sources a reply cites.
 * @csspart source - One source.
 * @csspart feedback - The visitor's rating of a reply.
 * @csspart figures - The agent's totals.
 * @csspart chart - One chart with its caption and written summary.
 * @csspart chart-summary - The written summary of a chart.
 * @csspart data-table - The daily figures as a table (a disclosure).
 * @csspart overview-table - Every agent's totals (overview).
 * @csspart dialog - A confirmation dialog.
 * @csspart secret-dialog - The dialog that shows a new identity secret once.
 * @csspart status - The status line (saved, copied, …), also a polite live region.
 *
 * @cssprop [--mistral-console-accent=#c2410c] - Accent: primary buttons, selected tab and agent, links (dark: #fb923c).
 * @cssprop [--mistral-console-on-accent=#fff] - Text on the accent (dark: #1c1105).
 * @cssprop [--mistral-console-bg=#fff] - Background (dark: #17181c).
 * @cssprop [--mistral-console-fg=#1f2328] - Text colour (dark: #e8eaed).
 * @cssprop [--mistral-console-muted=#57606a] - Secondary text: hints, dates, axes (dark: #a3abb5).
 * @cssprop [--mistral-console-surface=#f6f7f9] - Cards, navigation and code backgrounds (dark: #202227).
 * @cssprop [--mistral-console-border=#d0d7de] - Borders and dividers (dark: #40444c).
 * @cssprop [--mistral-console-focus=#c2410c] - Focus ring (dark: #fdba74).
 * @cssprop [--mistral-console-danger=#b42318] - Destructive buttons (dark: #f97066).
 * @cssprop [--mistral-console-on-danger=#fff] - Text on destructive buttons (dark: #1c0504).
 * @cssprop [--mistral-console-error-bg=#fdecea] - Error message background (dark: #3d1518).
 * @cssprop [--mistral-console-error-fg=#a40e26] - Error message text and invalid fields (dark: #ffb3ad).
 * @cssprop [--mistral-console-warning-bg=#fff4d6] - Warning background (dark: #3a2c05).
 * @cssprop [--mistral-console-warning-fg=#6b4500] - Warning text (dark: #ffd978).
 * @cssprop [--mistral-console-chart-1=#c2410c] - First chart series (dark: #fb923c).
 * @cssprop [--mistral-console-chart-2=#1d4ed8] - Second chart series (dark: #93c5fd).
 * @cssprop [--mistral-console-chart-grid=#d0d7de] - Chart grid lines (dark: #40444c).
 * @cssprop [--mistral-console-font=system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif] - Font family.
 * @cssprop [--mistral-console-font-mono=ui-monospace, SFMono-Regular, Menlo, Consolas, monospace] - Code, keys and snippets.
 * @cssprop [--mistral-console-font-size=15px] - Base font size.
 * @cssprop [--mistral-console-radius=10px] - Corner radius of cards and dialogs.
 * @cssprop [--mistral-console-control-radius=8px] - Corner radius of buttons and inputs.
 * @cssprop [--mistral-console-gap=16px] - Base spacing.
 * @cssprop [--mistral-console-nav-width=240px] - Width of the agent list on wide screens.
 * @cssprop [--mistral-console-preview-height=520px] - Height of the live preview.
 */
export class MistralAgentConsole extends LitElement {
  static override styles = styles;

  static override properties: PropertyDeclarations = {
    endpoint: {},
    lang: {},
    theme: { reflect: true },
    widgetSrc: { attribute: 'widget-src' },
    strings: { attribute: false },
  };

  /** Base URL of the mistral-agent-chat server (its owner API). Default: this page's origin (the `/console` page sets the server it came from). */
  endpoint = '';

  /** UI language (BCP 47). Default: the page's `lang`, then the browser's. Built in: `en`, `fr`. */
  override lang = '';

  /** `auto` follows the system's `prefers-color-scheme`. */
  theme: 'auto' | 'light' | 'dark' = 'auto';

  /** The widget script the live preview loads. Default: `${endpoint}/widget.js`. */
  widgetSrc = '';

  /** Overrides of built-in UI strings, by key (see `src/console/strings.ts`). Property only. */
  strings: Partial<ConsoleStrings> = {};

  @state() private phase: Phase = 'starting';
  @state() private authMode: 'local' | 'supabase' = 'local';
  @state() private me: { id: string; email: string } | null = null;
  @state() private agentList: Agent[] = [];
  /** null: loaded; '' loading; else the failure. */
  @state() private agentsError: string | null = '';
  @state() private route: Route = { view: 'overview' };
  @state() private statusText = '';
  @state() private dialog: (ConfirmOptions & { resolve: (ok: boolean) => void }) | null = null;
  @state() private secret: { title: string; value: string } | null = null;

  #api = new OwnerApi('');
  #session?: OwnerSession;
  #s: ConsoleStrings = consoleStrings('en');
  #lang = 'en';
  /** Bumped at each (re)start: answers for an older endpoint are dropped. */
  #startGen = 0;
  /** The owner whose drafts are kept across an expired session. */
  #lastOwner = '';
  #focus = '';
  #statusTimer = 0;
  #dialogReturn: HTMLElement | null = null;
  /** The confirmation the open dialog shows (its close event may come after a new one was asked for). */
  #shownDialog: MistralAgentConsole['dialog'] = null;
  #dark = matchMedia('(prefers-color-scheme: dark)');

  /** What the views see of the element (not public API: the element's own members stay private). */
  readonly #ctx: ConsoleContext = this.#context();

  readonly #signIn = new SignIn(this.#ctx, (email, password) => this.#signInWith(email, password));
  readonly #form = new AgentForm(this.#ctx);
  readonly #stats = new Stats(this.#ctx);
  readonly #actions = new AgentActions(this.#ctx, (id) => this.#stats.figures(id));
  readonly #embed = new EmbedView(this.#ctx);
  readonly #inbox = new Inbox(this.#ctx);

  #context(): ConsoleContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const host = this;
    return {
      get api() {
        return host.#api;
      },
      get s() {
        return host.#s;
      },
      get uiLang() {
        return host.#lang;
      },
      get baseUrl() {
        return host.#baseUrl;
      },
      get previewScript() {
        return host.widgetSrc || `${host.#baseUrl}/widget.js`;
      },
      get renderRoot() {
        return host.renderRoot;
      },
      get agents() {
        return host.agentList;
      },
      get updateComplete() {
        return host.updateComplete;
      },
      addController: (c) => host.addController(c),
      removeController: (c) => host.removeController(c),
      requestUpdate: () => host.requestUpdate(),
      announce: (text) => host.#announce(text),
      problem: (err) => host.#problem(err),
      confirm: (opts) => host.#confirm(opts),
      showSecret: (title, value) => host.#showSecret(title, value),
      copy: (text) => host.#copy(text),
      agentChanged: (agent) => host.#agentChanged(agent),
      agentCreated: (agent) => host.#agentCreated(agent),
      agentDeleted: (agent) => host.#agentDeleted(agent),
      statisticsStale: () => host.#stats.stale(),
      openAgent: (id, tab = 'settings') => host.#go({ view: 'agent', id, tab }),
      focusAfterRender: (selector) => host.#focusAfterRender(selector),
    };
  }

  get #baseUrl() {
    return absoluteEndpoint(this.endpoint || location.origin);
  }

  override connectedCallback() {
    super.connectedCallback();
    this.#dark.addEventListener('change', this.#schemeChanged);
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    this.#dark.removeEventListener('change', this.#schemeChanged);
    this.#session?.dispose();
    clearTimeout(this.#statusTimer);
  }

  #schemeChanged = () => this.requestUpdate();

  get #isDark() {
    return this.theme === 'dark' || (this.theme !== 'light' && this.#dark.matches);
  }

  /** Reads the server's auth mode, then restores a stored session or asks to sign in. */
  async #start() {
    const gen = ++this.#startGen;
    this.#session?.dispose();
    this.#session = undefined;
    this.#clearData(false);
    this.phase = 'starting';
    this.#api = new OwnerApi(this.#baseUrl, () => this.#session?.accessToken() ?? Promise.resolve(null));
    const api = this.#api;
    let config;
    try {
      config = await api.config();
    } catch {
      if (gen === this.#startGen) this.phase = 'unreachable';
      return;
    }
    if (gen !== this.#startGen) return;
    const session = (this.#session = createSession(config, api, () => void this.#expire()));
    this.authMode = session.mode;
    if (await session.restore().catch(() => false)) {
      try {
        const me = await api.me();
        if (gen !== this.#startGen) return;
        this.#enter(me);
        return;
      } catch {
        await session.signOut();
      }
    }
    if (gen === this.#startGen) this.phase = 'signed-out';
  }

  async #signInWith(email: string, password: string) {
    const session = this.#session;
    if (!session) throw new OwnerApiError(0, 'network', 'not started');
    await session.signIn(email, password);
    const me = await this.#api.me();
    this.#enter(me);
  }

  #enter(me: { id: string; email: string }) {
    if (me.id !== this.#lastOwner) {
      this.#form.reset();
      this.route = { view: 'overview' };
    }
    this.#lastOwner = me.id;
    this.me = me;
    this.phase = 'ready';
    this.#focusAfterRender('#main-h');
    void this.#loadAgents();
  }

  async #loadAgents() {
    const gen = this.#startGen;
    this.agentsError = '';
    try {
      const list = await this.#api.agents();
      if (gen !== this.#startGen || this.phase !== 'ready') return;
      this.agentList = list;
      this.agentsError = null;
      const r = this.route;
      if (r.view === 'agent' && !list.some((a) => a.id === r.id)) this.route = { view: 'overview' };
      this.#loadForRoute();
    } catch (err) {
      if (gen === this.#startGen) this.agentsError = this.#problem(err);
    }
  }

  /** Everything an owner's session shows, forgotten (an expired session keeps the form's draft for the same owner). */
  #clearData(keepDraft: boolean) {
    this.me = null;
    if (this.agentList.length) this.agentList = [];
    this.agentsError = '';
    if (!keepDraft) this.#form.reset();
    this.#stats.reset();
    this.#inbox.reset();
    this.#actions.reset();
    this.#signIn.reset();
    this.secret = null;
    this.dialog?.resolve(false);
    this.dialog = null;
  }

  /** A call answered 401: back to sign-in, saying why. */
  async #expire() {
    if (this.phase !== 'ready') return;
    this.phase = 'signed-out';
    this.#clearData(true);
    await this.#session?.signOut();
    this.#signIn.notice = this.#s.expired;
    this.#announce(this.#s.expired);
    this.#focusAfterRender('#si-email');
  }

  async #signOut() {
    await this.#session?.signOut();
    this.#lastOwner = '';
    this.#clearData(false);
    this.route = { view: 'overview' };
    this.phase = 'signed-out';
    this.#signIn.notice = this.#s.signedOut;
    this.#focusAfterRender('#si-h');
  }

  #announce(text: string) {
    // Emptied first, so that the same words twice are said twice.
    this.statusText = '';
    clearTimeout(this.#statusTimer);
    requestAnimationFrame(() => {
      this.statusText = text;
      this.#statusTimer = window.setTimeout(() => (this.statusText = ''), 6000);
    });
  }

  #problem(err: unknown): string | null {
    const s = this.#s;
    if (!(err instanceof OwnerApiError)) return fmt(s.e_default, { code: err instanceof Error ? err.name : 'error' });
    if (err.status === 401 && err.code !== 'invalid_credentials') {
      void this.#expire();
      return null;
    }
    switch (err.code) {
      case 'network':
        return s.e_network;
      case 'not_found':
        return s.e_not_found;
      case 'rate_limited':
        return err.retryAfter ? fmt(s.e_rate_limited, { n: Math.ceil(err.retryAfter) }) : s.e_rate_limited_soon;
      case 'invalid_request':
        return fmt(s.e_invalid_request, { message: err.message });
      default:
        return fmt(s.e_default, { code: err.code });
    }
  }

  #confirm(opts: ConfirmOptions): Promise<boolean> {
    this.dialog?.resolve(false);
    this.#dialogReturn = this.#activeElement();
    return new Promise((resolve) => (this.dialog = { ...opts, resolve }));
  }

  #showSecret(title: string, value: string) {
    this.#dialogReturn = this.#activeElement();
    this.secret = { title, value };
  }

  async #copy(text: string) {
    try {
      await navigator.clipboard.writeText(text);
      this.#announce(this.#s.copied);
    } catch {
      this.#announce(this.#s.copyFailed);
    }
  }

  #agentChanged(agent: Agent) {
    this.agentList = this.agentList.map((a) => (a.id === agent.id ? agent : a));
  }

  #agentCreated(agent: Agent) {
    this.agentList = [...this.agentList, agent];
    this.#stats.stale();
    this.#go({ view: 'agent', id: agent.id, tab: 'embed' });
  }

  #agentDeleted(agent: Agent) {
    this.agentList = this.agentList.filter((a) => a.id !== agent.id);
    this.#form.reset();
    this.#inbox.reset();
    this.#stats.stale();
    this.#go({ view: 'overview' });
  }

  #focusAfterRender(selector: string) {
    this.#focus = selector;
    this.requestUpdate();
  }

  #activeElement(): HTMLElement | null {
    let a = this.shadowRoot?.activeElement ?? null;
    while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
    return a as HTMLElement | null;
  }

  #go(route: Route, focus = '#main-h') {
    this.route = route;
    this.#focusAfterRender(focus);
    this.#loadForRoute();
  }

  protected override willUpdate() {
    const resolved = resolveLang(this.lang);
    this.#lang = stringsLang(resolved) === primary(resolved) ? resolved : 'en';
    this.#s = consoleStrings(this.#lang, this.strings);
    const r = this.route;
    if (this.phase === 'ready' && (r.view === 'new' || r.view === 'agent')) {
      const agent = r.view === 'agent' ? this.agentList.find((a) => a.id === r.id) : null;
      if (r.view === 'new' || agent) this.#form.show(agent ?? null);
    }
  }

  protected override updated(changed: PropertyValues<this>) {
    // First render, or another server: (re)start. #start bumps #startGen at once.
    if (changed.has('endpoint') || this.#startGen === 0) void this.#start();
    else if (changed.has('widgetSrc')) this.#loadForRoute();
    // Dialogs: open the one with content, as modal (focus inside, Escape closes).
    const confirmDialog = this.renderRoot.querySelector<HTMLDialogElement>('#confirm');
    if (this.dialog && confirmDialog && !confirmDialog.open) {
      this.#shownDialog = this.dialog;
      confirmDialog.showModal();
    }
    const secretDialog = this.renderRoot.querySelector<HTMLDialogElement>('#secret');
    if (this.secret && secretDialog && !secretDialog.open) secretDialog.showModal();
    this.#stats.afterRender(this.#isDark);
    if (this.#focus) {
      const target = this.renderRoot.querySelector<HTMLElement>(this.#focus);
      if (target) {
        this.#focus = '';
        target.focus();
      }
    }
  }

  /** Loads what the current route shows (each view loads once and caches): on navigation, and once the agents are known. */
  #loadForRoute() {
    const r = this.route;
    if (this.phase !== 'ready' || this.agentsError !== null) return;
    if (r.view === 'overview') void this.#stats.ensureRows();
    else if (r.view === 'agent' && this.agentList.some((a) => a.id === r.id)) {
      if (r.tab === 'conversations') this.#inbox.show(r.id);
      else if (r.tab === 'statistics') this.#stats.showAgent(r.id);
      else if (r.tab === 'embed') this.#embed.prepare();
    }
  }

  #onConfirmClose(e: Event) {
    const d = e.target as HTMLDialogElement;
    const shown = this.#shownDialog;
    this.#shownDialog = null;
    if (this.dialog === shown) this.dialog = null;
    shown?.resolve(d.returnValue === 'confirm');
    d.returnValue = '';
    if (!this.dialog) this.#restoreFocus();
  }

  #onSecretClose() {
    // The secret leaves the DOM with the dialog: it was shown once.
    this.secret = null;
    this.#restoreFocus();
  }

  #restoreFocus() {
    const back = this.#dialogReturn;
    this.#dialogReturn = null;
    if (back?.isConnected) back.focus();
    else this.#focusAfterRender('#main-h');
  }

  #onTabKey(e: KeyboardEvent, agent: Agent, tab: AgentTab) {
    const i = TABS.indexOf(tab);
    const next =
      e.key === 'ArrowRight' ? TABS[(i + 1) % TABS.length] : e.key === 'ArrowLeft' ? TABS[(i + TABS.length - 1) % TABS.length] : e.key === 'Home' ? TABS[0] : e.key === 'End' ? TABS.at(-1) : undefined;
    if (!next) return;
    e.preventDefault();
    this.#go({ view: 'agent', id: agent.id, tab: next }, `#tab-${next}`);
  }

  #nav() {
    const s = this.#s;
    const r = this.route;
    return html`<nav part="nav" class="nav" aria-labelledby="nav-h">
      <h2 id="nav-h" class="nav-title">${s.agentsNav}</h2>
      <ul>
        <li>
          <button type="button" class="nav-item" aria-current=${r.view === 'overview' ? 'page' : nothing} @click=${() => this.#go({ view: 'overview' })}>
            ${s.overview}
          </button>
        </li>
        ${this.agentList.map(
          (a) => html`<li>
            <button type="button" class="nav-item" data-agent=${a.id} aria-current=${r.view === 'agent' && r.id === a.id ? 'page' : nothing}
              @click=${() => this.#go({ view: 'agent', id: a.id, tab: r.view === 'agent' ? r.tab : 'settings' })}>
              <span class="nav-name">${a.name}</span>
              ${a.is_active ? nothing : html`<span class="badge">${s.inactive}</span>`}
            </button>
          </li>`,
        )}
      </ul>
      <button type="button" class="primary new-agent" part="button primary-button" aria-current=${r.view === 'new' ? 'page' : nothing}
        @click=${() => this.#go({ view: 'new' })}>+ ${s.newAgent}</button>
    </nav>`;
  }

  #agentView(agent: Agent, tab: AgentTab) {
    const s = this.#s;
    let panel;
    if (tab === 'settings')
      panel = html`<h2 id="panel-h" class="sr">${s.tabSettings}</h2>
        <div class="settings">${this.#form.render(agent)}<div class="side">${this.#actions.render(agent)}</div></div>`;
    // The tab names the panel; its heading is for the document outline (screen readers' heading navigation).
    else if (tab === 'embed') panel = html`<h2 id="panel-h" class="sr">${s.embedTitle}</h2>${this.#embed.render(agent)}`;
    else if (tab === 'conversations') panel = html`<h2 id="inbox-h" class="sr" tabindex="-1">${s.tabConversations}</h2>${this.#inbox.render()}`;
    else panel = html`<h2 id="panel-h" class="sr">${s.statsTitle}</h2>${this.#stats.renderAgent(agent)}`;
    return html`
      <div class="title-row">
        <h1 id="main-h" tabindex="-1">${agent.name}</h1>
        <span class="badge ${agent.is_active ? 'on' : ''}">${agent.is_active ? s.active : s.inactive}</span>
      </div>
      <div role="tablist" part="tabs" class="tabs" aria-label=${s.agentSections}>
        ${TABS.map(
          (t) => html`<button type="button" role="tab" part="tab" id="tab-${t}" aria-selected=${t === tab ? 'true' : 'false'} aria-controls="tab-panel"
            tabindex=${t === tab ? '0' : '-1'} @click=${() => this.#go({ view: 'agent', id: agent.id, tab: t }, `#tab-${t}`)}
            @keydown=${(e: KeyboardEvent) => this.#onTabKey(e, agent, t)}>${s[TAB_LABEL[t]]}</button>`,
        )}
      </div>
      <section id="tab-panel" role="tabpanel" part="tab-panel" class="tab-panel" aria-labelledby="tab-${tab}">${panel}</section>
    `;
  }

  #mainContent() {
    const s = this.#s;
    const r = this.route;
    if (r.view === 'new') return html`<h1 id="main-h" tabindex="-1">${s.newAgent}</h1>${this.#form.render(null)}`;
    if (r.view === 'agent') {
      const agent = this.agentList.find((a) => a.id === r.id);
      if (agent) return this.#agentView(agent, r.tab);
      if (this.agentsError === null) return html`<h1 id="main-h" tabindex="-1">${s.agentGone}</h1>`;
    }
    return html`<h1 id="main-h" tabindex="-1">${s.overview}</h1>
      ${this.agentsError === null && !this.agentList.length
        ? html`<p class="empty">${s.noAgents}</p>
            <button type="button" class="primary" part="button primary-button" @click=${() => this.#go({ view: 'new' })}>+ ${s.newAgent}</button>`
        : this.#stats.renderOverview(this.agentList)}`;
  }

  #ready() {
    const s = this.#s;
    return html`<header part="header" class="header">
        <p class="brand">${s.consoleTitle}</p>
        <p class="who">${fmt(s.signedInAs, { email: this.me?.email ?? '' })}</p>
        <button type="button" part="button" class="sign-out" @click=${this.#signOut}>${s.signOut}</button>
      </header>
      <div class="layout">
        ${this.#nav()}
        <main part="main" class="main" aria-labelledby="main-h">
          ${this.agentsError
            ? html`<p class="alert" role="alert" part="error">${this.agentsError}</p>
                <button type="button" part="button" class="retry" @click=${() => void this.#loadAgents()}>${s.retry}</button>`
            : nothing}
          ${this.agentsError === '' && !this.agentList.length ? html`<p class="loading" role="status">${s.loading}</p>` : this.#mainContent()}
        </main>
      </div>`;
  }

  #dialogs() {
    const s = this.#s;
    const d = this.dialog;
    const secret = this.secret;
    return html`<dialog id="confirm" part="dialog" aria-labelledby="dlg-h" aria-describedby="dlg-b" @close=${this.#onConfirmClose}>
        ${d
          ? html`<form method="dialog">
              <h2 id="dlg-h">${d.title}</h2>
              <p id="dlg-b">${d.body}</p>
              <div class="actions">
                <button value="cancel" part="button" autofocus>${s.cancel}</button>
                <button value="confirm" part="button ${d.danger ? 'danger-button' : 'primary-button'}" class=${d.danger ? 'danger' : 'primary'}>
                  ${d.confirm}
                </button>
              </div>
            </form>`
          : nothing}
      </dialog>
      <dialog id="secret" part="secret-dialog" aria-labelledby="secret-h" aria-describedby="secret-d" @close=${this.#onSecretClose}>
        ${secret
          ? html`<form method="dialog">
              <h2 id="secret-h">${secret.title}</h2>
              <p id="secret-d">${s.secretOnce}</p>
              <label for="secret-value">${s.secretLabel}</label>
              <input id="secret-value" class="mono" readonly .value=${secret.value} @focus=${(e: Event) => (e.target as HTMLInputElement).select()} />
              <div class="actions">
                <button type="button" part="button copy-button" class="copy" @click=${() => this.#copy(secret.value)}>${s.copySecret}</button>
                <button value="done" part="button primary-button" class="primary">${s.secretDone}</button>
              </div>
            </form>`
          : nothing}
      </dialog>`;
  }

  protected override render() {
    const s = this.#s;
    let body;
    if (this.phase === 'ready') body = this.#ready();
    else if (this.phase === 'signed-out') body = this.#signIn.render(this.authMode);
    else if (this.phase === 'unreachable')
      body = html`<main class="sign-in" part="main" aria-labelledby="main-h">
        <h1 id="main-h" tabindex="-1">${s.consoleTitle}</h1>
        <p class="alert" role="alert" part="error">${fmt(s.configError, { endpoint: this.#baseUrl })}</p>
        <button type="button" part="button" @click=${() => void this.#start()}>${s.retry}</button>
      </main>`;
    else
      body = html`<main class="sign-in" part="main" aria-labelledby="main-h">
        <h1 id="main-h">${s.consoleTitle}</h1>
        <p class="loading" role="status">${s.loading}</p>
      </main>`;
    return html`<div class="console" lang=${this.#lang}>
      ${body} ${this.#dialogs()}
      <div part="status" class="status ${this.statusText ? 'shown' : ''}" role="status" aria-live="polite">${this.statusText}</div>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mistral-agent-console': MistralAgentConsole;
  }
}
