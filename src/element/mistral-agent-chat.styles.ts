import { css } from 'lit';

/** The dark palette: for theme="dark", and for theme="auto" when the system prefers dark. */
const dark = css`
  --mistral-chat-accent: #fb923c;
  --mistral-chat-on-accent: #1c1105;
  --mistral-chat-bg: #17181c;
  --mistral-chat-fg: #e8eaed;
  --mistral-chat-muted: #a3abb5;
  --mistral-chat-surface: #26282e;
  --mistral-chat-border: #40444c;
  --mistral-chat-focus: #fdba74;
  --mistral-chat-error-bg: #3d1518;
  --mistral-chat-error-fg: #ffb3ad;
  --mistral-chat-code-bg: #0c0d10;
  --mistral-chat-code-fg: #e8eaed;
  color-scheme: dark;
`;

/**
 * Every custom property is documented (with its default) in the class JSDoc. Notes kept out of the CSS (it ships
 * as written):
 * - One radius drives the others (`--mistral-chat-radius: 0` squares every corner); each can still be set alone.
 * - `.messages:focus-visible`: the ring is a border, not an outline: the rows scrolled under an edge are paint
 *   layers and would cover an outline. The padding shrinks by as much, so focusing moves nothing.
 * - Tables and code take the bubble's whole width, then scroll sideways; code keeps its lines (`white-space: pre`;
 *   the element makes a block that overflows a tab stop).
 * - Scroll hint (no JS): covers of the background colour scroll with the content (`local`) and hide the shadows
 *   fixed at the edges (`scroll`) at either end, so a shadow shows only where more is hidden. Symmetric, so right to
 *   left works alike.
 */
export default css`
  :host {
    all: initial;
    --mistral-chat-accent: #c2410c;
    --mistral-chat-on-accent: #fff;
    --mistral-chat-bg: #fff;
    --mistral-chat-fg: #1f2328;
    --mistral-chat-muted: #57606a;
    --mistral-chat-surface: #f1f2f4;
    --mistral-chat-border: #d0d7de;
    --mistral-chat-user-bg: var(--mistral-chat-accent);
    --mistral-chat-user-fg: var(--mistral-chat-on-accent);
    --mistral-chat-assistant-bg: var(--mistral-chat-surface);
    --mistral-chat-assistant-fg: var(--mistral-chat-fg);
    --mistral-chat-link: var(--mistral-chat-accent);
    --mistral-chat-focus: var(--mistral-chat-accent);
    --mistral-chat-error-bg: #fdecea;
    --mistral-chat-error-fg: #a40e26;
    --mistral-chat-code-bg: #1f2328;
    --mistral-chat-code-fg: #f0f3f6;
    --mistral-chat-font: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --mistral-chat-font-mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    --mistral-chat-font-size: 15px;
    --mistral-chat-line-height: 1.5;
    --mistral-chat-quote-fg: var(--mistral-chat-muted);
    --mistral-chat-quote-border: var(--mistral-chat-border);
    --mistral-chat-scroll-shadow: color-mix(in srgb, currentColor 30%, transparent);
    --mistral-chat-radius: 16px;
    --mistral-chat-bubble-radius: calc(var(--mistral-chat-radius) * 0.875);
    --mistral-chat-control-radius: calc(var(--mistral-chat-radius) * 0.625);
    --mistral-chat-code-radius: calc(var(--mistral-chat-radius) * 0.5);
    --mistral-chat-starter-radius: calc(var(--mistral-chat-radius) * 2);
    --mistral-chat-width: 380px;
    --mistral-chat-height: 600px;
    --mistral-chat-launcher-size: 56px;
    --mistral-chat-offset: 20px;
    --mistral-chat-gap: 12px;
    --mistral-chat-shadow: 0 12px 40px rgb(0 0 0 / 0.2);
    --mistral-chat-launcher-shadow: 0 4px 14px rgb(0 0 0 / 0.25);
    --mistral-chat-z-index: 2147483000;
    --mistral-chat-badge-bg: #b91c1c;
    --mistral-chat-badge-fg: #fff;

    /* A page rule that targets this element beats any :host rule, even at zero specificity (a reset
       such as '*:where(…) { all: unset }'); an !important :host rule beats every page rule. So the
       launcher's place is !important (move it with --mistral-chat-offset and --mistral-chat-z-index), and
       the text settings are repeated on .panel, where page CSS cannot reach. */
    position: fixed !important;
    z-index: var(--mistral-chat-z-index) !important;
    bottom: calc(var(--mistral-chat-offset) + env(safe-area-inset-bottom, 0px)) !important;
    right: calc(var(--mistral-chat-offset) + env(safe-area-inset-right, 0px)) !important;
    font: var(--mistral-chat-font-size) / var(--mistral-chat-line-height) var(--mistral-chat-font);
    color: var(--mistral-chat-fg);
    color-scheme: light;
  }
  :host([theme='dark']) {
    ${dark}
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme='light'], [theme='dark'])) {
      ${dark}
    }
  }
  :host([position='bottom-left']) {
    right: auto !important;
    left: calc(var(--mistral-chat-offset) + env(safe-area-inset-left, 0px)) !important;
  }
  :host([mode='inline']) {
    position: relative !important;
    display: block;
    inset: auto !important;
    z-index: auto !important;
    height: 100%;
    min-height: 320px;
  }
  :host([hidden]),
  [hidden] {
    display: none !important;
  }
  *,
  ::before,
  ::after {
    box-sizing: border-box;
  }
  button,
  textarea {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
  }
  :focus-visible {
    outline: 2px solid var(--mistral-chat-focus);
    outline-offset: 2px;
  }
  svg {
    width: 20px;
    height: 20px;
    fill: none;
    stroke: currentColor;
    stroke-width: 2;
    stroke-linecap: round;
    stroke-linejoin: round;
  }
  .launcher {
    display: grid;
    place-items: center;
    width: var(--mistral-chat-launcher-size);
    height: var(--mistral-chat-launcher-size);
    border: 0;
    border-radius: 50%;
    background: var(--mistral-chat-accent);
    color: var(--mistral-chat-on-accent);
    box-shadow: var(--mistral-chat-launcher-shadow);
  }
  .launcher svg {
    width: 26px;
    height: 26px;
  }
  /* Over the launcher's corner but outside the button (its name says the count), not in the way of a click. */
  .badge {
    pointer-events: none;
    position: absolute;
    top: -4px;
    inset-inline-end: -4px;
    min-width: 20px;
    padding: 0 5px;
    border-radius: 10px;
    background: var(--mistral-chat-badge-bg);
    color: var(--mistral-chat-badge-fg);
    font-size: 12px;
    font-weight: 600;
    line-height: 20px;
  }
  .panel {
    position: absolute;
    bottom: calc(var(--mistral-chat-launcher-size) + var(--mistral-chat-gap));
    right: 0;
    display: flex;
    flex-direction: column;
    width: var(--mistral-chat-width);
    height: var(--mistral-chat-height);
    max-width: calc(100vw - 2 * var(--mistral-chat-offset));
    max-height: calc(100dvh - var(--mistral-chat-launcher-size) - 3 * var(--mistral-chat-offset));
    overflow: hidden;
    background: var(--mistral-chat-bg);
    border: 1px solid var(--mistral-chat-border);
    border-radius: var(--mistral-chat-radius);
    box-shadow: var(--mistral-chat-shadow);
    /* The inherited text settings, again (see :host). */
    font: var(--mistral-chat-font-size) / var(--mistral-chat-line-height) var(--mistral-chat-font);
    color: var(--mistral-chat-fg);
    letter-spacing: normal;
    word-spacing: normal;
    text-transform: none;
    text-indent: 0;
    text-shadow: none;
    text-align: start;
    white-space: normal;
    cursor: auto;
  }
  :host([position='bottom-left']) .panel {
    right: auto;
    left: 0;
  }
  :host([mode='inline']) .panel {
    position: static;
    width: 100%;
    height: 100%;
    max-width: none;
    max-height: none;
    box-shadow: none;
  }
  @media (max-width: 479.98px) {
    :host(:not([mode='inline'])) .panel {
      position: fixed;
      inset: 0;
      width: auto;
      height: auto;
      max-width: none;
      max-height: none;
      border: 0;
      border-radius: 0;
      padding: env(safe-area-inset-top, 0) env(safe-area-inset-right, 0) env(safe-area-inset-bottom, 0)
        env(safe-area-inset-left, 0);
    }
  }
  .header {
    display: flex;
    align-items: center;
    gap: 4px;
    padding: calc(var(--mistral-chat-gap) / 2) var(--mistral-chat-gap);
    border-bottom: 1px solid var(--mistral-chat-border);
  }
  .heading {
    flex: 1;
    margin: 0;
    font-size: 1.07em;
    font-weight: 600;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .icon {
    display: grid;
    place-items: center;
    width: 36px;
    height: 36px;
    padding: 0;
    border: 0;
    border-radius: var(--mistral-chat-control-radius);
    background: none;
  }
  .icon:hover {
    background: var(--mistral-chat-surface);
  }
  .messages:focus-visible {
    outline: 0;
    border: 2px solid var(--mistral-chat-focus);
    padding: calc(var(--mistral-chat-gap) - 2px);
  }
  .messages {
    flex: 1;
    display: flex;
    flex-direction: column;
    gap: 8px;
    padding: var(--mistral-chat-gap);
    overflow-y: auto;
    overscroll-behavior: contain;
  }
  .message {
    display: flex;
    flex-direction: column;
    align-items: flex-start;
  }
  /* A paint layer per message and per reply block: a streamed chunk repaints its block only. */
  .message,
  .markdown > * {
    position: relative;
  }
  .user {
    align-items: flex-end;
  }
  .bubble {
    max-width: 85%;
    padding: 8px 12px;
    border-radius: var(--mistral-chat-bubble-radius);
    background: var(--mistral-chat-assistant-bg);
    color: var(--mistral-chat-assistant-fg);
    overflow-wrap: anywhere;
  }
  .user .bubble {
    background: var(--mistral-chat-user-bg);
    color: var(--mistral-chat-user-fg);
  }
  .text {
    white-space: pre-wrap;
  }
  .markdown > :first-child {
    margin-top: 0;
  }
  .markdown > :last-child {
    margin-bottom: 0;
  }
  .markdown :is(p, ul, ol, pre, blockquote, table, h1, h2, h3, h4) {
    margin: 0.5em 0;
  }
  .markdown :is(h1, h2, h3, h4) {
    font-size: 1em;
  }
  .markdown :is(ul, ol) {
    padding-inline-start: 1.4em;
  }
  .markdown a {
    color: var(--mistral-chat-link);
  }
  .markdown img {
    max-width: 100%;
  }
  .markdown blockquote {
    padding-inline-start: 0.75em;
    border-inline-start: 3px solid var(--mistral-chat-quote-border);
    color: var(--mistral-chat-quote-fg);
  }
  .bubble:has(table, pre) {
    max-width: 100%;
  }
  .markdown :is(table, pre) {
    overflow-x: auto;
    --_bg: var(--mistral-chat-assistant-bg);
    background-color: var(--_bg);
    background-image: linear-gradient(to right, var(--_bg) 40%, transparent), linear-gradient(to left, var(--_bg) 40%, transparent),
      radial-gradient(farthest-side at 0 50%, var(--mistral-chat-scroll-shadow), transparent),
      radial-gradient(farthest-side at 100% 50%, var(--mistral-chat-scroll-shadow), transparent);
    background-position: 0 0, 100% 0, 0 0, 100% 0;
    background-size: 2em 100%, 2em 100%, 0.75em 100%, 0.75em 100%;
    background-repeat: no-repeat;
    background-attachment: local, local, scroll, scroll;
  }
  .markdown table {
    display: block;
    border-collapse: collapse;
    font-size: 0.9em;
  }
  .markdown :is(td, th) {
    padding: 2px 5px;
    border: 1px solid var(--mistral-chat-border);
    /* Whole words ('anywhere' cut "Plan" into "Pl/an"); a table wider than the bubble scrolls. */
    overflow-wrap: break-word;
    hyphens: auto;
  }
  .markdown code {
    font-family: var(--mistral-chat-font-mono);
    font-size: 0.9em;
  }
  .code-block {
    position: relative;
  }
  .markdown .code-block pre {
    padding-top: 30px;
  }
  .markdown pre {
    --_bg: var(--mistral-chat-code-bg);
    direction: ltr;
    text-align: left;
    padding: 10px;
    white-space: pre;
    overflow-wrap: normal;
    border-radius: var(--mistral-chat-code-radius);
    color: var(--mistral-chat-code-fg);
  }
  .copy {
    position: absolute;
    top: 4px;
    inset-inline-end: 4px;
    padding: 0 8px;
    font-size: 12px;
    border: 1px solid var(--mistral-chat-code-fg);
    border-radius: calc(var(--mistral-chat-code-radius) * 0.75);
    background: var(--mistral-chat-code-bg);
    color: var(--mistral-chat-code-fg);
  }
  .note {
    font-size: 12px;
    color: var(--mistral-chat-muted);
  }
  .typing {
    display: flex;
    gap: 4px;
    padding: 14px 12px;
  }
  .dot {
    width: 7px;
    height: 7px;
    border-radius: 50%;
    background: var(--mistral-chat-muted);
  }
  .error,
  .notice {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 8px;
    margin: 0;
    padding: 8px 12px;
    border-radius: var(--mistral-chat-control-radius);
    background: var(--mistral-chat-error-bg);
    color: var(--mistral-chat-error-fg);
  }
  .retry {
    padding: 2px 12px;
    border: 1px solid currentColor;
    border-radius: var(--mistral-chat-control-radius);
    background: none;
  }
  .starters {
    display: flex;
    flex-wrap: wrap;
    gap: 6px;
    margin: 0;
    padding: 0 var(--mistral-chat-gap) var(--mistral-chat-gap);
    list-style: none;
  }
  .starter {
    padding: 6px 12px;
    border: 1px solid var(--mistral-chat-border);
    border-radius: var(--mistral-chat-starter-radius);
    background: var(--mistral-chat-bg);
    text-align: start;
  }
  .composer {
    display: flex;
    flex-wrap: wrap;
    align-items: flex-end;
    gap: 8px;
    padding: var(--mistral-chat-gap);
    border-top: 1px solid var(--mistral-chat-border);
  }
  .input {
    flex: 1;
    min-width: 0;
    max-height: 9em;
    padding: 8px 10px;
    resize: none;
    field-sizing: content;
    line-height: inherit;
    border: 1px solid var(--mistral-chat-border);
    border-radius: var(--mistral-chat-control-radius);
    background: var(--mistral-chat-bg);
  }
  .input::placeholder {
    color: var(--mistral-chat-muted);
  }
  .send {
    width: 40px;
    height: 40px;
    background: var(--mistral-chat-accent);
    color: var(--mistral-chat-on-accent);
  }
  .send:hover {
    background: var(--mistral-chat-accent);
  }
  .send:disabled {
    opacity: 0.45;
    cursor: default;
  }
  [dir='rtl'] .send svg {
    transform: scaleX(-1);
  }
  .counter {
    order: -1;
    flex-basis: 100%;
    font-size: 12px;
    text-align: end;
    color: var(--mistral-chat-muted);
  }
  .counter.over {
    color: var(--mistral-chat-error-fg);
  }
  .footer {
    margin: 0;
    padding: 0 var(--mistral-chat-gap) 8px;
    font-size: 12px;
    text-align: center;
    color: var(--mistral-chat-muted);
  }
  .sr {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  @media (max-width: 479.98px), (pointer: coarse) {
    .input {
      font-size: max(16px, 1em);
    }
  }
  @media (prefers-reduced-motion: no-preference) {
    :host(:not([mode='inline'])) .panel {
      animation: pop 0.18s ease-out;
    }
    .dot {
      animation: blink 1.2s infinite;
    }
    .dot:nth-child(2) {
      animation-delay: 0.2s;
    }
    .dot:nth-child(3) {
      animation-delay: 0.4s;
    }
  }
  @keyframes pop {
    from {
      opacity: 0;
      transform: translateY(8px);
    }
  }
  @keyframes blink {
    50% {
      opacity: 0.3;
    }
  }
`;
