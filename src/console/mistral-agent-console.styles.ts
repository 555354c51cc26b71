import { css } from 'lit';

/** The dark palette: for theme="dark", and for theme="auto" when the system prefers dark. */
const dark = css`
  --mistral-console-accent: #fb923c;
  --mistral-console-on-accent: #1c1105;
  --mistral-console-bg: #17181c;
  --mistral-console-fg: #e8eaed;
  --mistral-console-muted: #a3abb5;
  --mistral-console-surface: #202227;
  --mistral-console-border: #40444c;
  --mistral-console-focus: #fdba74;
  --mistral-console-danger: #f97066;
  --mistral-console-on-danger: #1c0504;
  --mistral-console-error-bg: #3d1518;
  --mistral-console-error-fg: #ffb3ad;
  --mistral-console-warning-bg: #3a2c05;
  --mistral-console-warning-fg: #ffd978;
  --mistral-console-chart-1: #fb923c;
  --mistral-console-chart-2: #93c5fd;
  --mistral-console-chart-grid: #40444c;
  color-scheme: dark;
`;

/** Every custom property is documented (with its default) in the class JSDoc. */
export default css`
  :host {
    --mistral-console-accent: #c2410c;
    --mistral-console-on-accent: #fff;
    --mistral-console-bg: #fff;
    --mistral-console-fg: #1f2328;
    --mistral-console-muted: #57606a;
    --mistral-console-surface: #f6f7f9;
    --mistral-console-border: #d0d7de;
    --mistral-console-focus: #c2410c;
    --mistral-console-danger: #b42318;
    --mistral-console-on-danger: #fff;
    --mistral-console-error-bg: #fdecea;
    --mistral-console-error-fg: #a40e26;
    --mistral-console-warning-bg: #fff4d6;
    --mistral-console-warning-fg: #6b4500;
    --mistral-console-chart-1: #c2410c;
    --mistral-console-chart-2: #1d4ed8;
    --mistral-console-chart-grid: #d0d7de;
    --mistral-console-font: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --mistral-console-font-mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    --mistral-console-font-size: 15px;
    --mistral-console-radius: 10px;
    --mistral-console-control-radius: 8px;
    --mistral-console-gap: 16px;
    --mistral-console-nav-width: 240px;
    --mistral-console-preview-height: 520px;
    display: block;
    color-scheme: light;
    font: var(--mistral-console-font-size) / 1.5 var(--mistral-console-font);
    color: var(--mistral-console-fg);
    background: var(--mistral-console-bg);
    min-height: 100%;
  }
  :host([theme='dark']) {
    ${dark}
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme='light'], [theme='dark'])) {
      ${dark}
    }
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
  .console {
    min-height: inherit;
    color: var(--mistral-console-fg);
    background: var(--mistral-console-bg);
  }
  h1,
  h2,
  h3,
  h4 {
    line-height: 1.25;
    margin: 0 0 calc(var(--mistral-console-gap) * 0.75);
  }
  h1 {
    font-size: 1.6em;
  }
  h2 {
    font-size: 1.25em;
  }
  h3 {
    font-size: 1.05em;
  }
  h4 {
    font-size: 1em;
  }
  p {
    margin: 0 0 calc(var(--mistral-console-gap) * 0.75);
  }
  .sr {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  [tabindex='-1']:focus {
    outline: none;
  }
  :focus-visible {
    outline: 2px solid var(--mistral-console-focus);
    outline-offset: 2px;
  }
  a {
    color: inherit;
    text-decoration-color: var(--mistral-console-accent);
    text-underline-offset: 2px;
  }
  code,
  pre,
  .mono {
    font-family: var(--mistral-console-font-mono);
    font-size: 0.9em;
  }

  /* Controls */
  button,
  input,
  select,
  textarea {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
    min-height: 40px;
    padding: 6px 14px;
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-control-radius);
    background: var(--mistral-console-bg);
  }
  button:hover:not(:disabled) {
    background: var(--mistral-console-surface);
  }
  button:disabled {
    cursor: default;
    opacity: 0.7;
  }
  button.primary {
    border-color: var(--mistral-console-accent);
    background: var(--mistral-console-accent);
    color: var(--mistral-console-on-accent);
    font-weight: 600;
  }
  button.primary:hover:not(:disabled) {
    background: var(--mistral-console-accent);
    filter: brightness(1.08);
  }
  button.danger {
    border-color: var(--mistral-console-danger);
    background: var(--mistral-console-danger);
    color: var(--mistral-console-on-danger);
    font-weight: 600;
  }
  button.danger:hover:not(:disabled) {
    background: var(--mistral-console-danger);
    filter: brightness(1.08);
  }
  button.link {
    min-height: 0;
    padding: 0;
    border: 0;
    background: none;
    text-align: start;
    text-decoration: underline;
    text-decoration-color: var(--mistral-console-accent);
    text-underline-offset: 2px;
    font-weight: 600;
  }
  button.link:hover:not(:disabled) {
    background: none;
  }
  input:not([type='checkbox'], [type='radio'], [type='range'], [type='color']),
  select,
  textarea {
    width: 100%;
    min-height: 40px;
    padding: 8px 10px;
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-control-radius);
    background: var(--mistral-console-bg);
  }
  textarea {
    resize: vertical;
    line-height: 1.45;
  }
  input[type='checkbox'],
  input[type='radio'] {
    width: 18px;
    height: 18px;
    margin: 0;
    accent-color: var(--mistral-console-accent);
  }
  input[type='range'] {
    accent-color: var(--mistral-console-accent);
    flex: 1;
  }
  input[type='color'] {
    width: 48px;
    height: 36px;
    padding: 2px;
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-control-radius);
    background: var(--mistral-console-bg);
  }
  [aria-invalid='true'] {
    border-color: var(--mistral-console-error-fg) !important;
    box-shadow: 0 0 0 1px var(--mistral-console-error-fg);
  }
  fieldset {
    margin: 0 0 var(--mistral-console-gap);
    padding: var(--mistral-console-gap);
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-radius);
    min-width: 0;
  }
  legend {
    padding: 0 6px;
    font-weight: 600;
  }
  .field {
    margin-bottom: calc(var(--mistral-console-gap) * 0.75);
    min-width: 0;
  }
  .field > label,
  .field > legend {
    display: block;
    margin-bottom: 4px;
    font-weight: 600;
  }
  .field.check {
    display: grid;
    grid-template-columns: auto 1fr;
    column-gap: 10px;
    align-items: center;
  }
  .field.check > label {
    margin: 0;
  }
  .field.check > :not(input, label) {
    grid-column: 2;
  }
  .hint {
    margin: 4px 0 0;
    color: var(--mistral-console-muted);
    font-size: 0.9em;
  }
  .field-error {
    margin: 4px 0 0;
    color: var(--mistral-console-error-fg);
    font-weight: 600;
    font-size: 0.9em;
  }
  .alert,
  .warning,
  .notice {
    padding: 10px 12px;
    border-radius: var(--mistral-console-control-radius);
  }
  .alert {
    background: var(--mistral-console-error-bg);
    color: var(--mistral-console-error-fg);
  }
  .warning {
    margin: 6px 0 0;
    background: var(--mistral-console-warning-bg);
    color: var(--mistral-console-warning-fg);
  }
  .notice {
    background: var(--mistral-console-surface);
    border: 1px solid var(--mistral-console-border);
  }
  .loading,
  .empty {
    color: var(--mistral-console-muted);
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
    margin-top: var(--mistral-console-gap);
  }
  .grid3 {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(180px, 1fr));
    column-gap: var(--mistral-console-gap);
  }

  /* Shell */
  .header {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 8px var(--mistral-console-gap);
    padding: 10px var(--mistral-console-gap);
    border-bottom: 1px solid var(--mistral-console-border);
  }
  .brand {
    margin: 0;
    font-weight: 700;
    font-size: 1.1em;
  }
  .who {
    margin: 0 0 0 auto;
    color: var(--mistral-console-muted);
    overflow-wrap: anywhere;
  }
  .layout {
    display: grid;
    grid-template-columns: var(--mistral-console-nav-width) minmax(0, 1fr);
    min-height: calc(100vh - 62px);
  }
  .nav {
    padding: var(--mistral-console-gap);
    background: var(--mistral-console-surface);
    border-inline-end: 1px solid var(--mistral-console-border);
  }
  .nav-title {
    font-size: 0.85em;
    text-transform: uppercase;
    letter-spacing: 0.05em;
    color: var(--mistral-console-muted);
  }
  .nav ul {
    list-style: none;
    margin: 0 0 var(--mistral-console-gap);
    padding: 0;
    display: grid;
    gap: 2px;
  }
  .nav-item {
    width: 100%;
    display: flex;
    align-items: center;
    gap: 8px;
    text-align: start;
    border-color: transparent;
    background: transparent;
  }
  .nav-item[aria-current='page'] {
    border-color: var(--mistral-console-accent);
    background: var(--mistral-console-bg);
    font-weight: 600;
    box-shadow: inset 3px 0 0 var(--mistral-console-accent);
  }
  .nav-name {
    flex: 1;
    overflow-wrap: anywhere;
  }
  .new-agent {
    width: 100%;
  }
  .main {
    padding: calc(var(--mistral-console-gap) * 1.5);
    min-width: 0;
  }
  .title-row {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 12px;
  }
  .title-row h1 {
    overflow-wrap: anywhere;
  }
  .badge {
    display: inline-block;
    padding: 1px 8px;
    border: 1px solid var(--mistral-console-border);
    border-radius: 999px;
    font-size: 0.8em;
    font-weight: 600;
    color: var(--mistral-console-muted);
  }
  .badge.on {
    border-color: var(--mistral-console-accent);
    color: var(--mistral-console-fg);
  }
  .tabs {
    display: flex;
    gap: 4px;
    overflow-x: auto;
    border-bottom: 1px solid var(--mistral-console-border);
    margin-bottom: var(--mistral-console-gap);
  }
  [role='tab'] {
    flex: none;
    border: 0;
    border-bottom: 3px solid transparent;
    border-radius: var(--mistral-console-control-radius) var(--mistral-console-control-radius) 0 0;
    background: transparent;
  }
  [role='tab'][aria-selected='true'] {
    border-bottom-color: var(--mistral-console-accent);
    font-weight: 600;
  }
  .card {
    padding: var(--mistral-console-gap);
    margin-bottom: var(--mistral-console-gap);
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-radius);
    background: var(--mistral-console-bg);
    min-width: 0;
  }
  .danger-zone {
    border-color: var(--mistral-console-danger);
  }
  .settings {
    display: grid;
    grid-template-columns: minmax(0, 1fr) minmax(240px, 320px);
    gap: calc(var(--mistral-console-gap) * 1.5);
    align-items: start;
  }
  .key {
    display: block;
    padding: 8px 10px;
    border-radius: var(--mistral-console-control-radius);
    background: var(--mistral-console-surface);
    overflow-wrap: anywhere;
  }
  .state {
    font-weight: 600;
  }

  /* Embed */
  .snippet {
    display: grid;
    gap: 8px;
    justify-items: start;
    margin-bottom: 12px;
  }
  .snippet pre {
    width: 100%;
    margin: 0;
    padding: 12px;
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-control-radius);
    background: var(--mistral-console-surface);
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  .theme-preview {
    display: grid;
    grid-template-columns: minmax(0, 5fr) minmax(0, 7fr);
    gap: var(--mistral-console-gap);
    align-items: start;
  }
  .color,
  .range {
    display: flex;
    align-items: center;
    gap: 10px;
  }
  .scheme {
    border: 0;
    padding: 0;
  }
  .scheme legend {
    padding: 0;
    margin-bottom: 4px;
  }
  .field > label.radio {
    display: flex;
    align-items: center;
    gap: 8px;
    min-height: 32px;
    margin: 0;
    font-weight: 400;
  }
  .preview-box {
    height: var(--mistral-console-preview-height);
  }

  /* Conversations */
  .search {
    margin-bottom: var(--mistral-console-gap);
  }
  .search label {
    display: block;
    margin-bottom: 4px;
    font-weight: 600;
  }
  .search-row {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
  }
  .search-row input {
    flex: 1 1 200px;
    width: auto;
  }
  .conversations {
    list-style: none;
    margin: 0 0 var(--mistral-console-gap);
    padding: 0;
    display: grid;
    gap: 8px;
  }
  .row {
    width: 100%;
    display: grid;
    gap: 4px;
    padding: 10px 12px;
    text-align: start;
  }
  .row-top {
    display: flex;
    flex-wrap: wrap;
    justify-content: space-between;
    gap: 4px 12px;
    font-weight: 600;
  }
  .row time,
  .row .count,
  .msg-head time,
  .msg-meta {
    color: var(--mistral-console-muted);
    font-weight: 400;
    font-size: 0.9em;
  }
  .last {
    overflow-wrap: anywhere;
  }
  .back {
    margin-bottom: var(--mistral-console-gap);
  }
  .meta {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(180px, 1fr));
    gap: 8px var(--mistral-console-gap);
    margin: 0 0 var(--mistral-console-gap);
  }
  .meta dt,
  .figure dt {
    color: var(--mistral-console-muted);
    font-size: 0.9em;
  }
  .meta dd,
  .figure dd {
    margin: 0;
    overflow-wrap: anywhere;
  }
  .transcript-messages {
    list-style: none;
    margin: var(--mistral-console-gap) 0 0;
    padding: 0;
    display: grid;
    gap: 12px;
  }
  .msg {
    padding: 12px;
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-radius);
    min-width: 0;
  }
  .msg-user {
    background: var(--mistral-console-surface);
  }
  .msg-head {
    display: flex;
    flex-wrap: wrap;
    gap: 4px 12px;
    margin-bottom: 6px;
  }
  .text {
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  .markdown {
    overflow-wrap: anywhere;
  }
  .markdown > :first-child {
    margin-top: 0;
  }
  .markdown > :last-child {
    margin-bottom: 0;
  }
  .markdown pre {
    margin: 8px 0;
    padding: 10px 12px;
    border-radius: var(--mistral-console-control-radius);
    background: var(--mistral-console-surface);
    border: 1px solid var(--mistral-console-border);
    white-space: pre-wrap;
  }
  .markdown table {
    border-collapse: collapse;
    display: block;
    overflow-x: auto;
  }
  .markdown th,
  .markdown td {
    border: 1px solid var(--mistral-console-border);
    padding: 4px 8px;
  }
  .markdown blockquote {
    margin: 8px 0;
    padding-inline-start: 12px;
    border-inline-start: 3px solid var(--mistral-console-border);
  }
  .sources {
    margin-top: 8px;
    font-size: 0.9em;
  }
  .sources-title {
    margin: 0 0 4px;
    font-weight: 600;
  }
  .sources ul {
    margin: 0;
    padding-inline-start: 20px;
  }
  .snippet-text {
    display: block;
    color: var(--mistral-console-muted);
  }
  .msg-meta,
  .feedback {
    margin: 6px 0 0;
  }
  .feedback {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 4px 8px;
  }
  .feedback svg {
    width: 16px;
    height: 16px;
    fill: none;
    stroke: currentColor;
    stroke-width: 2;
    stroke-linecap: round;
    stroke-linejoin: round;
  }
  .feedback .comment {
    flex-basis: 100%;
  }

  /* Statistics */
  .figures {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
    gap: 8px;
    margin: 0 0 var(--mistral-console-gap);
  }
  .figure {
    padding: 10px 12px;
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-radius);
  }
  .figure dd {
    font-size: 1.2em;
    font-weight: 600;
  }
  .period {
    max-width: 260px;
  }
  .charts {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr));
    gap: var(--mistral-console-gap);
  }
  .chart-figure {
    margin: 0;
    padding: 12px;
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-radius);
    min-width: 0;
  }
  .chart-figure figcaption {
    font-weight: 600;
    margin-bottom: 8px;
  }
  .chart {
    min-height: 180px;
    overflow: hidden;
  }
  .chart .uplot {
    font-family: var(--mistral-console-font);
  }
  .chart .u-legend {
    color: var(--mistral-console-fg);
    font-size: 0.85em;
  }
  .chart-summary {
    margin: 8px 0 0;
    color: var(--mistral-console-muted);
    font-size: 0.9em;
  }
  .data {
    margin-top: var(--mistral-console-gap);
  }
  .data summary {
    cursor: pointer;
    min-height: 32px;
    font-weight: 600;
  }
  .table-scroll {
    overflow-x: auto;
    max-width: 100%;
  }
  table {
    border-collapse: collapse;
    font-variant-numeric: tabular-nums;
  }
  caption {
    text-align: start;
    font-weight: 600;
    padding: 6px 0;
  }
  th,
  td {
    padding: 6px 10px;
    border-bottom: 1px solid var(--mistral-console-border);
    text-align: end;
    white-space: nowrap;
  }
  thead th {
    white-space: normal;
    vertical-align: bottom;
  }
  th[scope='row'],
  thead th:first-child {
    text-align: start;
  }

  /* Sign-in */
  .sign-in {
    max-width: 420px;
    margin: 0 auto;
    padding: calc(var(--mistral-console-gap) * 3) var(--mistral-console-gap);
  }
  .sign-in .primary {
    width: 100%;
  }

  /* Dialogs and status */
  dialog {
    width: min(480px, calc(100vw - 32px));
    padding: calc(var(--mistral-console-gap) * 1.25);
    border: 1px solid var(--mistral-console-border);
    border-radius: var(--mistral-console-radius);
    color: var(--mistral-console-fg);
    background: var(--mistral-console-bg);
    box-shadow: 0 12px 40px rgb(0 0 0 / 0.3);
  }
  dialog::backdrop {
    background: rgb(0 0 0 / 0.45);
  }
  dialog label {
    display: block;
    font-weight: 600;
    margin-bottom: 4px;
  }
  .status {
    position: fixed;
    inset-block-end: 16px;
    inset-inline-start: 50%;
    transform: translateX(-50%);
    max-width: calc(100vw - 32px);
    padding: 10px 16px;
    border-radius: var(--mistral-console-control-radius);
    background: var(--mistral-console-fg);
    color: var(--mistral-console-bg);
    box-shadow: 0 6px 20px rgb(0 0 0 / 0.25);
    z-index: 10;
  }
  .status:not(.shown) {
    /* kept in the accessibility tree (an empty live region), out of sight */
    clip-path: inset(50%);
    width: 1px;
    height: 1px;
    padding: 0;
    overflow: hidden;
  }

  /* Narrow screens (a phone is 360–430 px wide) */
  @media (max-width: 760px) {
    .layout {
      grid-template-columns: minmax(0, 1fr);
      min-height: 0;
    }
    .nav {
      border-inline-end: 0;
      border-bottom: 1px solid var(--mistral-console-border);
    }
    .nav ul {
      display: flex;
      flex-wrap: wrap;
      gap: 6px;
    }
    .nav-item {
      width: auto;
      border-color: var(--mistral-console-border);
    }
    .nav-item[aria-current='page'] {
      box-shadow: none;
    }
    .tabs {
      flex-wrap: wrap;
    }
    [role='tab'] {
      padding-inline: 10px;
    }
    .main {
      padding: var(--mistral-console-gap);
    }
    .settings,
    .theme-preview {
      grid-template-columns: minmax(0, 1fr);
    }
    .who {
      margin-left: 0;
      flex-basis: 100%;
      order: 3;
    }
    .sign-out {
      margin-left: auto;
    }
    fieldset {
      padding: 12px;
    }
  }
`;
