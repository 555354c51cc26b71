/**
 * The stub launcher the script-tag loader (src/widget.ts) draws in a bubble-mode `<mistral-agent-chat>`
 * before the element is loaded: the same button, part, label, icon, custom properties and place as the
 * real launcher, in an open shadow root that the element clears and reuses when it upgrades.
 */
import { openChatLabel, resolveLang } from './launcher-label.ts';

/** Set on the host by a click on the stub: the upgraded element then opens its panel. */
export const STUB_OPEN = 'data-mac-open';

/**
 * The launcher's rules and defaults from mistral-agent-chat.styles.ts, and only those (the stub must stay
 * tiny). test/browser/loader.test.ts checks that the stub and the real launcher look and sit the same.
 */
const CSS = `
:host{all:initial;--mistral-chat-accent:#c2410c;--mistral-chat-on-accent:#fff;--mistral-chat-focus:var(--mistral-chat-accent);
--mistral-chat-launcher-size:56px;--mistral-chat-offset:20px;--mistral-chat-launcher-shadow:0 4px 14px rgb(0 0 0 / 0.25);
--mistral-chat-z-index:2147483000;position:fixed!important;z-index:var(--mistral-chat-z-index)!important;
bottom:calc(var(--mistral-chat-offset) + env(safe-area-inset-bottom, 0px))!important;right:calc(var(--mistral-chat-offset) + env(safe-area-inset-right, 0px))!important;color-scheme:light}
:host([theme='dark']){--mistral-chat-accent:#fb923c;--mistral-chat-on-accent:#1c1105;--mistral-chat-focus:#fdba74;color-scheme:dark}
@media (prefers-color-scheme:dark){:host(:not([theme='light'],[theme='dark'])){--mistral-chat-accent:#fb923c;--mistral-chat-on-accent:#1c1105;--mistral-chat-focus:#fdba74;color-scheme:dark}}
:host([position='bottom-left']){right:auto!important;left:calc(var(--mistral-chat-offset) + env(safe-area-inset-left, 0px))!important}
:host([hidden]){display:none!important}
button{box-sizing:border-box;font:inherit;cursor:pointer;display:grid;place-items:center;width:var(--mistral-chat-launcher-size);height:var(--mistral-chat-launcher-size);
border:0;border-radius:50%;background:var(--mistral-chat-accent);color:var(--mistral-chat-on-accent);box-shadow:var(--mistral-chat-launcher-shadow)}
:focus-visible{outline:2px solid var(--mistral-chat-focus);outline-offset:2px}
svg{width:26px;height:26px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}`;

/** The CHAT icon of icons.ts (which imports Lit, so it cannot be imported here). */
const ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 5h16v11H9l-5 4z"></path></svg>';

let sheet: CSSStyleSheet | undefined;

/**
 * Draws the stub in a new open shadow root of `host`. `load` runs on the first sign of interest (pointer,
 * focus, touch) and on a click, which also marks the host so that the element opens its panel. Returns a
 * function that refreshes the label (after a `lang` change).
 */
export function renderStub(host: HTMLElement, load: () => void): () => void {
  const root = host.attachShadow({ mode: 'open' });
  // A constructed sheet, as Lit uses: a strict style-src CSP allows it where a <style> would be blocked.
  if ('adoptedStyleSheets' in Document.prototype && 'replaceSync' in CSSStyleSheet.prototype) {
    if (!sheet) (sheet = new CSSStyleSheet()).replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else root.innerHTML = `<style>${CSS}</style>`;
  const button = document.createElement('button');
  button.className = 'launcher';
  button.setAttribute('part', 'launcher');
  button.setAttribute('aria-expanded', 'false');
  button.innerHTML = ICON;
  for (const type of ['pointerenter', 'focus', 'touchstart']) button.addEventListener(type, () => load(), { once: true, passive: true });
  button.addEventListener('click', () => {
    host.setAttribute(STUB_OPEN, '');
    load();
  });
  root.append(button);
  const label = () =>
    button.setAttribute(
      'aria-label',
      (host as { strings?: { openChat?: string } }).strings?.openChat || openChatLabel(resolveLang(host.lang)),
    );
  label();
  return label;
}
