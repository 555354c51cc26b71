/**
 * The conversation switcher of a signed-in visitor (`user-token` set): the list under the header
 * (`part="conversations"`, one `part="conversation"` button each, the current one `aria-current`), from
 * `GET /v1/conversations`. Titles are text bindings.
 */
import { css, html, nothing } from 'lit';
import type { ConversationSummary } from '../protocol.ts';
import type { Strings } from './strings.ts';

export function switcherView(
  list: ConversationSummary[] | string | null,
  current: string,
  s: Strings,
  lang: string,
  error: (code: string) => string,
  open: (sessionId: string) => void,
) {
  const when = (d: string) => {
    const t = new Date(d);
    return isNaN(+t) ? '' : t.toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' });
  };
  // (Kept on few lines: template whitespace ships in the bundle.)
  return html`<div id="convs" part="conversations" class="convs" aria-busy=${list === null}>${list === null
    ? nothing
    : typeof list === 'string'
      ? html`<p class="note" role="alert">${error(list)}</p>`
      : list.length
        ? html`<ul aria-label=${s.conversations}>${list.map(
            (c) => html`<li><button part="button conversation" class="conv" dir="auto" aria-current=${c.session_id === current ? 'true' : nothing} @click=${() => open(c.session_id)}>${c.title}<span class="note">${when(c.updated_at)}</span></button></li>`,
          )}</ul>`
        : html`<p class="note">${s.noConversations}</p>`}</div>`;
}

export const switcherStyles = css`
  .convs { max-height: 50%; overflow: auto; padding: 4px var(--mistral-chat-gap); border-bottom: 1px solid var(--mistral-chat-border); }
  .convs ul { margin: 0; padding: 0; list-style: none; }
  .conv { display: block; width: 100%; padding: 6px 8px; border: 0; border-radius: var(--mistral-chat-control-radius); background: none; text-align: start; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .conv:hover, .conv[aria-current] { background: var(--mistral-chat-surface); }
  .conv .note { display: block; }
`;
