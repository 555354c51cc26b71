/**
 * The sources a reply cites, as the widget protocol carries them: `{id, title, url?, snippet?}`. Pure and
 * runtime-neutral. Whatever a model or a document says, a source that leaves here is plain, bounded text
 * and, when it has a URL, an absolute http(s) one; each URL (or each title, for a document without a URL)
 * is listed once per reply, numbered "1", "2", … in order of first citation.
 */
import type { Source } from '../../protocol.ts';

/** Bounds the proxy keeps to (migration 00007 enforces looser ones, so a valid list is never refused). */
export const SOURCE_LIMITS = {
  perReply: 50,
  titleChars: 300,
  snippetChars: 500,
  urlChars: 2048,
} as const;

/** What a citation says before it is checked (a Conversations `tool_reference` chunk, a docs section …). */
export interface RawReference {
  title?: unknown;
  url?: unknown;
  /** Becomes the snippet. */
  description?: unknown;
}

/** The URL, normalised, when it is an absolute http(s) URL with a host; otherwise undefined. */
export function absoluteHttpUrl(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const value = raw.trim();
  if (!/^https?:\/\//i.test(value)) return undefined; // no `//host`, `javascript:`, `data:`, relative paths
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return undefined;
  return url.href.length <= SOURCE_LIMITS.urlChars ? url.href : undefined;
}

// C0/C1 controls and line breaks become spaces; lone surrogates (which PostgreSQL's jsonb refuses) become U+FFFD.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** One line of plain text, at most `max` UTF-16 units (an ellipsis marks a cut, never inside a pair). */
export function plainText(raw: unknown, max: number): string {
  if (typeof raw !== 'string') return '';
  let text = raw.replace(LONE_SURROGATE, '\ufffd').replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
  if (text.length > max) {
    let end = max - 1;
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--;
    text = `${text.slice(0, end).trimEnd()}…`;
  }
  return text;
}

/** Collects one reply's sources: `add` answers the new source, or null for a duplicate or an unusable one. */
export class SourceList {
  readonly #keys = new Set<string>();
  readonly sources: Source[] = [];

  add(ref: RawReference): Source | null {
    if (this.sources.length >= SOURCE_LIMITS.perReply) return null;
    const url = absoluteHttpUrl(ref.url);
    let title = plainText(ref.title, SOURCE_LIMITS.titleChars);
    if (!title && url) title = plainText(url.replace(/^https?:\/\/(www\.)?/i, ''), SOURCE_LIMITS.titleChars);
    if (!title) return null;
    const key = url ? `url ${url}` : `title ${title}`;
    if (this.#keys.has(key)) return null;
    this.#keys.add(key);
    const source: Source = { id: String(this.sources.length + 1), title };
    if (url) source.url = url;
    const snippet = plainText(ref.description, SOURCE_LIMITS.snippetChars);
    if (snippet) source.snippet = snippet;
    this.sources.push(source);
    return source;
  }
}
