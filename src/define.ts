/** Registers `<mistral-agent-chat>` (once: a second copy of the bundle on the page is harmless). */
import { MistralAgentChat } from './element/mistral-agent-chat.ts';

export const TAG = 'mistral-agent-chat';

if (!customElements.get(TAG)) customElements.define(TAG, MistralAgentChat);

export { MistralAgentChat };
