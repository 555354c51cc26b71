/**
 * Thumbs up and down under a finished reply (`part="feedback"`), and the small comment field a thumbs-down
 * opens. Pressing the active thumb again clears the rating. The element keeps which comment field is open.
 */
import { css, html, nothing } from 'lit';
import { LIMITS, type FeedbackRating } from '../protocol.ts';
import type { Message } from './chat-state.ts';
import { SEND, THUMB, icon } from './icons.ts';
import type { Strings } from './strings.ts';

/** `open`: the comment field of this reply is shown; `sent`: its comment was stored (a thank-you note). */
export type CommentState = 'open' | 'sent' | '';

export function feedbackView(
  m: Message,
  s: Strings,
  comment: CommentState,
  rate: (rating: FeedbackRating | null) => void,
  send: (text: string) => void,
) {
  const submit = (e: Event) => {
    e.preventDefault();
    send(((e.currentTarget as HTMLFormElement).elements[0] as HTMLTextAreaElement).value.trim());
  };
  const key = (e: KeyboardEvent) => {
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    (e.target as HTMLTextAreaElement).form!.requestSubmit();
  };
  // (Kept on few lines: template whitespace ships in the bundle.)
  const label = (r: FeedbackRating) => (r === 'up' ? s.helpful : s.notHelpful);
  return html`<div part="feedback" class="rate">${(['up', 'down'] as const).map(
    (r) => html`<button part="button feedback-${r}" class="icon ${r}" aria-pressed=${String(m.feedback === r)} aria-label=${label(r)} title=${label(r)} @click=${() => rate(m.feedback === r ? null : r)}>${icon(THUMB)}</button>`,
  )}${comment === 'sent' ? html`<span part="note" class="note" role="status">${s.thanks}</span>` : nothing}</div>${comment === 'open'
    ? html`<form part="feedback-form" class="comment" @submit=${submit}><textarea part="input feedback-comment" class="input" rows="1" maxlength=${LIMITS.feedbackCommentChars} dir="auto" aria-label=${s.comment} placeholder=${s.comment} @keydown=${key}></textarea><button part="button feedback-send" class="icon send" aria-label=${s.send} title=${s.send}>${icon(SEND)}</button></form>`
    : nothing}`;
}

export const feedbackStyles = css`
  .rate { display: flex; align-items: center; gap: 2px; color: var(--mistral-chat-muted); }
  .rate .icon { width: 30px; height: 30px; }
  .rate svg { width: 16px; height: 16px; }
  .down svg { transform: scaleY(-1); }
  .rate [aria-pressed='true'] { color: var(--mistral-chat-accent); }
  .rate [aria-pressed='true'] svg { fill: currentColor; fill-opacity: 0.25; }
  .comment { display: flex; gap: 6px; align-self: stretch; max-width: 85%; }
`;
