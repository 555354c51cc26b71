/**
 * The package's main entry: the element class, its events and types. Importing it registers nothing;
 * import `mistral-agent-chat/define` (src/define.ts) to register `<mistral-agent-chat>`, or call
 * `customElements.define('my-chat', MistralAgentChat)` yourself.
 */
export { MistralAgentChat } from './element/mistral-agent-chat.ts';
export {
  MistralChatCloseEvent,
  MistralChatErrorEvent,
  MistralChatFeedbackEvent,
  MistralChatOpenEvent,
  MistralChatResponseEvent,
  MistralChatSendEvent,
} from './element/events.ts';
export type { Strings, StringKey } from './element/strings.ts';
export type { MistralAgentChatProps } from './jsx.d.ts';
export * from './protocol.ts';
