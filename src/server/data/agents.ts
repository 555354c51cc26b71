/**
 * Owners' agents: create, read, change, rotate the key, enable or disable, delete. Runtime-neutral (a Db
 * executor only), so the CLI (as the database owner) and the owner API (inside `asOwner`, as the signed-in
 * owner) run the very same statements: no ownership test is written here, row level security decides which
 * rows a caller sees and may change. A row the caller may not see is simply not found.
 */
import type { Db } from '../db/db.ts';
import { API_KEY_PATTERN, generateApiKey } from '../keys.ts';

/** What runs one statement: a Db, or the transaction `db.transaction()` / `asOwner()` hands out. */
export type Executor = Pick<Db, 'query'>;

/**
 * An agent as owners see it (the owner API's `Agent`): every column of `public.agents` except
 * `identity_secret`, which shows as `has_identity_secret`. Columns later migrations add come through too.
 */
export interface Agent {
  id: string;
  user_id: string;
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
  mistral_agent_id: string | null;
  identity_required: boolean;
  retention_days: number | null;
  has_identity_secret: boolean;
  created_at: string;
  updated_at: string;
}

/** Settings an owner may set; undefined = leave as is (update) or take the column's default (create). */
export interface AgentFields {
  name?: string;
  role?: string;
  instructions?: string | null;
  model?: string;
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  allowed_origins?: string[] | null;
  rate_limit_session_per_minute?: number | null;
  rate_limit_ip_per_minute?: number | null;
  daily_token_budget?: number | null;
  mistral_agent_id?: string | null;
  identity_required?: boolean;
  retention_days?: number | null;
}

/** The columns `AgentFields` may write: names are checked against this list before they reach SQL. */
export const AGENT_SETTING_COLUMNS = [
  'name',
  'role',
  'instructions',
  'model',
  'temperature',
  'max_tokens',
  'top_p',
  'allowed_origins',
  'rate_limit_session_per_minute',
  'rate_limit_ip_per_minute',
  'daily_token_budget',
  'mistral_agent_id',
  'identity_required',
  'retention_days',
] as const satisfies readonly (keyof AgentFields)[];

/** No agent with this id or key, or not one the caller may see (the owner API answers 404 `not_found`). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `ref` looks like an agent id (uuid) or a widget key. */
export function isAgentRef(ref: string): boolean {
  return UUID.test(ref) || API_KEY_PATTERN.test(ref);
}

/** One agent row (alias `a`) as JSON: jsonb keeps numerics as numbers whichever driver reads it (pg, PGlite). */
export const AGENT_JSON = `to_jsonb(a) - 'identity_secret' || jsonb_build_object('has_identity_secret', a.identity_secret is not null)`;

const byRef = (ref: string) => (UUID.test(ref) ? 'a.id = $1::uuid' : 'a.api_key = $1');

function notFound(ref: string): NotFoundError {
  return new NotFoundError(`no agent with ${UUID.test(ref) ? 'id' : 'key'} ${ref}`);
}

function settings(fields: AgentFields): [string, unknown][] {
  const allowed = new Set<string>(AGENT_SETTING_COLUMNS);
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const unknown = entries.find(([k]) => !allowed.has(k));
  if (unknown) throw new TypeError(`not an agent setting: ${unknown[0]}`);
  return entries;
}

async function one(q: Executor, sql: string, params: unknown[], ref: string): Promise<Agent> {
  const { rows } = await q.query<{ agent: Agent }>(sql, params);
  if (!rows[0]) throw notFound(ref);
  return rows[0].agent;
}

/**
 * Creates an agent with a fresh widget key. `userId` names the owner (the CLI); without it the owner is the
 * caller, `auth.uid()` (the owner API, inside `asOwner`), and row level security checks it.
 */
export async function createAgent(q: Executor, fields: AgentFields & { name: string }, opts: { userId?: string } = {}): Promise<Agent> {
  const entries = settings(fields);
  const cols = ['user_id', 'api_key', ...entries.map(([k]) => k)];
  const values = ['coalesce($1::uuid, (select auth.uid()))', '$2', ...entries.map((_, i) => `$${i + 3}`)];
  const { rows } = await q.query<{ agent: Agent }>(
    `insert into public.agents as a (${cols.join(', ')}) values (${values.join(', ')}) returning ${AGENT_JSON} as agent`,
    [opts.userId ?? null, generateApiKey(), ...entries.map(([, v]) => v)],
  );
  return rows[0]!.agent;
}

/** The agents the caller may see, oldest first. */
export async function listAgents(q: Executor): Promise<Agent[]> {
  const { rows } = await q.query<{ agent: Agent }>(`select ${AGENT_JSON} as agent from public.agents a order by a.created_at, a.id`);
  return rows.map((r) => r.agent);
}

/** One agent by id or widget key. */
export function getAgent(q: Executor, ref: string): Promise<Agent> {
  return one(q, `select ${AGENT_JSON} as agent from public.agents a where ${byRef(ref)}`, [ref], ref);
}

/** Changes the given settings (and the owner, when `userId` is given); the others stay as they are. */
export async function updateAgent(q: Executor, ref: string, fields: AgentFields, opts: { userId?: string } = {}): Promise<Agent> {
  const entries = settings(fields);
  if (opts.userId !== undefined) entries.push(['user_id', opts.userId]);
  if (entries.length === 0) return getAgent(q, ref);
  const sets = entries.map(([k], i) => `${k} = $${i + 2}`).join(', ');
  return one(
    q,
    `update public.agents a set ${sets} where ${byRef(ref)} returning ${AGENT_JSON} as agent`,
    [ref, ...entries.map(([, v]) => v)],
    ref,
  );
}

/** Gives the agent a new widget key: the old one is refused from the next uncached lookup on. */
export function rotateKey(q: Executor, ref: string): Promise<Agent> {
  return one(q, `update public.agents a set api_key = $2 where ${byRef(ref)} returning ${AGENT_JSON} as agent`, [ref, generateApiKey()], ref);
}

/**
 * Sets (a string) or clears (null) the identity secret visitor tokens are signed with. The proxy's agent cache
 * picks the change up within seconds; tokens signed with the old secret are refused from then on.
 */
export function setIdentitySecret(q: Executor, ref: string, secret: string | null): Promise<Agent> {
  return one(q, `update public.agents a set identity_secret = $2 where ${byRef(ref)} returning ${AGENT_JSON} as agent`, [ref, secret], ref);
}

/** Enables or disables chats for an agent; its conversations are kept either way. */
export function setActive(q: Executor, ref: string, active: boolean): Promise<Agent> {
  return one(q, `update public.agents a set is_active = $2 where ${byRef(ref)} returning ${AGENT_JSON} as agent`, [ref, active], ref);
}

/** Deletes an agent with its conversations, messages and counters (foreign keys cascade). */
export async function deleteAgent(q: Executor, ref: string): Promise<void> {
  const { rows } = await q.query(`delete from public.agents a where ${byRef(ref)} returning a.id`, [ref]);
  if (!rows[0]) throw notFound(ref);
}
