/**
 * Typed events of `<mistral-agent-chat>`. All bubble and cross the shadow boundary (`composed`),
 * so a host page can listen on the element or on `document`.
 */
import type { FeedbackRating, Source } from '../protocol.ts';

const init = (cancelable = false): EventInit => ({ bubbles: true, composed: true, cancelable });

/** The panel opened (bubble mode). */
export class MistralChatOpenEvent extends Event {
  static readonly eventName = 'mistral-chat-open';
  constructor() {
    super(MistralChatOpenEvent.eventName, init());
  }
}

/** The panel closed (bubble mode). */
export class MistralChatCloseEvent extends Event {
  static readonly eventName = 'mistral-chat-close';
  constructor() {
    super(MistralChatCloseEvent.eventName, init());
  }
}

/** The visitor is about to send `text`. Cancelable: `preventDefault()` keeps the message from being sent. */
export class MistralChatSendEvent extends Event {
  static readonly eventName = 'mistral-chat-send';
  constructor(readonly text: string) {
    super(MistralChatSendEvent.eventName, init(true));
  }
}

/** A reply finished streaming and is stored (not fired after Stop). */
export class MistralChatResponseEvent extends Event {
  static readonly eventName = 'mistral-chat-response';
  constructor(
    /** The stored assistant message id. */
    readonly id: string,
    /** The reply's Markdown source. */
    readonly text: string,
    readonly tokens_used: number,
    /** What the reply cites (`{id, title, url?, snippet?}`); empty for most agents. */
    readonly sources: Source[] = [],
  ) {
    super(MistralChatResponseEvent.eventName, init());
  }
}

/** A request failed. `code` is a protocol ErrorCode, or `network` | `offline` | `bad_response` (client side). */
export class MistralChatErrorEvent extends Event {
  static readonly eventName = 'mistral-chat-error';
  constructor(
    readonly code: string,
    /** A message for the site owner (the server's words), never shown to visitors as is. */
    readonly message: string,
  ) {
    super(MistralChatErrorEvent.eventName, init());
  }
}

/**
 * The visitor rated a reply (the rating is stored): `message_id`, `rating` (`up`, `down`, or null when cleared),
 * `comment` when they wrote one. The same fields are in `detail`.
 */
export class MistralChatFeedbackEvent extends Event {
  static readonly eventName = 'mistral-chat-feedback';
  constructor(
    readonly message_id: string,
    readonly rating: FeedbackRating | null,
    readonly comment?: string,
  ) {
    super(MistralChatFeedbackEvent.eventName, init());
  }
  get detail() {
    const { message_id, rating, comment } = this;
    return comment === undefined ? { message_id, rating } : { message_id, rating, comment };
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'mistral-chat-open': MistralChatOpenEvent;
    'mistral-chat-close': MistralChatCloseEvent;
    'mistral-chat-send': MistralChatSendEvent;
    'mistral-chat-response': MistralChatResponseEvent;
    'mistral-chat-error': MistralChatErrorEvent;
    'mistral-chat-feedback': MistralChatFeedbackEvent;
  }
}
