/**
 * What a Mistral wire format plugs into the shared transport (mistral.ts: fetch, time limits, retries,
 * error mapping): where to POST, the body, and a reader that turns SSE events into text, sources and
 * activity. Chat completions (chat-completions.ts) and the Conversations API (conversations.ts) are the two.
 */
import type { UpstreamRequest, UpstreamResult, UpstreamYield } from './upstream.ts';

export interface StreamReader {
  /**
   * Handles one SSE event (`event` is its name, when the format names them); what the visitor should
   * see goes to `out`. Returns true when the stream is over and reading can stop. Throws StreamError when
   * the stream itself reports a failure.
   */
  onEvent(event: string | undefined, data: string, out: UpstreamYield[]): boolean;
  /** Non-null once the reply is complete (a finish_reason, a `done` event), even before the stream closes. */
  result(): UpstreamResult | null;
  /** Logged when the stream ends before the reply is complete. */
  readonly cutMessage: string;
}

export interface WireFormat {
  /** Path under the base URL, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** Only the fields the endpoint knows: Mistral answers 422 to anything else. */
  body(req: UpstreamRequest): Record<string, unknown>;
  /** A reader for one attempt; `warn` logs with the call's request id. */
  reader(warn: (msg: string, fields: Record<string, unknown>) => void): StreamReader;
}

/** A failure the stream reported in band (an error chunk or event): not retried, logged with `fields`. */
export class StreamError extends Error {
  constructor(
    readonly logMsg: string,
    readonly fields: Record<string, unknown>,
  ) {
    super(logMsg);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function tokenCount(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

/** JSON of one event's data, or undefined (after a warning) when it is not JSON. */
export function parseData(data: string, warn: (msg: string, fields: Record<string, unknown>) => void): unknown {
  try {
    return JSON.parse(data);
  } catch {
    warn('Ignoring an unreadable Mistral stream event', { data: data.slice(0, 200) });
    return undefined;
  }
}
