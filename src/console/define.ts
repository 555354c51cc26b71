/**
 * Registers `<mistral-agent-console>` (once: a second copy on the page is harmless). The entry of the console's
 * bundles (scripts/build-console.js): the `/console` page's, and `dist/console.js` (`mistral-agent-chat/console`).
 * It never includes the widget: the embed tab's preview loads `/widget.js` from the server.
 */
import { MistralAgentConsole } from './mistral-agent-console.ts';

export const CONSOLE_TAG = 'mistral-agent-console';

if (!customElements.get(CONSOLE_TAG)) customElements.define(CONSOLE_TAG, MistralAgentConsole);

// The /console/ page (src/console/index.html) marks itself: its console talks to the server the page came from
// (the directory above /console/, so a server mounted under a path works too), in the browser's language, with no
// page margin. Done here rather than in an inline script or style, so the page works under a strict CSP. This runs
// before the element's first update (a microtask away), so it starts with the right endpoint.
const page = document.documentElement;
if (page.hasAttribute('data-console-page')) {
  if (!page.lang) page.lang = navigator.language || 'en';
  const server = new URL('..', document.baseURI).href.replace(/\/+$/, '');
  for (const el of document.querySelectorAll(CONSOLE_TAG)) if (!el.hasAttribute('endpoint')) el.setAttribute('endpoint', server);
  const body = () => document.body && (document.body.style.margin = '0');
  if (!body()) addEventListener('DOMContentLoaded', body, { once: true });
}

export { MistralAgentConsole };
export * from './index.ts';
