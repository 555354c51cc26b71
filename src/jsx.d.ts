/**
 * JSX props of `<mistral-agent-chat>` for React 19 (which sets properties for keys the element has).
 * React's types are not a dependency of this package, so register the tag in your app, once:
 *
 * ```ts
 * // src/mistral-agent-chat.d.ts in your React app
 * import type { MistralAgentChatProps } from 'mistral-agent-chat';
 * declare module 'react' {
 *   namespace JSX {
 *     interface IntrinsicElements {
 *       'mistral-agent-chat': MistralAgentChatProps & React.HTMLAttributes<HTMLElement> & { ref?: React.Ref<HTMLElement> };
 *     }
 *   }
 * }
 * ```
 *
 * Then: `<mistral-agent-chat api-key="mac_…" endpoint="https://proxy.example" opened starters={['Hi']}
 * onmistral-chat-response={(e) => …} />`. React 19 passes `starters`, `metadata` and `strings` as
 * properties. Use `opened` (the property behind the `open` attribute), not `open`, which is a method.
 */
import type { MistralAgentChat } from './element/mistral-agent-chat.ts';
import type {
  MistralChatCloseEvent,
  MistralChatErrorEvent,
  MistralChatFeedbackEvent,
  MistralChatOpenEvent,
  MistralChatResponseEvent,
  MistralChatSendEvent,
} from './element/events.ts';

export interface MistralAgentChatProps {
  'api-key'?: string;
  endpoint?: string;
  mode?: MistralAgentChat['mode'];
  opened?: boolean;
  position?: MistralAgentChat['position'];
  theme?: MistralAgentChat['theme'];
  lang?: string;
  heading?: string;
  placeholder?: string;
  'welcome-message'?: string;
  starters?: string[];
  'allow-images'?: boolean;
  strings?: MistralAgentChat['strings'];
  metadata?: Record<string, unknown>;
  'user-token'?: string;
  'onmistral-chat-open'?: (e: MistralChatOpenEvent) => void;
  'onmistral-chat-close'?: (e: MistralChatCloseEvent) => void;
  'onmistral-chat-send'?: (e: MistralChatSendEvent) => void;
  'onmistral-chat-response'?: (e: MistralChatResponseEvent) => void;
  'onmistral-chat-error'?: (e: MistralChatErrorEvent) => void;
  'onmistral-chat-feedback'?: (e: MistralChatFeedbackEvent) => void;
}
