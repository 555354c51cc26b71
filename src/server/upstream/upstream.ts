/**
 * The model upstream: Mistral (chat completions, or the Conversations API for an agent with a
 * `mistral_agent_id`), or the offline demo model speaking the same wire formats.
 */
import type { ActivityEvent, Source } from '../../protocol.ts';

export interface UpstreamMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * One turn, described once for every wire format: each client sends what its format takes. Chat completions
 * send `model`, `messages` (system included) and the settings; with `agentId`, the Conversations API sends
 * only the agent id and the user/assistant messages (the agent's own instructions, tools and settings apply).
 */
export interface UpstreamRequest {
  model: string;
  messages: UpstreamMessage[];
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  /** A Mistral agent (agents.mistral_agent_id): the turn goes through the Conversations API. */
  agentId?: string;
}

export interface UpstreamResult {
  /** Mistral's finish_reason (`stop`, `length`, …); `stop` for a completed Conversations response. */
  finishReason: string;
  promptTokens: number | null;
  completionTokens: number | null;
}

export interface UpstreamOptions {
  signal: AbortSignal;
  requestId: string;
}

/**
 * What a reply yields besides its text: a cited source (already checked, deduplicated and numbered for
 * this reply), or a tool starting or finishing.
 */
export type UpstreamEvent = { type: 'source'; source: Source } | ({ type: 'activity' } & ActivityEvent);

/** A text delta (a string) or an event. */
export type UpstreamYield = string | UpstreamEvent;

/**
 * Yields text deltas (strings) and, for grounded agents, sources and tool activity as they arrive; returns
 * the usage at the end. Throws ApiError (`upstream_error`, `upstream_timeout`, `rate_limited`, `unavailable`)
 * on failure, before or after the first delta; the caller keeps what it already relayed.
 */
export interface Upstream {
  readonly kind: 'mistral' | 'offline-demo';
  stream(req: UpstreamRequest, opts: UpstreamOptions): AsyncGenerator<UpstreamYield, UpstreamResult, void>;
}
