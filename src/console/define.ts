/**
 * Registers `<mistral-agent-console>` (once: a second copy on the page is harmless). The entry of
 * `dist/console/mistral-agent-console.js`, which the `/console` page loads and `mistral-agent-chat/console`
 * exports. It never includes the widget: the embed tab's preview loads `/widget.js` from the server.
 */
import { MistralAgentConsole } from './mistral-agent-console.ts';

export const CONSOLE_TAG = 'mistral-agent-console';

if (!customElements.get(CONSOLE_TAG)) customElements.define(CONSOLE_TAG, MistralAgentConsole);

export { MistralAgentConsole };
export * from './index.ts';
