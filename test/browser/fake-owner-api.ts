/**
 * A stand-in for the owner API v1 (DESIGN.md "Owner API v1") inside the browser, for the console's tests:
 * it replaces `globalThis.fetch` for two origins, the server (owner API + the few widget calls the live
 * preview makes) and a Supabase project (Auth's password and refresh grants, logout). It keeps agents,
 * conversations and messages in memory for one owner at a time, answers with DESIGN's status codes and
 * error bodies (401 unauthorized, 401 invalid_credentials, 404 not_found, 400 invalid_request + field,
 * 429 rate_limited + Retry-After), and records every call.
 */
import type { Agent, ConversationSummary, DailyFigures, OwnerConfig, TranscriptMessage } from '../../src/console/api.ts';

export const ENDPOINT = 'http://owner.test';
export const SUPABASE_URL = 'http://supabase.test';
export const ANON_KEY = 'sb_publishable_test';

export const OWNER = { id: '00000000-0000-4000-8000-000000000001', email: 'ada@example.com', password: 'correct horse battery' };
export const OTHER_OWNER = { id: '00000000-0000-4000-8000-000000000002', email: 'bob@example.com', password: 'another long password' };

export interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const apiError = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers = {}) =>
  json(status, { error: { code, message, ...extra } }, headers);

const OWNER_FIELDS = new Set([
  'name',
  'role',
  'instructions',
  'model',
  'temperature',
  'max_tokens',
  'top_p',
  'is_active',
  'allowed_origins',
  'rate_limit_session_per_minute',
  'rate_limit_ip_per_minute',
  'daily_token_budget',
  'mistral_agent_id',
  'identity_required',
  'retention_days',
]);

let seq = 0;
const uuid = () => `00000000-0000-4000-a000-${String(++seq).padStart(12, '0')}`;
const newKey = () => `mac_${Math.random().toString(36).slice(2, 14)}${seq}`;

export interface StoredConversation extends ConversationSummary {
  agent_id: string;
  messages: TranscriptMessage[];
}

export class FakeOwnerApi {
  calls: Call[] = [];
  config: OwnerConfig = { auth: 'local' };
  owners = [OWNER, OTHER_OWNER];
  agents: (Agent & { identity_secret?: string | null })[] = [];
  conversations: StoredConversation[] = [];
  daily = new Map<string, DailyFigures[]>();
  /** Access tokens the server accepts, by token: owner id and expiry (epoch ms). */
  tokens = new Map<string, { owner: string; expires: number }>();
  /** Supabase refresh tokens, by token: owner id. */
  refreshTokens = new Map<string, string>();
  /** `expires_in` of tokens issued from now on (seconds). */
  tokenLifetime = 3600;
  /** Failed sign-ins per email (DESIGN: 429 after 5 in 15 minutes). */
  failures = new Map<string, number>();
  /** Answers for the next calls matching a method and path, in order (then the normal behaviour). */
  overrides: { method: string; path: RegExp; answer: (call: Call) => Response | Promise<Response> }[] = [];
  /** Calls that wait until released (to look at a loading state). */
  #held: { path: RegExp; release?: () => void; promise?: Promise<void> }[] = [];
  #real = globalThis.fetch;

  constructor() {
    globalThis.fetch = (input, init) => this.#fetch(input, init);
  }

  restore() {
    globalThis.fetch = this.#real;
  }

  /** The next call to a path matching `path` waits until the returned function is called. */
  hold(path: RegExp): () => void {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    this.#held.push({ path, release, promise });
    return release;
  }

  /** The next call matching answers this instead. */
  once(method: string, path: RegExp, answer: Response | ((call: Call) => Response | Promise<Response>)) {
    this.overrides.push({ method, path, answer: typeof answer === 'function' ? answer : () => answer.clone() });
  }

  /** Every token stops working, as when the hour is over. */
  expireTokens() {
    for (const t of this.tokens.values()) t.expires = 0;
  }

  callsTo(method: string, path: RegExp) {
    return this.calls.filter((c) => c.method === method && path.test(c.url.pathname));
  }

  issueToken(owner: string): string {
    const token = `tok_${owner.slice(-4)}_${++seq}`;
    this.tokens.set(token, { owner, expires: Date.now() + this.tokenLifetime * 1000 });
    return token;
  }

  addAgent(fields: Partial<Agent> = {}, owner = OWNER.id): Agent {
    const now = new Date(Date.UTC(2026, 4, 1, 9, seq)).toISOString();
    const agent: Agent & { identity_secret?: string | null } = {
      id: uuid(),
      user_id: owner,
      name: 'Support',
      role: 'assistant',
      instructions: 'You answer questions about our shop.',
      model: 'mistral-small-latest',
      temperature: 0.7,
      max_tokens: 1024,
      top_p: 1,
      api_key: newKey(),
      is_active: true,
      allowed_origins: null,
      rate_limit_session_per_minute: null,
      rate_limit_ip_per_minute: null,
      daily_token_budget: null,
      mistral_agent_id: null,
      identity_required: false,
      retention_days: null,
      has_identity_secret: false,
      created_at: now,
      updated_at: now,
      ...fields,
    };
    this.agents.push(agent);
    return agent;
  }

  /** A conversation with `texts` alternating visitor / agent, the last activity at `at`. */
  addConversation(agentId: string, texts: string[], at: Date, extra: Partial<StoredConversation> = {}, messageExtra: Partial<TranscriptMessage>[] = []) {
    const id = uuid();
    const messages: TranscriptMessage[] = texts.map((content, i) => ({
      id: uuid(),
      role: i % 2 ? 'assistant' : 'user',
      content,
      sources: null,
      tokens_used: i % 2 ? 120 + i : 30,
      response_time_ms: i % 2 ? 1400 : null,
      created_at: new Date(at.getTime() - (texts.length - 1 - i) * 60_000).toISOString(),
      feedback: null,
      ...messageExtra[i],
    }));
    const last = messages.at(-1);
    const c: StoredConversation = {
      id,
      agent_id: agentId,
      session_id: `sess_${id.slice(-8)}`,
      visitor_id: `vis_${id.slice(-8)}abcdef`,
      user_ref: null,
      metadata: { page_url: 'https://shop.example.com/pricing' },
      created_at: messages[0]?.created_at ?? at.toISOString(),
      updated_at: at.toISOString(),
      message_count: messages.length,
      last_message: last ? { role: last.role, content: last.content, created_at: last.created_at } : null,
      messages,
      ...extra,
    };
    this.conversations.push(c);
    return c;
  }

  #owner(call: Call): string | Response {
    const m = /^Bearer (.+)$/.exec(call.headers.get('Authorization') ?? '');
    const t = m && this.tokens.get(m[1]!);
    if (!t || t.expires <= Date.now()) return apiError(401, 'unauthorized', 'missing, invalid or expired token');
    return t.owner;
  }

  #agentOf(owner: string, id: string) {
    return this.agents.find((a) => a.id === id && a.user_id === owner);
  }

  #public(a: Agent & { identity_secret?: string | null }): Agent {
    const { identity_secret, ...rest } = a;
    return { ...rest, has_identity_secret: !!identity_secret || rest.has_identity_secret };
  }

  /** The checks the server makes on owner-set fields (a few, enough to answer 400 with the field). */
  #invalid(body: Record<string, unknown>, creating: boolean): Response | null {
    for (const k of Object.keys(body)) if (!OWNER_FIELDS.has(k)) return apiError(400, 'invalid_request', `unknown field: ${k}`, { field: k });
    if (creating && typeof body.name !== 'string') return apiError(400, 'invalid_request', 'name is required', { field: 'name' });
    if ('name' in body && (typeof body.name !== 'string' || !body.name.trim()))
      return apiError(400, 'invalid_request', 'name must be a non-empty string', { field: 'name' });
    for (const k of ['temperature', 'top_p'])
      if (k in body && (typeof body[k] !== 'number' || (body[k] as number) < 0 || (body[k] as number) > 1))
        return apiError(400, 'invalid_request', `${k} must be between 0 and 1`, { field: k });
    return null;
  }

  #stats(owner: string) {
    return this.agents
      .filter((a) => a.user_id === owner)
      .map((a) => {
        const convs = this.conversations.filter((c) => c.agent_id === a.id);
        const msgs = convs.flatMap((c) => c.messages);
        const rt = msgs.filter((m) => m.response_time_ms != null).map((m) => m.response_time_ms!);
        const fb = (r: string) => msgs.filter((m) => m.feedback && (typeof m.feedback === 'string' ? m.feedback : m.feedback.rating) === r).length;
        return {
          agent_id: a.id,
          user_id: a.user_id,
          name: a.name,
          total_conversations: convs.length,
          total_messages: msgs.length,
          user_messages: msgs.filter((m) => m.role === 'user').length,
          assistant_messages: msgs.filter((m) => m.role === 'assistant').length,
          // bigint and numeric columns come as strings from pg
          total_tokens_used: String(msgs.reduce((n, m) => n + (m.tokens_used ?? 0), 0)),
          avg_response_time_ms: rt.length ? String(rt.reduce((x, y) => x + y, 0) / rt.length) : null,
          last_conversation_date: convs.map((c) => c.created_at).sort().at(-1) ?? null,
          positive_feedback: fb('up'),
          negative_feedback: fb('down'),
        };
      });
  }

  async #fetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== ENDPOINT && url.origin !== SUPABASE_URL) return this.#real(input, init);
    const method = (init.method ?? 'GET').toUpperCase();
    let body: unknown = undefined;
    if (typeof init.body === 'string') {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = init.body;
      }
    }
    const call: Call = { method, url, headers: new Headers(init.headers), body };
    this.calls.push(call);
    const held = this.#held.findIndex((h) => h.path.test(url.pathname));
    if (held >= 0) {
      const [h] = this.#held.splice(held, 1);
      await h!.promise;
    }
    const o = this.overrides.findIndex((x) => x.method === method && x.path.test(url.pathname));
    if (o >= 0) {
      const [x] = this.overrides.splice(o, 1);
      return x!.answer(call);
    }
    return url.origin === SUPABASE_URL ? this.#supabase(call) : this.#server(call);
  }

  #session(owner: (typeof OWNER)) {
    const refresh = `ref_${++seq}`;
    this.refreshTokens.set(refresh, owner.id);
    const access = this.issueToken(owner.id);
    return {
      access_token: access,
      token_type: 'bearer',
      expires_in: this.tokenLifetime,
      expires_at: Math.floor(Date.now() / 1000) + this.tokenLifetime,
      refresh_token: refresh,
      user: { id: owner.id, aud: 'authenticated', role: 'authenticated', email: owner.email, app_metadata: {}, user_metadata: {}, created_at: '2026-01-01T00:00:00Z' },
    };
  }

  #supabase(call: Call): Response {
    const { pathname, searchParams } = call.url;
    const b = (call.body ?? {}) as Record<string, string>;
    if (call.headers.get('apikey') !== ANON_KEY) return json(401, { message: 'Invalid API key' });
    if (pathname === '/auth/v1/token' && searchParams.get('grant_type') === 'password') {
      const fails = this.failures.get(b.email ?? '') ?? 0;
      if (fails >= 5) return json(429, { code: 429, error_code: 'over_request_rate_limit', msg: 'Request rate limit reached' });
      const owner = this.owners.find((o) => o.email === b.email && o.password === b.password);
      if (!owner) {
        this.failures.set(b.email ?? '', fails + 1);
        return json(400, { code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' });
      }
      return json(200, this.#session(owner));
    }
    if (pathname === '/auth/v1/token' && searchParams.get('grant_type') === 'refresh_token') {
      const ownerId = this.refreshTokens.get(b.refresh_token ?? '');
      const owner = this.owners.find((o) => o.id === ownerId);
      if (!owner) return json(400, { code: 400, error_code: 'refresh_token_not_found', msg: 'Invalid Refresh Token' });
      this.refreshTokens.delete(b.refresh_token!);
      return json(200, this.#session(owner));
    }
    if (pathname === '/auth/v1/logout') return new Response(null, { status: 204 });
    return json(404, { code: 404, msg: 'not found' });
  }

  #server(call: Call): Response {
    const { pathname, searchParams } = call.url;
    const m = call.method;
    // What the live preview (the real widget) asks.
    if (pathname === '/v1/agent') {
      const a = this.agents.find((x) => x.api_key === call.headers.get('X-Api-Key'));
      return a ? json(200, { name: a.name, role: a.role }) : apiError(401, 'invalid_api_key', 'invalid key');
    }
    if (/^\/v1\/sessions\/[^/]+\/messages$/.test(pathname)) return json(200, { messages: [] });
    if (pathname === '/healthz') return json(200, { ok: true });

    if (pathname === '/v1/owner/config' && m === 'GET') return json(200, this.config);
    if (pathname === '/v1/owner/token' && m === 'POST') {
      const b = (call.body ?? {}) as Record<string, unknown>;
      if (typeof b.email !== 'string') return apiError(400, 'invalid_request', 'email is required', { field: 'email' });
      if (typeof b.password !== 'string') return apiError(400, 'invalid_request', 'password is required', { field: 'password' });
      const fails = this.failures.get(b.email) ?? 0;
      if (fails >= 5) return apiError(429, 'rate_limited', 'too many failed sign-ins', {}, { 'Retry-After': '900' });
      const owner = this.owners.find((o) => o.email === b.email && o.password === b.password);
      if (!owner) {
        this.failures.set(b.email, fails + 1);
        return apiError(401, 'invalid_credentials', 'invalid email or password');
      }
      return json(200, { access_token: this.issueToken(owner.id), token_type: 'bearer', expires_in: this.tokenLifetime });
    }

    const owner = this.#owner(call);
    if (typeof owner !== 'string') return owner;
    const notFound = () => apiError(404, 'not_found', 'not found');

    if (pathname === '/v1/owner/me' && m === 'GET') {
      const o = this.owners.find((x) => x.id === owner)!;
      return json(200, { id: o.id, email: o.email });
    }
    if (pathname === '/v1/owner/agents') {
      if (m === 'GET') return json(200, { agents: this.agents.filter((a) => a.user_id === owner).map((a) => this.#public(a)) });
      if (m === 'POST') {
        const b = (call.body ?? {}) as Record<string, unknown>;
        const bad = this.#invalid(b, true);
        if (bad) return bad;
        return json(201, this.#public(this.addAgent(b as Partial<Agent>, owner)));
      }
    }
    if (pathname === '/v1/owner/statistics' && m === 'GET') return json(200, { agents: this.#stats(owner) });

    let r = /^\/v1\/owner\/agents\/([^/]+)(?:\/(rotate-key|identity-secret|conversations|daily))?$/.exec(pathname);
    if (r) {
      const agent = this.#agentOf(owner, decodeURIComponent(r[1]!));
      if (!agent) return notFound();
      const sub = r[2];
      if (!sub && m === 'GET') return json(200, this.#public(agent));
      if (!sub && m === 'PATCH') {
        const b = (call.body ?? {}) as Record<string, unknown>;
        const bad = this.#invalid(b, false);
        if (bad) return bad;
        Object.assign(agent, b, { updated_at: new Date().toISOString() });
        return json(200, this.#public(agent));
      }
      if (!sub && m === 'DELETE') {
        this.agents = this.agents.filter((a) => a !== agent);
        this.conversations = this.conversations.filter((c) => c.agent_id !== agent.id);
        return new Response(null, { status: 204 });
      }
      if (sub === 'rotate-key' && m === 'POST') {
        agent.api_key = newKey();
        return json(200, this.#public(agent));
      }
      if (sub === 'identity-secret' && m === 'POST') {
        agent.identity_secret = `ids_${'x'.repeat(40)}${++seq}`;
        return json(200, { identity_secret: agent.identity_secret });
      }
      if (sub === 'conversations' && m === 'GET') {
        const limit = Math.min(100, Number(searchParams.get('limit') ?? 50));
        const q = (searchParams.get('q') ?? '').toLowerCase();
        const before = searchParams.get('before');
        let list = this.conversations
          .filter((c) => c.agent_id === agent.id)
          .filter((c) => !q || c.messages.some((x) => x.content.toLowerCase().includes(q)))
          .sort((a, b) => b.updated_at.localeCompare(a.updated_at) || b.id.localeCompare(a.id));
        if (before) {
          const [at, id] = atob(before).split('|');
          list = list.filter((c) => c.updated_at < at! || (c.updated_at === at && c.id < id!));
        }
        const page = list.slice(0, limit);
        const last = page.at(-1);
        return json(200, {
          conversations: page.map(({ messages: _m, agent_id: _a, ...c }) => c),
          next: list.length > limit && last ? btoa(`${last.updated_at}|${last.id}`) : null,
        });
      }
      if (sub === 'daily' && m === 'GET') return json(200, { days: this.daily.get(agent.id) ?? [] });
    }

    r = /^\/v1\/owner\/conversations\/([^/]+)$/.exec(pathname);
    if (r) {
      const c = this.conversations.find((x) => x.id === decodeURIComponent(r![1]!) && this.#agentOf(owner, x.agent_id));
      if (!c) return notFound();
      if (m === 'GET') {
        const { messages, ...conversation } = c;
        return json(200, { conversation, messages });
      }
      if (m === 'DELETE') {
        this.conversations = this.conversations.filter((x) => x !== c);
        return new Response(null, { status: 204 });
      }
    }
    return notFound();
  }
}
