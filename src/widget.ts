/**
 * Script-tag entry (`/widget.js` as ES module, `/widget.iife.js` as classic script), launcher first: a tiny
 * loader that neither imports Lit nor the element. It draws a stub of the launcher in every bubble-mode
 * `<mistral-agent-chat>` (now and added later), then loads the full element (dist/mac-element-*.js, by a
 * relative URL) on the first pointer, focus or touch on a stub, on a click (the panel then opens), or when
 * the page is idle after load, whichever comes first. Inline and `open` elements load it at once.
 *
 * The origin this script came from becomes the default `endpoint`, so
 * `<script src="https://proxy.example/widget.js">` + `<mistral-agent-chat api-key="…">` is all a page needs.
 *
 * The element's methods (`open()`, `send()`, …) exist once it is defined; a page that calls them waits:
 *   await customElements.whenDefined('mistral-agent-chat'); chat.open();
 * Properties set before that (`chat.metadata = …`) are kept. Elements inside other shadow roots get no
 * stub: they show their launcher once the element is loaded.
 */
import { renderStub } from './element/stub.ts';

const TAG = 'mistral-agent-chat';
/** Loaded at the latest this long after the page's load event, idle or not. */
const IDLE_TIMEOUT_MS = 3000;

function scriptUrl(): string | undefined {
  try {
    // ESM: the module's URL. In the IIFE build the bundler rewrites or empties it; fall through then.
    if (import.meta.url) return import.meta.url;
  } catch {
    // import.meta unavailable
  }
  return (document.currentScript as HTMLScriptElement | null)?.src;
}

/** The default endpoint: the origin this script came from (empty: elements need an explicit endpoint). */
let endpoint = '';
try {
  const { origin } = new URL(scriptUrl() ?? '');
  if (origin.startsWith('http')) endpoint = origin;
} catch {
  // not a URL
}

let loading: Promise<void> | undefined;
/** Imports and defines the element, once; a failed load (network) is retried on the next interaction. */
const load = (): Promise<void> =>
  (loading ??= import('./widget-element.ts').then(
    (m) => m.define(endpoint),
    (err: unknown) => {
      loading = undefined;
      console.error('mistral-agent-chat: could not load the chat', err);
    },
  ));

/** Stubs drawn by this loader, with their label refresh. */
const stubs = new WeakMap<Element, () => void>();

function visit(el: HTMLElement) {
  const props = el as unknown as { mode?: string; opened?: boolean };
  if (el.getAttribute('mode') === 'inline' || props.mode === 'inline' || el.hasAttribute('open') || props.opened) void load();
  else if (stubs.has(el)) stubs.get(el)!();
  // A shadow root we did not attach (another copy of this script, declarative shadow DOM): leave it.
  else if (!el.shadowRoot) stubs.set(el, renderStub(el, () => void load()));
}

function scan(root: ParentNode) {
  if (root instanceof HTMLElement && root.localName === TAG) visit(root);
  for (const el of root.querySelectorAll<HTMLElement>(TAG)) visit(el);
}

const observer = new MutationObserver((records) => {
  for (const r of records) {
    if (r.type === 'attributes') {
      if ((r.target as Element).localName === TAG) visit(r.target as HTMLElement);
    } else for (const n of r.addedNodes) if (n.nodeType === 1) scan(n as Element);
  }
});

if (!customElements.get(TAG)) {
  // Elements parsed after this script ran (a classic script in <head>), or added by the page later.
  observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['mode', 'open', 'lang'] });
  scan(document);
  void customElements.whenDefined(TAG).then(() => observer.disconnect());
  const idle = () =>
    'requestIdleCallback' in window ? requestIdleCallback(() => void load(), { timeout: IDLE_TIMEOUT_MS }) : setTimeout(() => void load(), 1000);
  if (document.readyState === 'complete') idle();
  else addEventListener('load', idle, { once: true });
}
