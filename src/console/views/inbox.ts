/**
 * The conversations tab: an agent's inbox (latest activity first, search in messages, older pages by the
 * `next` cursor) and a transcript, rendered with the widget's own sanitizing Markdown renderer
 * (src/markdown/render.ts, loaded lazily), with its sources and feedback; a conversation can be erased.
 */
import { html, nothing, svg } from 'lit';
import { unsafeHTML } from 'lit/directives/unsafe-html.js';
import type { ConversationSummary, Feedback, Source, Transcript, TranscriptMessage } from '../api.ts';
import { fmt, plural } from '../strings.ts';
import type { ConsoleContext } from './context.ts';

type Markdown = typeof import('../../markdown/render.ts');

/** Conversations per page of the inbox. */
export const PAGE_SIZE = 25;

let markdown: Promise<Markdown | null> | undefined;
/** The widget's renderer, once per page; a failed load leaves transcripts as plain text. */
const loadMarkdown = () => (markdown ??= import('../../markdown/render.ts').then(async (m) => (await m.ready, m)).catch(() => null));

/** Only absolute http(s) URLs become links (a `javascript:` URL in stored data stays text). */
export function safeUrl(url: unknown): string | null {
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url.trim())) return null;
  try {
    return new URL(url.trim()).href;
  } catch {
    return null;
  }
}

const lastText = (c: ConversationSummary): { role?: string; text: string } => {
  const m = c.last_message;
  if (m === null || m === undefined) return { text: '' };
  if (typeof m === 'string') return { text: m };
  return { role: m.role, text: m.content ?? '' };
};

const feedbackOf = (f: Feedback | undefined): { rating: 'up' | 'down'; comment?: string | null } | null =>
  !f ? null : typeof f === 'string' ? { rating: f } : f;

/** Thumbs (Lucide's, ISC licence), as the widget's feedback buttons show them. */
const THUMB = {
  up: svg`<path d="M7 10v12"/><path d="M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z"/>`,
  down: svg`<path d="M17 14V2"/><path d="M9 18.12 10 14H4.17a2 2 0 0 1-1.92-2.56l2.33-8A2 2 0 0 1 6.5 2H20a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-2.76a2 2 0 0 0-1.79 1.11L12 22a3.13 3.13 0 0 1-3-3.88Z"/>`,
};

const short = (text: string, n = 160) => (text.length > n ? `${text.slice(0, n - 1).trimEnd()}…` : text);

export class Inbox {
  agentId = '';
  #q = '';
  #items: ConversationSummary[] = [];
  #next: string | null = null;
  #phase: 'idle' | 'loading' | 'loaded' | 'error' = 'idle';
  #more = false;
  #error = '';
  #openId = '';
  #transcript: Transcript | null = null;
  #transcriptState: 'idle' | 'loading' | 'loaded' | 'error' = 'idle';
  #transcriptError = '';
  #md: Markdown | null = null;
  /** Bumped on every new list or transcript request: late answers for older ones are dropped. */
  #gen = 0;

  constructor(private readonly ctx: ConsoleContext) {}

  /** Shows `agentId`'s inbox, loading it the first time. */
  show(agentId: string) {
    if (this.agentId === agentId && this.#phase !== 'idle') return;
    this.reset();
    this.agentId = agentId;
    void this.#load();
  }

  /** Forgets everything (sign-out, agent deleted). */
  reset() {
    this.#gen++;
    this.agentId = '';
    this.#q = '';
    this.#items = [];
    this.#next = null;
    this.#phase = 'idle';
    this.#more = false;
    this.#error = '';
    this.#closeTranscript();
  }

  #closeTranscript() {
    this.#openId = '';
    this.#transcript = null;
    this.#transcriptState = 'idle';
    this.#transcriptError = '';
  }

  async #load(more = false) {
    const gen = ++this.#gen;
    const s = this.ctx.s;
    if (more) this.#more = true;
    else this.#phase = 'loading';
    this.#error = '';
    this.ctx.requestUpdate();
    try {
      const page = await this.ctx.api.conversations(this.agentId, {
        limit: PAGE_SIZE,
        before: more ? this.#next : null,
        q: this.#q || undefined,
      });
      if (gen !== this.#gen) return;
      this.#items = more ? [...this.#items, ...page.conversations] : page.conversations;
      this.#next = page.next ?? null;
      this.#phase = 'loaded';
      if (more) this.ctx.announce(fmt(s.loadedMore, { n: page.conversations.length }));
      else if (this.#q)
        this.ctx.announce(
          page.conversations.length || this.#next
            ? plural(s, this.ctx.uiLang, 'found', this.#items.length, this.#next ? `${this.#items.length}+` : undefined)
            : fmt(s.noMatch, { q: this.#q }),
        );
    } catch (err) {
      if (gen !== this.#gen) return;
      this.#error = this.ctx.problem(err) ?? '';
      if (!more) this.#phase = 'error';
    } finally {
      if (gen === this.#gen) {
        this.#more = false;
        this.ctx.requestUpdate();
      }
    }
  }

  #search(e: Event) {
    e.preventDefault();
    const input = (e.target as HTMLFormElement).elements.namedItem('q') as HTMLInputElement;
    this.#q = input.value.trim();
    this.#closeTranscript();
    void this.#load();
  }

  #clearSearch() {
    this.#q = '';
    this.#closeTranscript();
    void this.#load();
    this.ctx.focusAfterRender('#inbox-q');
  }

  async #open(id: string) {
    const gen = ++this.#gen;
    this.#openId = id;
    this.#transcript = null;
    this.#transcriptState = 'loading';
    this.#transcriptError = '';
    this.ctx.requestUpdate();
    try {
      const [t, md] = await Promise.all([this.ctx.api.conversation(id), loadMarkdown()]);
      if (gen !== this.#gen) return;
      this.#transcript = t;
      this.#md = md;
      this.#transcriptState = 'loaded';
    } catch (err) {
      if (gen !== this.#gen) return;
      this.#transcriptState = 'error';
      this.#transcriptError = (err as { code?: string }).code === 'not_found' ? this.ctx.s.transcriptGone : (this.ctx.problem(err) ?? '');
    }
    this.ctx.requestUpdate();
    this.ctx.focusAfterRender('#transcript-h');
  }

  #back() {
    const id = this.#openId;
    this.#gen++;
    this.#closeTranscript();
    this.ctx.requestUpdate();
    this.ctx.focusAfterRender(this.#items.some((c) => c.id === id) ? `[data-id="${CSS.escape(id)}"]` : '#inbox-q');
  }

  async #erase() {
    const t = this.#transcript;
    if (!t) return;
    const s = this.ctx.s;
    const lang = this.ctx.uiLang;
    const n = t.messages.length;
    const ok = await this.ctx.confirm({
      title: s.eraseTitle,
      body: fmt(s.eraseBody, { messages: plural(s, lang, 'n_messages', n, new Intl.NumberFormat(lang).format(n)) }),
      confirm: s.erase,
      danger: true,
    });
    if (!ok) return;
    try {
      await this.ctx.api.deleteConversation(t.conversation.id);
    } catch (err) {
      if ((err as { code?: string }).code !== 'not_found') {
        this.#transcriptError = this.ctx.problem(err) ?? '';
        this.ctx.requestUpdate();
        return;
      }
      // already gone (erased elsewhere, purged): the owner's wish holds
    }
    this.#items = this.#items.filter((c) => c.id !== t.conversation.id);
    this.#closeTranscript();
    this.ctx.statisticsStale();
    this.ctx.announce(s.erased);
    this.ctx.requestUpdate();
    this.ctx.focusAfterRender('#inbox-h');
  }

  #date(iso: string | null | undefined) {
    if (!iso) return '';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(this.ctx.uiLang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
  }

  #who(c: ConversationSummary) {
    const s = this.ctx.s;
    if (c.user_ref) return fmt(s.user, { ref: c.user_ref });
    if (c.visitor_id) return fmt(s.visitor, { id: c.visitor_id.slice(0, 8) });
    return s.anonymous;
  }

  #row(c: ConversationSummary) {
    const s = this.ctx.s;
    const lang = this.ctx.uiLang;
    const last = lastText(c);
    const role = last.role === 'user' || last.role === 'assistant' ? s[`role_${last.role}`] : '';
    const count = Number(c.message_count) || 0;
    return html`<li>
      <button type="button" class="row" part="conversation" data-id=${c.id} @click=${() => this.#open(c.id)}>
        <span class="row-top">
          <span class="who">${this.#who(c)}</span>
          <time datetime=${c.updated_at}>${this.#date(c.updated_at)}</time>
        </span>
        <span class="last" dir="auto">${role ? fmt(s.lastBy, { role, text: short(last.text) }) : short(last.text) || s.noMessage}</span>
        <span class="count">${plural(s, lang, 'n_messages', count, new Intl.NumberFormat(lang).format(count))}</span>
      </button>
    </li>`;
  }

  #list() {
    const s = this.ctx.s;
    return html`
      <form class="search" role="search" part="search" @submit=${(e: Event) => this.#search(e)}>
        <label for="inbox-q">${s.searchLabel}</label>
        <span class="search-row">
          <input id="inbox-q" name="q" type="search" .value=${this.#q} autocomplete="off" />
          <button type="submit" part="button">${s.search}</button>
          ${this.#q ? html`<button type="button" part="button" @click=${() => this.#clearSearch()}>${s.clearSearch}</button>` : nothing}
        </span>
      </form>
      ${this.#error ? html`<p class="alert" role="alert" part="error">${this.#error}</p>` : nothing}
      ${this.#phase === 'loading'
        ? html`<p class="loading" role="status">${s.loading}</p>`
        : this.#phase === 'loaded' && !this.#items.length
          ? html`<p class="empty">${this.#q ? fmt(s.noMatch, { q: this.#q }) : s.noConversations}</p>`
          : html`<ul class="conversations" part="conversation-list" aria-labelledby="inbox-h" aria-busy=${this.#more ? 'true' : 'false'}>
              ${this.#items.map((c) => this.#row(c))}
            </ul>`}
      ${this.#next && this.#phase === 'loaded'
        ? html`<button type="button" part="button" class="more" ?disabled=${this.#more} @click=${() => this.#load(true)}>
            ${this.#more ? s.loading : s.loadMore}
          </button>`
        : nothing}
    `;
  }

  #sources(list: Source[] | null) {
    if (!list?.length) return nothing;
    return html`<div class="sources" part="sources">
      <p class="sources-title">${this.ctx.s.sources}</p>
      <ul>
        ${list.map((src) => {
          const url = safeUrl(src.url);
          return html`<li part="source">
            ${url ? html`<a href=${url} target="_blank" rel="noopener noreferrer">${src.title || url}</a>` : html`<span>${src.title}</span>`}
            ${src.snippet ? html`<span class="snippet-text">${src.snippet}</span>` : nothing}
          </li>`;
        })}
      </ul>
    </div>`;
  }

  #message(m: TranscriptMessage) {
    const s = this.ctx.s;
    const user = m.role === 'user';
    const fb = feedbackOf(m.feedback);
    const nf = new Intl.NumberFormat(this.ctx.uiLang, { maximumFractionDigits: 1 });
    // The one place the console renders HTML: sanitized output of the widget's markdown module, never raw text.
    const body =
      !user && this.#md
        ? html`<div class="markdown" part="markdown" dir="auto">${unsafeHTML(this.#md.renderMarkdown(m.content))}</div>`
        : html`<div class="text" dir="auto">${m.content}</div>`;
    return html`<li class="msg msg-${user ? 'user' : 'assistant'}" part="transcript-message">
      <p class="msg-head">
        <strong>${user ? s.role_user : s.role_assistant}</strong>
        <time datetime=${m.created_at}>${this.#date(m.created_at)}</time>
      </p>
      ${body} ${user ? nothing : this.#sources(m.sources)}
      ${!user && (m.tokens_used != null || m.response_time_ms != null)
        ? html`<p class="msg-meta">
            ${m.tokens_used != null ? fmt(s.tokens, { n: nf.format(m.tokens_used) }) : nothing}
            ${m.response_time_ms != null ? html` · ${fmt(s.seconds, { n: nf.format(m.response_time_ms / 1000) })}` : nothing}
          </p>`
        : nothing}
      ${fb
        ? html`<p class="feedback feedback-${fb.rating}" part="feedback">
            <svg viewBox="0 0 24 24" aria-hidden="true">${THUMB[fb.rating]}</svg> <span>${s[`feedback_${fb.rating}`]}</span>
            ${fb.comment ? html`<span class="comment" dir="auto">${fmt(s.feedbackComment, { comment: fb.comment })}</span>` : nothing}
          </p>`
        : nothing}
    </li>`;
  }

  #transcriptView() {
    const s = this.ctx.s;
    const t = this.#transcript;
    const c = t?.conversation;
    const page = c?.metadata && typeof c.metadata === 'object' ? (c.metadata as Record<string, unknown>).page_url : undefined;
    const pageUrl = safeUrl(page);
    return html`<article class="transcript" part="transcript" aria-labelledby="transcript-h">
      <button type="button" part="button" class="back" @click=${() => this.#back()}>← ${s.back}</button>
      <h3 id="transcript-h" tabindex="-1">${c ? fmt(s.transcriptTitle, { date: this.#date(c.created_at) }) : s.loading}</h3>
      ${this.#transcriptError ? html`<p class="alert" role="alert" part="error">${this.#transcriptError}</p>` : nothing}
      ${this.#transcriptState === 'loading' ? html`<p class="loading" role="status">${s.loading}</p>` : nothing}
      ${t && c
        ? html`<dl class="meta" part="transcript-meta">
              <div><dt>${s.started}</dt><dd>${this.#date(c.created_at)}</dd></div>
              <div><dt>${s.lastActivity}</dt><dd>${this.#date(c.updated_at)}</dd></div>
              ${c.user_ref ? html`<div><dt>${s.userRef}</dt><dd>${c.user_ref}</dd></div>` : nothing}
              ${c.visitor_id ? html`<div><dt>${s.visitorId}</dt><dd><code>${c.visitor_id}</code></dd></div>` : nothing}
              ${typeof page === 'string' && page
                ? html`<div><dt>${s.page}</dt><dd>${pageUrl ? html`<a href=${pageUrl} target="_blank" rel="noopener noreferrer">${page}</a>` : page}</dd></div>`
                : nothing}
            </dl>
            <button type="button" part="button danger-button" class="danger erase" @click=${() => this.#erase()}>${s.erase}</button>
            <ol class="transcript-messages" aria-label=${s.messagesLabel}>
              ${t.messages.map((m) => this.#message(m))}
            </ol>`
        : nothing}
    </article>`;
  }

  render() {
    return this.#openId ? this.#transcriptView() : this.#list();
  }
}
