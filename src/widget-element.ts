/**
 * The full element for the script-tag loader (src/widget.ts), built as the lazy chunk dist/mac-element-*.js:
 * Lit, the element, the protocol client (the markdown renderer stays a further lazy chunk). The loader
 * passes the default endpoint in, so that it is set before any element upgrades: the two files share no
 * module state.
 */
import { setDefaultEndpoint } from './element/endpoint.ts';
import { MistralAgentChat } from './element/mistral-agent-chat.ts';

export function define(endpoint: string): void {
  if (endpoint) setDefaultEndpoint(endpoint);
  if (!customElements.get('mistral-agent-chat')) customElements.define('mistral-agent-chat', MistralAgentChat);
}
