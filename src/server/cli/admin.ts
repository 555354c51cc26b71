/**
 * Owner-side administration over the Db interface: agents, their keys, owners, statistics.
 * Runs as the database owner (superuser on PGlite, the DATABASE_URL role on Postgres), so RLS does not apply.
 */
import type { Db } from '../db/db.ts';
import { API_KEY_PATTERN, generateApiKey } from '../keys.ts';
import { DOCS_DEMO_AGENT_ID } from '../upstream/builtin-agents.ts';

export const DEFAULT_OWNER = 'demo@localhost';

export interface AgentRow {
  id: string;
  user_id: string;
  owner: string | null;
  name: string;
  role: string;
  instructions: string | null;
  model: string;
  temperature: number | null;
  max_tokens: number | null;
  top_p: number | null;
  api_key: string;
  is_active: boolean;
  /** null or empty = any origin (migration 00003). */
  allowed_origins: string[] | null;
  /** Turns per widget session per minute; null = the default (20), 0 = unlimited. */
  rate_limit_session_per_minute: number | null;
  /** Turns per client IP per minute; null = the default (60), 0 = unlimited. */
  rate_limit_ip_per_minute: number | null;
  /** Mistral tokens per UTC day; null = unlimited. */
  daily_token_budget: number | null;
  /** Set: turns go through Mistral's Conversations API with this Mistral agent (migration 00004). */
  mistral_agent_id: string | null;
  created_at: string;
  updated_at: string;
}

/** Settings an owner may set; undefined = leave as is (update) or use the column default (create). */
export interface AgentFields {
  name?: string;
  role?: string;
  instructions?: string;
  model?: string;
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  allowed_origins?: string[] | null;
  rate_limit_session_per_minute?: number | null;
  rate_limit_ip_per_minute?: number | null;
  daily_token_budget?: number | null;
  mistral_agent_id?: string | null;
}

export interface StatsRow {
  agent_id: string;
  user_id: string;
  name: string;
  total_conversations: number;
  total_messages: number;
  user_messages: number;
  assistant_messages: number;
  total_tokens_used: number;
  avg_response_time_ms: number | null;
  last_conversation_date: string | null;
}

/** Thrown when no agent matches an id or key (the CLI exits 1 with its message). */
export class NotFoundError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const AGENT_COLUMNS = `a.id, a.user_id, u.email as owner, a.name, a.role, a.instructions, a.model, a.temperature,
  a.max_tokens, a.top_p, a.api_key, a.is_active, a.allowed_origins, a.rate_limit_session_per_minute,
  a.rate_limit_ip_per_minute, a.daily_token_budget, a.mistral_agent_id, a.created_at, a.updated_at`;
const AGENT_FROM = 'public.agents a left join auth.users u on u.id = a.user_id';

/** True when `ref` looks like an agent id (uuid) or a widget key. */
export function isAgentRef(ref: string): boolean {
  return UUID.test(ref) || API_KEY_PATTERN.test(ref);
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

// pg returns numeric and bigint as strings, timestamps as Date: normalise for printing and JSON.
function toAgent(r: Record<string, unknown>): AgentRow {
  return {
    id: String(r.id),
    user_id: String(r.user_id),
    owner: (r.owner as string | null) ?? null,
    name: String(r.name),
    role: String(r.role),
    instructions: (r.instructions as string | null) ?? null,
    model: String(r.model),
    temperature: num(r.temperature),
    max_tokens: num(r.max_tokens),
    top_p: num(r.top_p),
    api_key: String(r.api_key),
    is_active: Boolean(r.is_active),
    allowed_origins: (r.allowed_origins as string[] | null) ?? null,
    rate_limit_session_per_minute: num(r.rate_limit_session_per_minute),
    rate_limit_ip_per_minute: num(r.rate_limit_ip_per_minute),
    daily_token_budget: num(r.daily_token_budget),
    mistral_agent_id: (r.mistral_agent_id as string | null) ?? null,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

/** The auth.users id for this email, creating the user when missing. */
export async function ensureOwner(db: Pick<Db, 'query'>, email: string): Promise<string> {
  const found = await db.query<{ id: string }>('select id from auth.users where email = $1 order by created_at limit 1', [email]);
  if (found.rows[0]) return found.rows[0].id;
  const made = await db.query<{ id: string }>('insert into auth.users (id, email) values (gen_random_uuid(), $1) returning id', [
    email,
  ]);
  return made.rows[0]!.id;
}

async function selectAgent(db: Pick<Db, 'query'>, ref: string): Promise<AgentRow> {
  const column = UUID.test(ref) ? 'a.id' : 'a.api_key';
  const { rows } = await db.query(`select ${AGENT_COLUMNS} from ${AGENT_FROM} where ${column} = $1`, [ref]);
  if (!rows[0]) throw new NotFoundError(`no agent with ${UUID.test(ref) ? 'id' : 'key'} ${ref}`);
  return toAgent(rows[0]);
}

/** Creates an agent with a fresh key for `owner` (an email; the user is created when missing). */
export function createAgent(db: Db, fields: AgentFields & { name: string }, owner = DEFAULT_OWNER): Promise<AgentRow> {
  return db.transaction((tx) => insertAgent(tx, fields, owner));
}

async function insertAgent(tx: Pick<Db, 'query'>, fields: AgentFields & { name: string }, owner: string): Promise<AgentRow> {
  const userId = await ensureOwner(tx, owner);
  // Only the given columns: the others keep the schema's defaults (model, temperature …).
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const cols = ['user_id', 'api_key', ...entries.map(([k]) => k)];
  const params = [userId, generateApiKey(), ...entries.map(([, v]) => v)];
  const { rows } = await tx.query<{ id: string }>(
    `insert into public.agents (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')}) returning id`,
    params,
  );
  return selectAgent(tx, rows[0]!.id);
}

export async function listAgents(db: Pick<Db, 'query'>): Promise<AgentRow[]> {
  const { rows } = await db.query(`select ${AGENT_COLUMNS} from ${AGENT_FROM} order by a.created_at, a.id`);
  return rows.map(toAgent);
}

export function getAgent(db: Pick<Db, 'query'>, ref: string): Promise<AgentRow> {
  return selectAgent(db, ref);
}

/** Changes the given settings (and the owner when given); `ref` is an agent id or its key. */
export async function updateAgent(db: Db, ref: string, fields: AgentFields, owner?: string): Promise<AgentRow> {
  return db.transaction(async (tx) => {
    const agent = await selectAgent(tx, ref);
    const entries: [string, unknown][] = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (owner !== undefined) entries.push(['user_id', await ensureOwner(tx, owner)]);
    if (entries.length > 0) {
      const sets = entries.map(([k], i) => `${k} = $${i + 2}`).join(', ');
      await tx.query(`update public.agents set ${sets} where id = $1`, [agent.id, ...entries.map(([, v]) => v)]);
    }
    return selectAgent(tx, agent.id);
  });
}

/** Replaces the agent's key: the old key stops working at once. */
export async function rotateKey(db: Db, ref: string): Promise<AgentRow> {
  return db.transaction(async (tx) => {
    const agent = await selectAgent(tx, ref);
    await tx.query('update public.agents set api_key = $2 where id = $1', [agent.id, generateApiKey()]);
    return selectAgent(tx, agent.id);
  });
}

export async function setActive(db: Db, ref: string, active: boolean): Promise<AgentRow> {
  return db.transaction(async (tx) => {
    const agent = await selectAgent(tx, ref);
    await tx.query('update public.agents set is_active = $2 where id = $1', [agent.id, active]);
    return selectAgent(tx, agent.id);
  });
}

export async function agentStatistics(db: Pick<Db, 'query'>): Promise<StatsRow[]> {
  const { rows } = await db.query('select * from public.agent_statistics order by name, agent_id');
  return rows.map((r) => ({
    agent_id: String(r.agent_id),
    user_id: String(r.user_id),
    name: String(r.name),
    total_conversations: num(r.total_conversations) ?? 0,
    total_messages: num(r.total_messages) ?? 0,
    user_messages: num(r.user_messages) ?? 0,
    assistant_messages: num(r.assistant_messages) ?? 0,
    total_tokens_used: num(r.total_tokens_used) ?? 0,
    avg_response_time_ms: r.avg_response_time_ms == null ? null : Math.round(Number(r.avg_response_time_ms)),
    last_conversation_date: r.last_conversation_date == null ? null : iso(r.last_conversation_date),
  }));
}

export const DEMO_AGENT = {
  name: 'Demo assistant',
  role: 'assistant',
  instructions:
    'You are a friendly, concise assistant on a demo page of mistral-agent-chat, an embeddable chat widget. ' +
    'Answer helpfully in the language of the visitor, use Markdown when it helps, and say so when you do not know.',
  // Grounded on this project's README and docs by the offline demo model; with a real MISTRAL_API_KEY the
  // proxy answers it through chat completions with the instructions above (Mistral does not know this id).
  mistral_agent_id: DOCS_DEMO_AGENT_ID,
} as const;

/**
 * The key the demo pages embed: the first active agent's. On a database with no agent at all, creates the
 * demo owner and the demo agent first (`created` tells the caller to announce the new key).
 */
export function ensureDemoAgent(db: Db): Promise<{ agent: AgentRow | null; created: boolean }> {
  return db.transaction(async (tx) => {
    // Several servers starting on one empty database create one demo agent, not one each.
    await tx.query("select pg_advisory_xact_lock(hashtext('mistral-agent-chat:demo-agent'))");
    const { rows } = await tx.query<{ n: string | number }>('select count(*) as n from public.agents');
    if (Number(rows[0]?.n ?? 0) === 0) return { agent: await insertAgent(tx, { ...DEMO_AGENT }, DEFAULT_OWNER), created: true };
    return { agent: await firstActiveAgent(tx), created: false };
  });
}

export async function firstActiveAgent(db: Pick<Db, 'query'>): Promise<AgentRow | null> {
  const { rows } = await db.query(
    `select ${AGENT_COLUMNS} from ${AGENT_FROM} where a.is_active order by a.created_at, a.id limit 1`,
  );
  return rows[0] ? toAgent(rows[0]) : null;
}
