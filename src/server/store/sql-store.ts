/**
 * Store over a Db (PGlite or pg): each method is one `select public.fn(...)` round trip to the SQL
 * functions of supabase/migrations, which hold the logic (shared with the Supabase adapter). The two calls of
 * every turn are named (`prepare`): on pg they are prepared once per connection.
 */
import type { StoredMessage } from '../../protocol.ts';
import type { Db } from '../db/db.ts';
import type {
  AgentPublic,
  AgentSettings,
  BeginTurnInput,
  BeginTurnRefusal,
  BeginTurnResult,
  EndTurnInput,
  HistoryItem,
  Store,
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
  return message;
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
      'select public.begin_turn($1::text, $2::text, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text, $8::int, $9::int) as r',
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
      ],
      { prepare: 'begin_turn' },
    );
    const row = rows[0]?.r;
    if (!row) throw new Error('begin_turn returned nothing');
    return toBeginTurnResult(row);
  }

  async endTurn(input: EndTurnInput): Promise<{ messageId: string }> {
    const params: unknown[] = [
      input.conversationId,
      input.userMessageId,
      input.content,
      input.promptTokens,
      input.completionTokens,
      Math.round(input.responseTimeMs),
    ];
    // Sources only when there are some: a reply without any is the same call as before migration 00007.
    const sources = input.sources?.length ? JSON.stringify(input.sources) : null;
    if (sources !== null) params.push(sources);
    const { rows } = await this.#db.query<{ id: string }>(
      `select public.end_turn($1::uuid, $2::uuid, $3::text, $4::int, $5::int, $6::int${sources === null ? '' : ', $7::text::jsonb'}) as id`,
      params,
      { prepare: sources === null ? 'end_turn' : 'end_turn_sources' },
    );
    const id = rows[0]?.id;
    if (!id) throw new Error('end_turn returned nothing');
    return { messageId: id };
  }

  async history(agentId: string, sessionId: string, limit: number): Promise<StoredMessage[]> {
    const { rows } = await this.#db.query<{ r: StoredMessage[] | null }>(
      'select public.session_history($1::uuid, $2::text, $3::int) as r',
      [agentId, sessionId, limit],
    );
    return (rows[0]?.r ?? []).map(toStoredMessage);
  }

  async ping(): Promise<void> {
    await this.#db.query('select 1');
  }

  /** Closes the underlying Db: the store owns it. */
  close(): Promise<void> {
    return this.#db.close();
  }
}
