/**
 * Store over a Db (PGlite or pg): each method is one `select public.fn(...)` round trip to the SQL
 * functions of supabase/migrations, which hold the logic (shared with the Supabase adapter). The two calls of
 * every turn are named (`prepare`): on pg they are prepared once per connection.
 */
import type { ConversationSummary, StoredMessage } from '../../protocol.ts';
import type { Db } from '../db/db.ts';
import type {
  AgentPublic,
  AgentSettings,
  BeginTurnInput,
  BeginTurnRefusal,
  BeginTurnResult,
  EndTurnInput,
  FeedbackInput,
  HistoryItem,
  Store,
  VisitorHistory,
} from './store.ts';

/** The JSON `public.begin_turn` answers. */
export type BeginTurnRow =
  | {
      ok: true;
      conversation_id: string;
      user_message_id: string;
      agent: AgentSettings;
      history: HistoryItem[];
    }
  | { ok: false; code: BeginTurnRefusal; retry_after?: number; message?: string };

/** Maps `public.begin_turn`'s JSON to the Store result (also used by the Supabase adapter). */
export function toBeginTurnResult(row: BeginTurnRow): BeginTurnResult {
  if (!row.ok) {
    const refusal: BeginTurnResult = { ok: false, code: row.code };
    if (row.retry_after != null) refusal.retryAfter = row.retry_after;
    if (row.message != null) refusal.message = row.message;
    return refusal;
  }
  const a = row.agent;
  return {
    ok: true,
    conversationId: row.conversation_id,
    userMessageId: row.user_message_id,
    agent: {
      id: a.id,
      name: a.name,
      role: a.role,
      instructions: a.instructions ?? null,
      model: a.model,
      temperature: a.temperature ?? null,
      max_tokens: a.max_tokens ?? null,
      top_p: a.top_p ?? null,
      mistral_agent_id: a.mistral_agent_id ?? null,
    },
    history: row.history.map((h) => ({ role: h.role, content: h.content })),
  };
}

/** Maps one item of `public.session_history`'s JSON (also used by the Supabase adapter). */
export function toStoredMessage(m: StoredMessage): StoredMessage {
  const message: StoredMessage = { id: m.id, role: m.role, content: m.content, created_at: m.created_at };
  if (Array.isArray(m.sources) && m.sources.length > 0) message.sources = m.sources;
  if (m.stopped === true) message.stopped = true;
  if (m.feedback === 'up' || m.feedback === 'down') message.feedback = m.feedback;
  return message;
}

/** The JSON `public.visitor_history` answers. */
export type VisitorHistoryRow = { found: false } | { found: true; messages: StoredMessage[] | null; pending: boolean };

/** Maps `public.visitor_history`'s JSON (also used by the Supabase adapter). */
export function toVisitorHistory(row: VisitorHistoryRow | null): VisitorHistory {
  if (!row) throw new Error('visitor_history returned nothing');
  if (!row.found) return { found: false };
  return { found: true, messages: (row.messages ?? []).map(toStoredMessage), pending: row.pending === true };
}

/** Maps `public.user_conversations`' JSON. */
export function toConversations(rows: ConversationSummary[] | null): ConversationSummary[] {
  return (rows ?? []).map((r) => ({ session_id: r.session_id, title: r.title, updated_at: r.updated_at }));
}

/** Maps `public.agent_by_key`'s JSON (or null) to the Store result. */
export function toAgentPublic(row: AgentPublic | null): AgentPublic | null {
  if (!row) return null;
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    is_active: row.is_active,
    allowed_origins: row.allowed_origins ?? null,
    identity_secret: row.identity_secret ?? null,
    identity_required: row.identity_required === true,
  };
}

export class SqlStore implements Store {
  readonly kind: 'pglite' | 'postgres';
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.kind = db.kind;
  }

  async agentByKey(apiKey: string): Promise<AgentPublic | null> {
    const { rows } = await this.#db.query<{ r: AgentPublic | null }>('select public.agent_by_key($1::text) as r', [apiKey]);
    return toAgentPublic(rows[0]?.r ?? null);
  }

  async beginTurn(input: BeginTurnInput): Promise<BeginTurnResult> {
    const { rows } = await this.#db.query<{ r: BeginTurnRow }>(
      'select public.begin_turn($1::text, $2::text, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text, $8::int, $9::int, $10::text, $11::int) as r',
      [
        input.apiKey,
        input.origin,
        input.clientIp,
        input.sessionId,
        input.visitorId,
        JSON.stringify(input.metadata ?? {}),
        input.content,
        input.historyLimit,
        input.historyChars,
        input.userRef ?? null,
        input.replyLimitMs ?? null,
      ],
      { prepare: 'begin_turn' },
    );
    const row = rows[0]?.r;
    if (!row) throw new Error('begin_turn returned nothing');
    return toBeginTurnResult(row);
  }

  async endTurn(input: EndTurnInput): Promise<{ messageId: string }> {
    const { rows } = await this.#db.query<{ id: string }>(
      'select public.end_turn($1::uuid, $2::uuid, $3::text, $4::int, $5::int, $6::int, $7::text::jsonb, $8::boolean) as id',
      [
        input.conversationId,
        input.userMessageId,
        input.content,
        input.promptTokens,
        input.completionTokens,
        Math.round(input.responseTimeMs),
        input.sources?.length ? JSON.stringify(input.sources) : null,
        input.stopped === true,
      ],
      { prepare: 'end_turn' },
    );
    const id = rows[0]?.id;
    if (!id) throw new Error('end_turn returned nothing');
    return { messageId: id };
  }

  async abandonTurn(conversationId: string, userMessageId: string): Promise<void> {
    await this.#db.query('select public.abandon_turn($1::uuid, $2::uuid)', [conversationId, userMessageId]);
  }

  async history(agentId: string, sessionId: string, limit: number): Promise<StoredMessage[]> {
    const { rows } = await this.#db.query<{ r: StoredMessage[] | null }>(
      'select public.session_history($1::uuid, $2::text, $3::int) as r',
      [agentId, sessionId, limit],
    );
    return (rows[0]?.r ?? []).map(toStoredMessage);
  }

  async visitorHistory(agentId: string, sessionId: string, limit: number, userRef: string | null): Promise<VisitorHistory> {
    const { rows } = await this.#db.query<{ r: VisitorHistoryRow | null }>(
      'select public.visitor_history($1::uuid, $2::text, $3::int, $4::text) as r',
      [agentId, sessionId, limit, userRef],
    );
    return toVisitorHistory(rows[0]?.r ?? null);
  }

  async requestStop(agentId: string, sessionId: string, userRef: string | null): Promise<boolean> {
    const { rows } = await this.#db.query<{ r: boolean }>('select public.request_stop($1::uuid, $2::text, $3::text) as r', [
      agentId,
      sessionId,
      userRef,
    ]);
    return rows[0]?.r === true;
  }

  async stopRequests(conversationIds: string[]): Promise<string[]> {
    if (conversationIds.length === 0) return [];
    // uuids as text: PGlite and pg both take a JSON array that way
    const { rows } = await this.#db.query<{ r: string[] | null }>(
      'select to_jsonb(public.stop_requests(array(select jsonb_array_elements_text($1::text::jsonb)::uuid))) as r',
      [JSON.stringify(conversationIds)],
    );
    return rows[0]?.r ?? [];
  }

  async userConversations(agentId: string, userRef: string, limit: number): Promise<ConversationSummary[]> {
    const { rows } = await this.#db.query<{ r: ConversationSummary[] | null }>(
      'select public.user_conversations($1::uuid, $2::text, $3::int) as r',
      [agentId, userRef, limit],
    );
    return toConversations(rows[0]?.r ?? null);
  }

  async setFeedback(input: FeedbackInput): Promise<boolean> {
    const { rows } = await this.#db.query<{ r: boolean }>(
      'select public.set_message_feedback($1::uuid, $2::text, $3::uuid, $4::text, $5::text, $6::text) as r',
      [input.agentId, input.sessionId, input.messageId, input.userRef, input.rating, input.comment],
    );
    return rows[0]?.r === true;
  }

  async ping(): Promise<void> {
    await this.#db.query('select 1');
  }

  /** Closes the underlying Db: the store owns it. */
  close(): Promise<void> {
    return this.#db.close();
  }
}
