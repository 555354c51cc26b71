/**
 * Mistral's chat-completions stream (shared/reference/mistral-wire.md): `POST /v1/chat/completions`,
 * data-only SSE chunks ending with `data: [DONE]`; the reply is complete once a chunk carries a finish_reason.
 */
import { summarizeErrorBody } from './error-body.ts';
import { isRecord, parseData, StreamError, tokenCount, type StreamReader, type WireFormat } from './stream-reader.ts';
import type { UpstreamRequest, UpstreamResult } from './upstream.ts';

/** Only fields Mistral knows: it answers 422 to anything else. */
export function requestBody(req: UpstreamRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: req.model,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    stream: true,
  };
  if (req.temperature != null) body.temperature = req.temperature;
  if (req.max_tokens != null) body.max_tokens = req.max_tokens;
  if (req.top_p != null) body.top_p = req.top_p;
  return body;
}

/** `delta.content` is a string, or an array of parts of which only text parts are shown. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (isRecord(part) && part.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}

export const chatCompletions: WireFormat = {
  path: '/v1/chat/completions',
  body: requestBody,
  reader(warn): StreamReader {
    let finishReason: string | null = null;
    let promptTokens: number | null = null;
    let completionTokens: number | null = null;
    return {
      cutMessage: 'Mistral stream ended without a finish_reason',
      result: (): UpstreamResult | null => (finishReason === null ? null : { finishReason, promptTokens, completionTokens }),
      onEvent(_event, raw, out) {
        const data = raw.trim();
        if (data === '[DONE]') return true;
        const obj = parseData(data, warn);
        if (!isRecord(obj)) return false;
        if (obj.object === 'error') {
          throw new StreamError('Mistral sent an error inside the stream', { detail: summarizeErrorBody(data) });
        }
        const choices = Array.isArray(obj.choices) ? obj.choices : [];
        const choice = choices.find((c) => isRecord(c) && (c.index === undefined || c.index === 0));
        const delta = isRecord(choice) && isRecord(choice.delta) ? choice.delta : undefined;
        if (isRecord(choice) && typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
        if (isRecord(obj.usage)) {
          promptTokens = tokenCount(obj.usage.prompt_tokens);
          completionTokens = tokenCount(obj.usage.completion_tokens);
        }
        const text = contentText(delta?.content);
        if (text) out.push(text);
        return false;
      },
    };
  },
};
