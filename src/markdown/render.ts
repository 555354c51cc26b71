/**
 * Markdown → sanitized HTML for assistant replies: the ONLY place marked and the sanitizer are configured (with
 * policy.ts, and purify.ts for DOMPurify), and the only producer of HTML the element passes to `unsafeHTML`.
 * Loaded lazily (its own chunk).
 *
 * Policy: raw HTML in the markdown is shown as text (the HTML tokenizers are switched off); only
 * http(s) and mailto links survive, and they open in a new tab without referrer; images are links
 * unless `allowImages`; a strict allowlist runs last, as the backstop for everything above: the browser's
 * own HTML sanitizer where it ships, else DOMPurify (its own chunk, loaded only then).
 *
 * Streaming: {@link MarkdownStream} caches the HTML of completed top-level blocks, so each update
 * lexes only the unfinished tail.
 */
import { Marked, Renderer, type Token, type Tokens, type TokensList } from 'marked';
import { ATTRS, HTTP_URL, IMAGE_ATTRS, IMAGE_TAGS, SAFE_URL, TAGS, absolute, secure } from './policy.ts';

export interface MarkdownOptions {
  /** Keep `<img>` for http(s) images (lazy, no referrer). Off by default: images become links. */
  allowImages?: boolean;
}

type Sanitize = (html: string, allowImages: boolean) => string;

/** Element.setHTML (not in TypeScript's DOM types yet). */
type SetHTML = { setHTML(html: string, options: { sanitizer: object }): void };

interface NativeSanitizer {
  new (config: { elements: string[]; attributes: string[]; comments: boolean; dataAttributes: boolean }): object;
}

/**
 * The browser's own sanitizer (HTML Sanitizer API), when it ships: `setHTML` on an element of an inert document
 * (nothing loads while it is parsed), the same allowlist as DOMPurify's, then the same URL rules. An element
 * outside the allowlist goes with its content (DOMPurify keeps the text); marked, with raw HTML off, writes none.
 */
function nativeSanitizer(): Sanitize | undefined {
  const Sanitizer = (globalThis as { Sanitizer?: NativeSanitizer }).Sanitizer;
  if (typeof Sanitizer !== 'function' || typeof (Element.prototype as Partial<SetHTML>).setHTML !== 'function') return undefined;
  let sanitizers: object[];
  try {
    sanitizers = [false, true].map(
      (images) =>
        new Sanitizer({
          elements: images ? [...TAGS, ...IMAGE_TAGS] : TAGS,
          attributes: images ? [...ATTRS, ...IMAGE_ATTRS] : ATTRS,
          comments: false,
          dataAttributes: false,
        }),
    );
  } catch {
    return undefined; // an older shape of the API: DOMPurify then
  }
  const box = document.implementation.createHTMLDocument('').createElement('div') as HTMLDivElement & SetHTML;
  // A browser with an earlier shape of the API would ignore this config and apply its own defaults: the config
  // must be seen to work (off-list element and attributes gone, `img` only with images) before it is trusted.
  // (No `style` attribute in the probe: a page whose CSP forbids inline styles would report it as a violation.)
  const probe = (images: boolean) => {
    box.setHTML('<b>b</b><p id="x" onclick="x" data-x="x">p</p><img src="https://a.invalid/i.png">', {
      sanitizer: sanitizers[+images]!,
    });
    return box.innerHTML;
  };
  try {
    if (probe(false) !== '<p>p</p>' || probe(true) !== '<p>p</p><img src="https://a.invalid/i.png">') return undefined;
  } catch {
    return undefined;
  }
  return (html, allowImages) => {
    box.setHTML(html, { sanitizer: sanitizers[+allowImages]! });
    for (const el of box.querySelectorAll('a, img')) secure(el);
    return box.innerHTML;
  };
}

let sanitize: Sanitize | undefined = nativeSanitizer();
/** Which sanitizer renders replies in this browser (tests and the bench say which path they measured). */
export const sanitizer: 'native' | 'dompurify' = sanitize ? 'native' : 'dompurify';
/** Resolves when rendering is possible: at once with the native sanitizer, once DOMPurify's chunk is loaded
 * otherwise (rejects if it cannot be). Await it before the first render. */
export const ready: Promise<void> = sanitize
  ? Promise.resolve()
  : import('./purify.ts').then((m) => void (sanitize = m.createPurify({ ATTRS, IMAGE_ATTRS, IMAGE_TAGS, SAFE_URL, TAGS, secure })));

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** One configured marked instance; `inLink` lets an image inside a link degrade to text, not a nested link. */
function createMarked(allowImages: boolean): Marked {
  let inLink = 0;
  return new Marked({
    gfm: true,
    async: false,
    tokenizer: {
      // No raw HTML: `<div>` and `<script>` are plain text, escaped like any other text.
      html: () => undefined,
      tag: () => undefined,
    },
    renderer: {
      html: ({ text }) => escapeHtml(text),
      checkbox: ({ checked }) => (checked ? '☑ ' : '☐ '),
      code({ text, lang }) {
        const language = (lang ?? '').match(/^[\w+#.-]{1,32}/)?.[0];
        const cls = language ? ` class="language-${escapeHtml(language)}"` : '';
        const body = escapeHtml(text.replace(/\n$/, '') + '\n');
        return `<div class="code-block" part="code-block"><pre><code${cls}>${body}</code></pre></div>\n`;
      },
      link(token) {
        inLink++;
        try {
          return Renderer.prototype.link.call(this, token);
        } finally {
          inLink--;
        }
      },
      image(token) {
        if (allowImages && absolute(token.href, HTTP_URL)) return Renderer.prototype.image.call(this, token);
        const alt = token.tokens ? this.parser.parseInline(token.tokens, this.parser.textRenderer) : token.text;
        const label = alt.trim() || token.href;
        if (inLink) return escapeHtml(label);
        const text: Tokens.Text = { type: 'text', raw: label, text: label, escaped: false };
        return Renderer.prototype.link.call(this, { ...token, type: 'link', text: label, tokens: [text] });
      },
    },
  });
}

type Links = TokensList['links'];

/** marked + the sanitizer for one image policy. */
class Pipeline {
  readonly #md: Marked;
  readonly #allowImages: boolean;
  /** Characters lexed since creation: a cost probe for tests and the bench. */
  lexedChars = 0;

  constructor(allowImages: boolean) {
    this.#md = createMarked(allowImages);
    this.#allowImages = allowImages;
  }

  /** Lexes with reference definitions known from earlier text pre-filled, as if they were part of `src`. */
  lex(src: string, links: Links): TokensList {
    this.lexedChars += src.length;
    const lexer = new this.#md.Lexer(this.#md.defaults);
    Object.assign(lexer.tokens.links, links);
    return lexer.lex(src);
  }

  html(tokens: Token[]): string {
    // Before `ready` (a caller that did not wait for DOMPurify): the text, escaped, never unsanitized HTML.
    if (!sanitize) return `<p>${escapeHtml(tokens.map((t) => t.raw).join(''))}</p>`;
    return sanitize(this.#md.parser(tokens), this.#allowImages);
  }

  /** Adds the definitions found in `tokens` to `links` (the first definition of a label wins). */
  collectDefs(tokens: Token[], links: Links): void {
    this.#md.walkTokens(tokens, (t) => {
      if (t.type === 'def' && !(t.tag in links)) links[t.tag] = { href: t.href, title: t.title };
    });
  }
}

const pipelines = new Map<boolean, Pipeline>();
function pipeline(allowImages = false): Pipeline {
  let p = pipelines.get(allowImages);
  if (!p) pipelines.set(allowImages, (p = new Pipeline(allowImages)));
  return p;
}

const noLinks = () => Object.create(null) as Links;

/** Renders a whole markdown document to sanitized HTML. */
export function renderMarkdown(src: string, opts: MarkdownOptions = {}): string {
  const p = pipeline(opts.allowImages);
  return p.html(p.lex(src, noLinks()));
}

const BLANK = /^[ \t]*$/;

/**
 * Whether the top-level token starting at `o` begins a block that nothing later can change: it starts a
 * complete line at column 0 that follows a blank line. Whatever precedes it then ended for good (a
 * paragraph, quote, table or indented code ends at the blank line; a list or fence that could go on
 * would have absorbed this line, and then `o` would not be a token start).
 */
function isFinalBoundary(src: string, o: number): boolean {
  if (src[o - 1] !== '\n' || /\s/.test(src[o] ?? ' ') || src.indexOf('\n', o) === -1) return false;
  const prevLineStart = src.lastIndexOf('\n', o - 2) + 1;
  return BLANK.test(src.slice(prevLineStart, o - 1));
}

/** Offset in `orig` of offset `n` in `orig` with CR/CRLF normalised to LF (what marked lexes). */
function originalOffset(orig: string, n: number): number {
  let i = 0;
  for (let k = 0; k < n; k++, i++) if (orig[i] === '\r' && orig[i + 1] === '\n') i++;
  return i;
}

/**
 * Incremental renderer for a reply that grows while it streams. `set(fullTextSoFar)` returns the
 * sanitized HTML of the whole text, always equal to `renderMarkdown(fullTextSoFar)`. Blocks that can
 * no longer change are rendered once and cached, so an update lexes only the unfinished tail (from
 * the last blank line followed by a new top-level block), not the whole reply. A text that does not
 * extend the previous one (an edit) starts over; so does a new reference definition, which may turn
 * an earlier `[x]` into a link (rare in replies).
 */
export class MarkdownStream {
  readonly #p: Pipeline;
  /** Sanitized HTML of the completed blocks, their source (as given) and its reference definitions. */
  #blocks: string[] = [];
  #prefix = '';
  #prefixHtml = '';
  #links = noLinks();
  /** Reference definitions of the whole text the cached blocks were rendered with. */
  #renderedKey = '{}';
  #tailHtml = '';

  constructor(opts: MarkdownOptions = {}) {
    this.#p = pipeline(opts.allowImages);
  }

  /** Characters lexed by this stream's pipeline so far: a cost probe for tests and the bench. */
  get lexedChars(): number {
    return this.#p.lexedChars;
  }

  /** Sanitized HTML per completed block, then the tail: render each with its own `unsafeHTML` so that
   * only the changed ones touch the DOM. Joined, they equal the last `set()` result. */
  segments(): string[] {
    return [...this.#blocks, this.#tailHtml];
  }

  /** Takes the full text so far; returns sanitized HTML for all of it. */
  set(text: string): string {
    if (!text.startsWith(this.#prefix)) this.#reset();
    let rest = text.slice(this.#prefix.length);
    let tokens = this.#p.lex(rest, this.#links);
    if (this.#prefix && JSON.stringify(tokens.links) !== this.#renderedKey) {
      this.#reset();
      rest = text;
      tokens = this.#p.lex(rest, this.#links);
    }
    this.#renderedKey = JSON.stringify(tokens.links);

    // Token raws add up to the lexed text, which has CR/CRLF turned into LF; map offsets back to `rest`.
    const src = rest.includes('\r') ? rest.replace(/\r\n?/g, '\n') : rest;
    const toRest = src === rest ? (n: number) => n : (n: number) => originalOffset(rest, n);
    let from = 0;
    let start = 0;
    let offset = 0;
    tokens.forEach((token, i) => {
      if (i > from && isFinalBoundary(src, offset)) {
        this.#commit(tokens.slice(from, i), rest.slice(toRest(start), toRest(offset)));
        from = i;
        start = offset;
      }
      offset += token.raw.length;
    });
    this.#tailHtml = this.#p.html(tokens.slice(from));
    return this.#prefixHtml + this.#tailHtml;
  }

  #commit(tokens: Token[], source: string): void {
    const html = this.#p.html(tokens);
    this.#blocks.push(html);
    this.#prefix += source;
    this.#prefixHtml += html;
    this.#p.collectDefs(tokens, this.#links);
  }

  #reset(): void {
    this.#blocks = [];
    this.#prefix = '';
    this.#prefixHtml = '';
    this.#links = noLinks();
    this.#renderedKey = '{}';
  }
}
