/**
 * The sources under a reply (`part="sources"`, one `part="source"` each) and the tool activity line, for
 * `<mistral-agent-chat>`. Titles and snippets are text bindings, never HTML. A link is made only from an
 * absolute http(s) URL (the proxy already drops others: this holds even against another server), and opens
 * in a new tab without opener or referrer, as links in replies do.
 */
import { css, html, nothing } from 'lit';
import type { Source } from '../protocol.ts';
import type { Strings } from './strings.ts';

/** The URL, parsed, when it is absolute http(s); else null. */
export function sourceUrl(url: string | undefined): URL | null {
  try {
    const u = new URL(url!);
    return /^https?:$/.test(u.protocol) && /^https?:\/\/[^/]/i.test(url!) ? u : null;
  } catch {
    return null;
  }
}

/** A numbered, labelled list; the number is the position, as the list is in order of first citation. */
export function sourcesView(sources: Source[], s: Strings) {
  // (Kept on few lines: template whitespace ships in the bundle.)
  return html`<div part="sources" class="sources"><span class="sources-title" aria-hidden="true">${s.sources}</span>
<ol aria-label=${s.sources}>${sources.map((src) => {
    const url = sourceUrl(src.url);
    return html`<li part="source" dir="auto">${url
      ? html`<a href=${url.href} target="_blank" rel="noopener noreferrer">${src.title}</a> <span>${url.hostname.replace(/^www\./, '')}</span>`
      : src.title}${src.snippet ? html`<span class="snippet">${src.snippet}</span>` : nothing}</li>`;
  })}</ol></div>`;
}

/** What the typing indicator says while the agent runs a tool. */
export const activityText = (tool: string, s: Strings): string =>
  tool === 'document_library' ? s.searchingDocs : /^web_search/.test(tool) ? s.searchingWeb : s.usingTool;

export const sourcesStyles = css`
  .sources { max-width: 85%; margin: 4px 4px 0; font-size: 0.85em; color: var(--mistral-chat-muted); overflow-wrap: anywhere; }
  .sources-title { font-weight: 600; }
  .sources ol { margin: 2px 0 0; padding-inline-start: 1.6em; }
  .sources a { color: var(--mistral-chat-link); }
  .snippet { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden; }
  .activity { margin-inline-start: 6px; font-size: 12px; }
`;
