/**
 * Widget protocol v1: the only types shared by the browser client (src/client, src/element)
 * and the proxy (src/server). Public API: third parties implement clients against it.
 */

export const PROTOCOL_VERSION = 1;

/** `POST /v1/chat` request body. */
export interface ChatRequest {
  session_id: string;
  visitor_id?: string;
  message: string;
  metadata?: Record<string, unknown>;
}

/** `GET /v1/agent` answer: display info only. */
export interface AgentInfo {
  name: string;
  role: string;
}

export type MessageRole = 'user' | 'assistant';

/** One stored message as `GET /v1/sessions/{id}/messages` returns it. */
export interface StoredMessage {
  id: string;
  role: MessageRole;
  content: string;
  created_at: string;
  /** What an assistant reply cites; present only when it cites something. */
  sources?: Source[];
  /** An assistant reply ended by the visitor's Stop: `content` is exactly what was streamed. */
  stopped?: true;
  /** This visitor's current rating of an assistant reply; absent when none. */
  feedback?: FeedbackRating;
}

/**
 * A document or page a reply cites. `url` is always an absolute http(s) URL when present (the proxy drops
 * any other); a library document may have none, and keeps its title. Titles and snippets are plain text.
 */
export interface Source {
  /** Stable within one reply: "1", "2", … in order of first citation. */
  id: string;
  title: string;
  url?: string;
  snippet?: string;
}

export interface HistoryResponse {
  messages: StoredMessage[];
  /** A reply for this session is being produced right now (by any proxy instance). */
  pending: boolean;
}

/** A thumbs up or down on an assistant reply. */
export type FeedbackRating = 'up' | 'down';

/** `POST /v1/messages/{message_id}/feedback` request body (answer: 204). `rating: null` clears. */
export interface FeedbackRequest {
  session_id: string;
  rating: FeedbackRating | null;
  /** At most `LIMITS.feedbackCommentChars` characters. */
  comment?: string;
}

/** One of a verified user's conversations (`GET /v1/conversations`). */
export interface ConversationSummary {
  session_id: string;
  /** The first user message, at most 80 characters. */
  title: string;
  updated_at: string;
}

/** `GET /v1/conversations` answer (needs `X-User-Token`): latest activity first, at most 50. */
export interface ConversationsResponse {
  conversations: ConversationSummary[];
}

export type FinishReason = 'stop' | 'length' | 'model_length' | 'error' | 'tool_calls' | 'aborted' | 'timeout';

/** SSE events of `POST /v1/chat`, in order: start, then delta, sources and activity events, then done | error. */
export interface StartEvent {
  conversation_id: string;
  message_id: string;
}
export interface DeltaEvent {
  text: string;
}
export interface DoneEvent {
  message_id: string;
  tokens_used: number;
  response_time_ms: number;
  finish_reason: FinishReason;
  /** The reply was ended by `POST /v1/sessions/{id}/stop` (finish_reason `aborted`). */
  stopped?: true;
}
export interface ErrorEventData {
  code: ErrorCode;
  message: string;
  request_id?: string;
  /** Seconds to wait before sending again (with `rate_limited`, e.g. when Mistral itself is rate limiting). */
  retry_after?: number;
}
/**
 * `sources`: zero or more times before `done`, the sources the reply cites. Each event carries sources not
 * sent before in this reply (ids are unique within a reply; a client ignores an id it already has).
 */
export interface SourcesEvent {
  sources: Source[];
}
/**
 * `activity` (optional; clients may ignore it): the agent started or finished running a tool, e.g. a search
 * in its document library. `tool` is Mistral's tool name (`document_library`, `web_search`, `code_interpreter`, …).
 */
export interface ActivityEvent {
  tool: string;
  state: 'started' | 'done';
}
export interface ChatEventMap {
  start: StartEvent;
  delta: DeltaEvent;
  sources: SourcesEvent;
  activity: ActivityEvent;
  done: DoneEvent;
  error: ErrorEventData;
}
export type ChatEventName = keyof ChatEventMap;

/** Every error code of the protocol, with the HTTP status it travels with before a stream starts. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_api_key: 401,
  invalid_user_token: 401,
  identity_required: 401,
  agent_inactive: 403,
  origin_not_allowed: 403,
  not_found: 404,
  reply_in_progress: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  upstream_error: 502,
  unavailable: 503,
  upstream_timeout: 504,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

/** JSON body of every error answered before a stream starts. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string; request_id?: string; retry_after?: number };
}

/** Header that carries the widget's key. */
export const API_KEY_HEADER = 'X-Api-Key';
/** Header that carries the visitor's identity: a JWT (HS256) signed by the site's backend with the agent's identity secret. */
export const USER_TOKEN_HEADER = 'X-User-Token';
/** Header the proxy answers with on every response, also inside SSE error events. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Input limits the proxy enforces (defaults; the server may be configured tighter or looser). */
export const LIMITS = {
  messageChars: 4000,
  bodyBytes: 32 * 1024,
  metadataBytes: 4 * 1024,
  metadataKeys: 32,
  metadataDepth: 3,
  idPattern: /^[A-Za-z0-9_-]{8,255}$/,
  historyLimitMax: 200,
  feedbackCommentChars: 1000,
  /** Longest `sub` claim of a visitor token. */
  userRefChars: 255,
} as const;

