import type { ConversationSummary, FeedbackRating, Source, StoredMessage } from '../../protocol.ts';

/** What the proxy needs of an agent to call Mistral (never sent to a visitor). */
export interface AgentSettings {
  id: string;
  name: string;
  role: string;
  instructions: string | null;
  model: string;
  temperature: number | null;
  max_tokens: number | null;
  top_p: number | null;
  /** Set: the turn goes through Mistral's Conversations API with this agent (its own instructions and tools apply). */
  mistral_agent_id: string | null;
}

/** What `GET /v1/agent` and the CORS/origin check need. */
export interface AgentPublic {
  id: string;
  name: string;
  role: string;
  is_active: boolean;
  /** null or empty = any origin (added by the abuse-control migration; null before it). */
  allowed_origins: string[] | null;
  /** The HS256 secret visitor tokens are signed with, or null (identity off). Server-side only: never sent to a visitor. */
  identity_secret: string | null;
  /** Turns without a valid visitor token are refused (401 identity_required). */
  identity_required: boolean;
}

export interface HistoryItem {
  role: 'user' | 'assistant';
  content: string;
}

export interface BeginTurnInput {
  apiKey: string;
  /** The request's Origin header, or null (server-to-server callers send none). */
  origin: string | null;
  /** Client IP for per-IP limits, or null when unknown. */
  clientIp: string | null;
  sessionId: string;
  visitorId: string | null;
  metadata: Record<string, unknown>;
  /** The visitor's message. */
  content: string;
  /** Bounds on the history sent to Mistral: at most this many messages and characters (newest kept). */
  historyLimit: number;
  historyChars: number;
  /** The verified visitor token's `sub`, or null (anonymous): a verified turn binds its conversation to it. */
  userRef?: string | null;
  /**
   * When given, the reply is registered as in flight (for `pending`, `reply_in_progress` and Stop) until
   * `endTurn` / `abandonTurn`, or this long (plus a margin) if the instance dies.
   */
  replyLimitMs?: number | null;
}

export type BeginTurnRefusal =
  | 'invalid_api_key'
  | 'agent_inactive'
  | 'origin_not_allowed'
  | 'rate_limited'
  | 'identity_required'
  /** The conversation is bound to another user. */
  | 'not_found'
  /** A reply of this session is still being produced. */
  | 'reply_in_progress';

export type BeginTurnResult =
  | {
      ok: true;
      conversationId: string;
      userMessageId: string;
      agent: AgentSettings;
      /** Oldest first, ending with the message just stored. */
      history: HistoryItem[];
    }
  | { ok: false; code: BeginTurnRefusal; retryAfter?: number; message?: string };

export interface EndTurnInput {
  conversationId: string;
  userMessageId: string;
  /** The assistant reply as relayed (may be partial after Stop, a cut or a timeout). */
  content: string;
  /** What the reply cites (as relayed in `sources` events); null or absent when nothing. */
  sources?: Source[] | null;
  /** Billed prompt tokens: stored on the user message. */
  promptTokens: number | null;
  /** Billed completion tokens: stored on the assistant message. */
  completionTokens: number | null;
  /** Request received → last token relayed. */
  responseTimeMs: number;
  /** The reply was ended by the visitor's Stop. */
  stopped?: boolean;
}

/** The history call's answer; `found: false` when the conversation is bound to another user (404). */
export type VisitorHistory = { found: false } | { found: true; messages: StoredMessage[]; pending: boolean };

export interface FeedbackInput {
  agentId: string;
  sessionId: string;
  messageId: string;
  userRef: string | null;
  rating: FeedbackRating | null;
  comment: string | null;
}

/**
 * One interface, two adapters (SqlStore over PGlite/pg, SupabaseStore over supabase-js `.rpc()`).
 * Each method is ONE database round trip: the logic lives in SQL functions (supabase/migrations).
 */
export interface Store {
  readonly kind: 'pglite' | 'postgres' | 'supabase';
  /** null when no agent has this key. */
  agentByKey(apiKey: string): Promise<AgentPublic | null>;
  /** Verifies the key and limits, upserts the conversation, stores the user message, returns settings + history. */
  beginTurn(input: BeginTurnInput): Promise<BeginTurnResult>;
  /** Stores the assistant message and the billed tokens; returns the assistant message id. */
  endTurn(input: EndTurnInput): Promise<{ messageId: string }>;
  /** Ends a turn that has no reply to store (it leaves the replies in flight). */
  abandonTurn(conversationId: string, userMessageId: string): Promise<void>;
  /** This agent's messages for a session, oldest first; [] for an unknown session. */
  history(agentId: string, sessionId: string, limit: number): Promise<StoredMessage[]>;
  /** The history call: messages (with stopped, feedback), pending, and the bound-conversation check. */
  visitorHistory(agentId: string, sessionId: string, limit: number, userRef: string | null): Promise<VisitorHistory>;
  /** Asks whichever instance streams the session's reply to stop it; false when the conversation is another user's. */
  requestStop(agentId: string, sessionId: string, userRef: string | null): Promise<boolean>;
  /** Of these in-flight turns (conversation ids), those whose Stop was requested. */
  stopRequests(conversationIds: string[]): Promise<string[]>;
  /** A verified user's conversations with an agent, latest activity first. */
  userConversations(agentId: string, userRef: string, limit: number): Promise<ConversationSummary[]>;
  /** Rates (or clears the rating of) an assistant reply; false when it is not one of that session (404). */
  setFeedback(input: FeedbackInput): Promise<boolean>;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
