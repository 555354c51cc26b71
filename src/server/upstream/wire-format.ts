/**
 * Producers of Mistral's streaming chat-completions wire format (see shared/reference/mistral-wire.md).
 * Used by the offline demo model and the test stand-in so both speak exactly the recorded format;
 * the parsing side lives in mistral.ts. Pure functions, runtime-neutral.
 */

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type WireContent = string | { type: 'text'; text: string }[];

export interface WireChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: WireContent }; finish_reason: string | null }[];
  usage?: WireUsage | null;
  /** Padding field seen on real answers; clients must ignore unknown fields. */
  p?: string;
}

/** Top-level request fields Mistral accepts; anything else is answered with 422 (`extra_forbidden`). */
export const KNOWN_REQUEST_FIELDS: ReadonlySet<string> = new Set([
  'model', 'messages', 'temperature', 'top_p', 'max_tokens', 'random_seed', 'stream', 'stop', 'safe_prompt',
  'response_format', 'tools', 'tool_choice', 'presence_penalty', 'frequency_penalty', 'n',
]);

/** Rough token count (~4 characters a token), enough for demo usage numbers. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function usageOf(messages: readonly { content: unknown }[], completion: string): WireUsage {
  let prompt = 0;
  for (const m of messages) prompt += typeof m.content === 'string' ? estimateTokens(m.content) : 0;
  const completion_tokens = estimateTokens(completion);
  return { prompt_tokens: prompt, completion_tokens, total_tokens: prompt + completion_tokens };
}

/** The last user message's text in a request's `messages` (what the demo model and the stand-in echo). */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m?.role === 'user' && typeof m.content === 'string') return m.content;
  }
  return '';
}

/** 32 lowercase hex characters, like Mistral's completion ids. */
export function completionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let id = '';
  for (const b of bytes) id += b.toString(16).padStart(2, '0');
  return id;
}

/** Splits text into pieces of about `size` UTF-16 units without cutting a surrogate pair. */
export function splitText(text: string, size: number): string[] {
  const step = Math.max(1, Math.floor(size));
  const pieces: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(text.length, i + step);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    pieces.push(text.slice(i, end));
    i = end;
  }
  return pieces;
}

/** One SSE frame: `data: <json>\n\n`; `twoSpaces` reproduces peers that write `data:  {`. */
export function sseFrame(payload: WireChunk | '[DONE]', twoSpaces = false): string {
  const data = payload === '[DONE]' ? payload : JSON.stringify(payload);
  return (twoSpaces ? 'data:  ' : 'data: ') + data + '\n\n';
}

export const DONE_FRAME = 'data: [DONE]\n\n';

export interface ReplyFormat {
  model: string;
  /** Characters per content chunk (default 8). */
  chunkSize?: number;
  /** The content chunks themselves (instead of cutting `text` every `chunkSize` characters); they join into `text`. */
  pieces?: string[];
  /** `last`: usage on the chunk carrying finish_reason (default); `separate`: on an extra empty chunk. */
  usage?: 'last' | 'separate' | 'none';
  /** Send `delta.content` as `[{type:'text',text}]` parts instead of a string. */
  arrayContent?: boolean;
  twoSpaces?: boolean;
  /** Add the unknown padding field `p` on content chunks, as real answers do (default true). */
  padding?: boolean;
  /** Add `"usage": null` on intermediate chunks. */
  nullUsage?: boolean;
  finishReason?: string;
  /** Defaults to an estimate from `text`. */
  usageValue?: WireUsage;
}

const PAD = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * All frames of one streamed reply, in order: the role-only first chunk, content chunks (the last
 * with finish_reason), an optional separate usage chunk, then `[DONE]`.
 */
export function replyFrames(text: string, f: ReplyFormat): string[] {
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  const two = f.twoSpaces === true;
  const usageMode = f.usage ?? 'last';
  const usage = f.usageValue ?? usageOf([], text);
  const chunk = (delta: WireChunk['choices'][number]['delta'], finish: string | null, n: number): WireChunk => {
    const c: WireChunk = {
      id, object: 'chat.completion.chunk', created, model: f.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
    if (f.nullUsage) c.usage = null;
    if (f.padding !== false && n > 0) c.p = PAD.slice(0, 1 + (n * 7) % PAD.length);
    return c;
  };
  const content = (t: string): WireContent => (f.arrayContent ? [{ type: 'text', text: t }] : t);

  const frames = [sseFrame(chunk({ role: 'assistant', content: '' }, null, 0), two)];
  const pieces = text === '' ? [''] : (f.pieces ?? splitText(text, f.chunkSize ?? 8));
  pieces.forEach((piece, i) => {
    const isLast = i === pieces.length - 1;
    const c = chunk({ content: content(piece) }, isLast ? (f.finishReason ?? 'stop') : null, i + 1);
    if (isLast && usageMode === 'last') c.usage = usage;
    frames.push(sseFrame(c, two));
  });
  if (usageMode === 'separate') {
    const c = chunk({ content: '' }, null, pieces.length + 1);
    c.usage = usage;
    frames.push(sseFrame(c, two));
  }
  frames.push(two ? 'data:  [DONE]\n\n' : DONE_FRAME);
  return frames;
}

/**
 * Mistral's 422 body (`additionalProperties: false`) when a request has unknown top-level fields or
 * misses a required one; `null` when the body would be accepted.
 */
export function requestValidationError(body: unknown): string | null {
  const detail: { type: string; loc: string[]; msg: string }[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    detail.push({ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary' });
  } else {
    for (const k of Object.keys(body)) {
      if (!KNOWN_REQUEST_FIELDS.has(k)) detail.push({ type: 'extra_forbidden', loc: ['body', k], msg: 'Extra inputs are not permitted' });
    }
    const b = body as Record<string, unknown>;
    if (typeof b.model !== 'string') detail.push({ type: 'missing', loc: ['body', 'model'], msg: 'Field required' });
    if (!Array.isArray(b.messages)) detail.push({ type: 'missing', loc: ['body', 'messages'], msg: 'Field required' });
  }
  if (detail.length === 0) return null;
  return JSON.stringify({ object: 'error', message: { detail }, type: 'invalid_request_error', param: null, code: null });
}

export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};
