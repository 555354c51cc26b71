/** The chat-completion upstream (Mistral, or the offline demo model speaking its wire format). */

export interface UpstreamMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface UpstreamRequest {
  model: string;
  messages: UpstreamMessage[];
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
}

export interface UpstreamResult {
  /** Mistral's finish_reason (`stop`, `length`, …). */
  finishReason: string;
  promptTokens: number | null;
  completionTokens: number | null;
}

export interface UpstreamOptions {
  signal: AbortSignal;
  requestId: string;
}

/**
 * Yields text deltas as they arrive and returns the usage at the end.
 * Throws ApiError (`upstream_error`, `upstream_timeout`, `rate_limited`, `unavailable`) on failure,
 * before or after the first delta; the caller keeps what it already relayed.
 */
export interface Upstream {
  readonly kind: 'mistral' | 'offline-demo';
  stream(req: UpstreamRequest, opts: UpstreamOptions): AsyncGenerator<string, UpstreamResult, void>;
}
