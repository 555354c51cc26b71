/**
 * Registers `<mistral-agent-console>` (once: a second copy on the page is harmless). The entry of
 * `dist/console/mistral-agent-console.js`, which the `/console` page loads and `mistral-agent-chat/console`
 * exports. It never includes the widget: the embed tab's preview loads `/widget.js` from the server.
 */
import { MistralAgentConsole } from './mistral-agent-console.ts';

export const CONSOLE_TAG = 'mistral-agent-console';

if (!customElements.get(CONSOLE_TAG)) customElements.define(CONSOLE_TAG, MistralAgentConsole);

// The /console page (src/console/index.html) marks itself: it takes the browser's language and no margin.
// Done here rather than in an inline script or style, so the page works under a strict Content-Security-Policy.
const page = document.documentElement;
if (page.hasAttribute('data-console-page')) {
  if (!page.lang) page.lang = navigator.language || 'en';
  const body = () => document.body && (document.body.style.margin = '0');
  if (!body()) addEventListener('DOMContentLoaded', body, { once: true });
}

export { MistralAgentConsole };
export * from './index.ts';
