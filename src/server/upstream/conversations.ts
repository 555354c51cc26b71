/**
 * Mistral's Conversations API for a turn with one of its agents (shared/reference/mistral-conversations.md):
 * `POST /v1/conversations` with `agent_id`, `stream: true`, `store: false` (our database keeps the
 * conversation; Mistral keeps no copy) and the conversation so far as `message.input` entries, the best
 * supported way to replay it. The agent's own instructions, tools and settings apply: nothing of our row's
 * is sent.
 *
 * The stream: named SSE events, no `[DONE]`; a reply is complete at `conversation.response.done`.
 * `message.output.delta` content is a string or ONE chunk object: text is relayed, `tool_reference`
 * chunks become sources, `thinking` is never shown. Tool executions become activity. Unknown event types,
 * chunk types and fields are ignored, as the SDKs do (open enums).
 */
import { SourceList } from './sources.ts';
import { isRecord, parseData, StreamError, tokenCount, type StreamReader, type WireFormat } from './stream-reader.ts';
import type { UpstreamRequest, UpstreamResult, UpstreamYield } from './upstream.ts';

export function conversationBody(req: UpstreamRequest): Record<string, unknown> {
  const inputs = [];
  for (const m of req.messages) {
    // Replayed as message.input only (user/assistant); an empty stored reply (stopped before any text) says nothing.
    if (m.role === 'system' || m.content === '') continue;
    inputs.push({ object: 'entry', type: 'message.input', role: m.role, content: m.content, prefix: false });
  }
  return { agent_id: req.agentId, inputs, stream: true, store: false };
}

const TOOL_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A tool name fit for the protocol's `activity` event. */
const toolName = (v: unknown): string => (typeof v === 'string' && TOOL_NAME.test(v) ? v : 'tool');

/**
 * Tokens billed besides the reply's own: the prompt plus what connectors (document_library, web_search)
 * added, so that prompt + completion is what Mistral bills (`total_tokens`).
 */
export function billedPromptTokens(usage: Record<string, unknown>): number | null {
  const prompt = tokenCount(usage.prompt_tokens);
  const completion = tokenCount(usage.completion_tokens);
  const total = tokenCount(usage.total_tokens);
  if (total !== null && completion !== null && total >= completion) return Math.max(prompt ?? 0, total - completion);
  if (prompt === null) return null;
  return prompt + (tokenCount(usage.connector_tokens) ?? 0);
}

export const conversations: WireFormat = {
  path: '/v1/conversations',
  body: conversationBody,
  reader(warn): StreamReader {
    const sources = new SourceList();
    let result: UpstreamResult | null = null;
    let toldFunctionCall = false;

    const chunk = (content: unknown, out: UpstreamYield[]) => {
      if (typeof content === 'string') {
        if (content) out.push(content);
        return;
      }
      if (!isRecord(content)) return;
      if (content.type === 'text' && typeof content.text === 'string') {
        if (content.text) out.push(content.text);
      } else if (content.type === 'tool_reference') {
        const source = sources.add(content);
        if (source) out.push({ type: 'source', source });
      }
      // thinking (the model's reasoning), tool_file, image_url, document_url, and types not known yet: not shown
    };

    return {
      cutMessage: 'Mistral conversation stream ended before conversation.response.done',
      result: () => result,
      onEvent(event, data, out) {
        const obj = parseData(data, warn);
        if (!isRecord(obj)) return false;
        const type = typeof obj.type === 'string' ? obj.type : event;
        switch (type) {
          case 'message.output.delta':
            chunk(obj.content, out);
            return false;
          case 'tool.execution.started':
          case 'tool.execution.done':
            out.push({ type: 'activity', tool: toolName(obj.name), state: type === 'tool.execution.started' ? 'started' : 'done' });
            return false;
          case 'function.call.delta':
            // Functions run on the caller's side, and the proxy runs none: the agent gets no result.
            if (!toldFunctionCall) warn('The Mistral agent called a function tool; the proxy runs none', { name: obj.name });
            toldFunctionCall = true;
            return false;
          case 'conversation.response.done': {
            const usage = isRecord(obj.usage) ? obj.usage : {};
            result = { finishReason: 'stop', promptTokens: billedPromptTokens(usage), completionTokens: tokenCount(usage.completion_tokens) };
            return true;
          }
          case 'conversation.response.error':
            throw new StreamError('Mistral sent an error inside the stream', {
              detail: typeof obj.message === 'string' ? obj.message.slice(0, 300) : undefined,
              code: typeof obj.code === 'number' || typeof obj.code === 'string' ? obj.code : undefined,
            });
          default:
            // conversation.response.started, tool.execution.delta, agent.handoff.*, and event types not known yet
            return false;
        }
      },
    };
  },
};
