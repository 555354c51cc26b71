/**
 * Store over supabase-js `.rpc()`: each method is ONE HTTP call to PostgREST, which runs the same SQL
 * functions as SqlStore (supabase/migrations/00002_proxy_functions.sql) as `service_role`.
 * Runtime-neutral (fetch only): this is the adapter the Supabase Edge Function uses.
 * Errors (network, PostgREST, SQL) are thrown; the app answers 503 `unavailable`.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import type { ConversationSummary, StoredMessage } from '../../protocol.ts';
import {
  toAgentPublic,
  toBeginTurnResult,
  toConversations,
  toStoredMessage,
  toVisitorHistory,
  type BeginTurnRow,
  type VisitorHistoryRow,
} from './sql-store.ts';
import { createServerClient } from './supabase-client.ts';
import type { AgentPublic, BeginTurnInput, BeginTurnResult, EndTurnInput, FeedbackInput, Store, VisitorHistory } from './store.ts';

export interface SupabaseStoreOptions {
  /** `https://<ref>.supabase.co` (SUPABASE_URL). */
  url: string;
  /** A secret key (`sb_secret_…`) or the legacy service-role JWT: the functions are granted to service_role only. */
  key: string;
  /** Replaces global fetch (tests, instrumentation). */
  fetch?: typeof fetch;
}

/** A failed RPC, with PostgREST's code (SQLSTATE or PGRST…) kept for logs. */
export class SupabaseRpcError extends Error {
  readonly code: string | undefined;
  constructor(fn: string, err: { message?: string; code?: string; details?: string | null; hint?: string | null }) {
    super(`supabase rpc ${fn} failed${err.code ? ` (${err.code})` : ''}: ${err.message ?? 'unknown error'}`);
    this.name = 'SupabaseRpcError';
    this.code = err.code;
  }
}

// A key no agent can have (keys this package issues match /^mac_[A-Za-z0-9_-]{43}$/): ping stays a cheap
// index lookup that proves PostgREST, the database and the grants all answer.
const PING_KEY = 'mac_ping!';

export class SupabaseStore implements Store {
  readonly kind = 'supabase' as const;
  readonly #client: SupabaseClient;

  constructor(opts: SupabaseStoreOptions) {
    this.#client = createServerClient(opts.url, opts.key, opts.fetch ? { fetch: opts.fetch } : {});
  }

  async #rpc<T>(fn: string, args: Record<string, unknown>): Promise<T> {
    const { data, error } = await this.#client.rpc(fn, args);
    if (error) throw new SupabaseRpcError(fn, error);
    return data as T;
  }

  async agentByKey(apiKey: string): Promise<AgentPublic | null> {
    return toAgentPublic(await this.#rpc<AgentPublic | null>('agent_by_key', { p_api_key: apiKey }));
  }

  async beginTurn(input: BeginTurnInput): Promise<BeginTurnResult> {
    const row = await this.#rpc<BeginTurnRow | null>('begin_turn', {
      p_api_key: input.apiKey,
      p_origin: input.origin,
      p_client_ip: input.clientIp,
      p_session_id: input.sessionId,
      p_visitor_id: input.visitorId,
      p_metadata: input.metadata ?? {},
      p_content: input.content,
      p_history_limit: input.historyLimit,
      p_history_chars: input.historyChars,
      p_user_ref: input.userRef ?? null,
      p_reply_limit_ms: input.replyLimitMs ?? null,
    });
    if (!row) throw new Error('begin_turn returned nothing');
    return toBeginTurnResult(row);
  }

  async endTurn(input: EndTurnInput): Promise<{ messageId: string }> {
    const id = await this.#rpc<string | null>('end_turn', {
      p_conversation_id: input.conversationId,
      p_user_message_id: input.userMessageId,
      p_content: input.content,
      p_prompt_tokens: input.promptTokens,
      p_completion_tokens: input.completionTokens,
      p_response_time_ms: Math.round(input.responseTimeMs),
      p_sources: input.sources?.length ? input.sources : null,
      p_stopped: input.stopped === true,
    });
    if (!id) throw new Error('end_turn returned nothing');
    return { messageId: id };
  }

  async abandonTurn(conversationId: string, userMessageId: string): Promise<void> {
    await this.#rpc('abandon_turn', { p_conversation_id: conversationId, p_user_message_id: userMessageId });
  }

  async history(agentId: string, sessionId: string, limit: number): Promise<StoredMessage[]> {
    const rows = await this.#rpc<StoredMessage[] | null>('session_history', {
      p_agent_id: agentId,
      p_session_id: sessionId,
      p_limit: limit,
    });
    return (rows ?? []).map(toStoredMessage);
  }

  async visitorHistory(agentId: string, sessionId: string, limit: number, userRef: string | null): Promise<VisitorHistory> {
    return toVisitorHistory(
      await this.#rpc<VisitorHistoryRow | null>('visitor_history', {
        p_agent_id: agentId,
        p_session_id: sessionId,
        p_limit: limit,
        p_user_ref: userRef,
      }),
    );
  }

  async requestStop(agentId: string, sessionId: string, userRef: string | null): Promise<boolean> {
    return (await this.#rpc<boolean>('request_stop', { p_agent_id: agentId, p_session_id: sessionId, p_user_ref: userRef })) === true;
  }

  async stopRequests(conversationIds: string[]): Promise<string[]> {
    if (conversationIds.length === 0) return [];
    return (await this.#rpc<string[] | null>('stop_requests', { p_conversation_ids: conversationIds })) ?? [];
  }

  async userConversations(agentId: string, userRef: string, limit: number): Promise<ConversationSummary[]> {
    return toConversations(
      await this.#rpc<ConversationSummary[] | null>('user_conversations', { p_agent_id: agentId, p_user_ref: userRef, p_limit: limit }),
    );
  }

  async setFeedback(input: FeedbackInput): Promise<boolean> {
    const found = await this.#rpc<boolean>('set_message_feedback', {
      p_agent_id: input.agentId,
      p_session_id: input.sessionId,
      p_message_id: input.messageId,
      p_user_ref: input.userRef,
      p_rating: input.rating,
      p_comment: input.comment,
    });
    return found === true;
  }

  async ping(): Promise<void> {
    await this.#rpc('agent_by_key', { p_api_key: PING_KEY });
  }

  /** Nothing to release: supabase-js holds no connection (HTTP per call). */
  async close(): Promise<void> {}
}
