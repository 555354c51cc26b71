/**
 * The owner API v1 client (DESIGN.md "Owner API v1"): one method per call, JSON in and out, errors as
 * {@link OwnerApiError}. No DOM, no state beyond the endpoint and where the access token comes from.
 */

/** An agent as the owner API returns it: every column of `agents` except `identity_secret`. */
export interface Agent {
  id: string;
  user_id: string;
  name: string;
  role: string;
  instructions: string | null;
  model: string;
  temperature: number | string | null;
  max_tokens: number | null;
  top_p: number | string | null;
  api_key: string;
  is_active: boolean;
  allowed_origins: string[] | null;
  rate_limit_session_per_minute: number | null;
  rate_limit_ip_per_minute: number | null;
  daily_token_budget: number | null;
  mistral_agent_id: string | null;
  identity_required: boolean;
  retention_days: number | null;
  has_identity_secret: boolean;
  created_at: string;
  updated_at: string;
}

/** The columns an owner sets (`POST` / `PATCH /v1/owner/agents…`). */
export type AgentInput = Partial<
  Pick<
    Agent,
    | 'name'
    | 'role'
    | 'instructions'
    | 'model'
    | 'max_tokens'
    | 'is_active'
    | 'allowed_origins'
    | 'rate_limit_session_per_minute'
    | 'rate_limit_ip_per_minute'
    | 'daily_token_budget'
    | 'mistral_agent_id'
    | 'identity_required'
    | 'retention_days'
  > & { temperature: number | null; top_p: number | null }
>;

/** The last message of a conversation in the inbox: a text, or the message itself. */
export type LastMessage = string | { role?: string; content?: string; created_at?: string } | null;

export interface ConversationSummary {
  id: string;
  session_id: string;
  visitor_id: string | null;
  user_ref: string | null;
  metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  message_count: number;
  last_message: LastMessage;
}

export interface Source {
  id: string;
  title: string;
  url?: string;
  snippet?: string;
}

/** A visitor's rating: `up` / `down`, or an object with the rating and an optional comment. */
export type Feedback = 'up' | 'down' | { rating: 'up' | 'down'; comment?: string | null } | null;

export interface TranscriptMessage {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  sources: Source[] | null;
  tokens_used: number | null;
  response_time_ms: number | null;
  created_at: string;
  feedback?: Feedback;
}

export interface Transcript {
  conversation: ConversationSummary & { agent_id?: string };
  messages: TranscriptMessage[];
}

/** One row of the `agent_statistics` view (numbers may come as strings from bigint / numeric columns). */
export interface AgentStatistics {
  agent_id: string;
  name: string;
  total_conversations: number | string;
  total_messages: number | string;
  user_messages: number | string | null;
  assistant_messages: number | string | null;
  total_tokens_used: number | string | null;
  avg_response_time_ms: number | string | null;
  last_conversation_date: string | null;
  positive_feedback?: number | string | null;
  negative_feedback?: number | string | null;
}

export interface DailyFigures {
  day: string;
  conversations: number;
  user_messages: number;
  assistant_messages: number;
  tokens_used: number;
  avg_response_time_ms: number | null;
  positive_feedback: number;
  negative_feedback: number;
}

export type OwnerConfig = { auth: 'local' } | { auth: 'supabase'; supabase_url: string; supabase_anon_key: string };

export interface TokenAnswer {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

/**
 * A failed call. `code` is the API's error code (`unauthorized`, `invalid_credentials`, `not_found`,
 * `invalid_request`, `rate_limited`, …) or `network` when the server could not be reached.
 */
export class OwnerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The field a 400 `invalid_request` names. */
    readonly field?: string,
    /** Seconds, from `Retry-After` or the body's `retry_after`. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'OwnerApiError';
  }
}

const CODE_OF_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  429: 'rate_limited',
};

async function toError(res: Response): Promise<OwnerApiError> {
  let body: { error?: { code?: string; message?: string; field?: string; retry_after?: number } } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON (a proxy's HTML page): the status decides
  }
  const e = body.error ?? {};
  const header = Number(res.headers.get('Retry-After'));
  const retryAfter = typeof e.retry_after === 'number' ? e.retry_after : header > 0 ? header : undefined;
  return new OwnerApiError(
    res.status,
    e.code ?? CODE_OF_STATUS[res.status] ?? (res.status >= 500 ? 'unavailable' : 'error'),
    e.message ?? res.statusText,
    e.field,
    retryAfter,
  );
}

const seg = encodeURIComponent;

export class OwnerApi {
  /**
   * @param endpoint Base URL of the server (no trailing slash needed).
   * @param token The current access token, or null when signed out.
   */
  constructor(
    readonly endpoint: string,
    readonly token: () => Promise<string | null> = async () => null,
  ) {}

  async #call<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) {
      const token = await this.token();
      if (!token) throw new OwnerApiError(401, 'unauthorized', 'not signed in');
      headers.Authorization = `Bearer ${token}`;
    }
    let res: Response;
    try {
      res = await fetch(this.endpoint.replace(/\/+$/, '') + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (err) {
      throw new OwnerApiError(0, 'network', String(err));
    }
    if (!res.ok) throw await toError(res);
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch {
      throw new OwnerApiError(res.status, 'invalid_response', 'the server did not answer JSON');
    }
  }

  config() {
    return this.#call<OwnerConfig>('GET', '/v1/owner/config', undefined, false);
  }
  signIn(email: string, password: string) {
    return this.#call<TokenAnswer>('POST', '/v1/owner/token', { email, password }, false);
  }
  me() {
    return this.#call<{ id: string; email: string }>('GET', '/v1/owner/me');
  }
  agents() {
    return this.#call<{ agents: Agent[] }>('GET', '/v1/owner/agents').then((r) => r.agents);
  }
  agent(id: string) {
    return this.#call<Agent>('GET', `/v1/owner/agents/${seg(id)}`);
  }
  createAgent(input: AgentInput) {
    return this.#call<Agent>('POST', '/v1/owner/agents', input);
  }
  updateAgent(id: string, input: AgentInput) {
    return this.#call<Agent>('PATCH', `/v1/owner/agents/${seg(id)}`, input);
  }
  deleteAgent(id: string) {
    return this.#call<void>('DELETE', `/v1/owner/agents/${seg(id)}`);
  }
  rotateKey(id: string) {
    return this.#call<Agent>('POST', `/v1/owner/agents/${seg(id)}/rotate-key`);
  }
  /** A new identity secret, returned once (`{"identity_secret"}`; the answer may carry the Agent's fields too). */
  identitySecret(id: string) {
    return this.#call<{ identity_secret: string } & Partial<Agent>>('POST', `/v1/owner/agents/${seg(id)}/identity-secret`);
  }
  conversations(agentId: string, opts: { limit?: number; before?: string | null; q?: string } = {}) {
    const p = new URLSearchParams();
    if (opts.limit) p.set('limit', String(opts.limit));
    if (opts.before) p.set('before', opts.before);
    if (opts.q) p.set('q', opts.q);
    const qs = p.size ? `?${p}` : '';
    return this.#call<{ conversations: ConversationSummary[]; next: string | null }>(
      'GET',
      `/v1/owner/agents/${seg(agentId)}/conversations${qs}`,
    );
  }
  conversation(id: string) {
    return this.#call<Transcript>('GET', `/v1/owner/conversations/${seg(id)}`);
  }
  deleteConversation(id: string) {
    return this.#call<void>('DELETE', `/v1/owner/conversations/${seg(id)}`);
  }
  statistics() {
    return this.#call<{ agents: AgentStatistics[] }>('GET', '/v1/owner/statistics').then((r) => r.agents);
  }
  daily(agentId: string, days = 30) {
    return this.#call<{ days: DailyFigures[] }>('GET', `/v1/owner/agents/${seg(agentId)}/daily?days=${days}`).then((r) => r.days);
  }
}
