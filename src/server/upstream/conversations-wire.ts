/**
 * Producers of Mistral's Conversations streaming wire format (shared/reference/mistral-conversations.md §2):
 * named SSE events whose JSON repeats the name in `type`, no `[DONE]`. Used by the offline demo model and
 * the test stand-in so both speak the documented format; the parsing side is conversations.ts. Pure
 * functions, runtime-neutral.
 */
import { completionId, estimateTokens, splitText } from './wire-format.ts';

/** One step of a scripted response; `text` becomes several `message.output.delta` events. */
export type ConversationStep =
  | { type: 'started' }
  /** `tool.execution.started` / `done`; `arguments` is omitted when undefined (as in the docs' examples). */
  | { type: 'tool'; name: string; state: 'started' | 'done'; arguments?: string; info?: Record<string, unknown> }
  /** Text deltas; as plain strings, or as `{"type":"text","text"}` chunk objects with `asChunk`. */
  | { type: 'text'; text: string; chunkSize?: number; asChunk?: boolean }
  /** A `tool_reference` chunk; `extra` adds fields the schema does not declare (e.g. `source: "brave"`). */
  | {
      type: 'reference';
      title: unknown;
      url?: unknown;
      description?: unknown;
      tool?: string;
      favicon?: string | null;
      extra?: Record<string, unknown>;
    }
  /** A `thinking` chunk: reasoning a client must not show. */
  | { type: 'thinking'; text: string }
  /** Any event as given (unknown types, odd payloads). */
  | { type: 'raw'; event: string; data: unknown }
  | { type: 'done'; usage?: ConversationUsage }
  | { type: 'error'; message: string; code: number };

export interface ConversationUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  connector_tokens?: number | null;
  connectors?: Record<string, number> | null;
}

/** Top-level fields of a ConversationRequest (start); the API answers 422 `extra_forbidden` to others. */
export const KNOWN_CONVERSATION_FIELDS: ReadonlySet<string> = new Set([
  'inputs', 'stream', 'store', 'handoff_execution', 'instructions', 'tools', 'completion_args', 'guardrails',
  'name', 'description', 'metadata', 'agent_id', 'agent_version', 'model',
]);

const hex = (n: number) => completionId().slice(0, n);

/** One named SSE frame. */
export function namedFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface ConversationFormat {
  model: string;
  agentId: string | null;
  /** Characters per text delta (default 8). */
  chunkSize?: number;
}

/** All frames of one streamed response, in order. */
export function conversationFrames(steps: ConversationStep[], f: ConversationFormat): string[] {
  const conversationId = `conv_${hex(32)}`;
  const messageId = `msg_${hex(32)}`;
  const common = { model: f.model, agent_id: f.agentId };
  const frames: string[] = [];
  let outputIndex = 0;
  let messageIndex: number | null = null;
  let contentIndex = -1;
  let lastWasText = false;
  let toolId = '';
  const at = () => new Date().toISOString();
  const emit = (type: string, data: Record<string, unknown>) => frames.push(namedFrame(type, { type, created_at: at(), ...data }));
  const delta = (content: unknown, text: boolean) => {
    if (messageIndex === null) messageIndex = outputIndex++;
    // Text continues at one content index; a chunk of another kind takes the next one.
    if (!(text && lastWasText)) contentIndex++;
    lastWasText = text;
    emit('message.output.delta', { output_index: messageIndex, id: messageId, content_index: contentIndex, ...common, role: 'assistant', content });
  };

  for (const step of steps) {
    switch (step.type) {
      case 'started':
        emit('conversation.response.started', { conversation_id: conversationId });
        break;
      case 'tool': {
        if (step.state === 'started') toolId = `tool_exec_${hex(32)}`;
        const data: Record<string, unknown> = { output_index: outputIndex, id: toolId, name: step.name };
        if (step.state === 'started') Object.assign(data, common);
        if (step.arguments !== undefined) data.arguments = step.arguments;
        if (step.info !== undefined) data.info = step.info;
        emit(`tool.execution.${step.state}`, data);
        if (step.state === 'done') outputIndex++;
        break;
      }
      case 'text':
        for (const piece of splitText(step.text, step.chunkSize ?? f.chunkSize ?? 8)) delta(step.asChunk ? { type: 'text', text: piece } : piece, true);
        break;
      case 'reference':
        delta(
          {
            type: 'tool_reference',
            tool: step.tool ?? 'document_library',
            title: step.title,
            url: step.url ?? null,
            favicon: step.favicon ?? null,
            description: step.description ?? null,
            ...step.extra,
          },
          false,
        );
        break;
      case 'thinking':
        delta({ type: 'thinking', thinking: [{ type: 'text', text: step.text }], signature: null, closed: true }, false);
        break;
      case 'raw':
        frames.push(namedFrame(step.event, step.data));
        break;
      case 'done':
        emit('conversation.response.done', { usage: step.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } });
        break;
      case 'error':
        emit('conversation.response.error', { message: step.message, code: step.code });
        break;
    }
  }
  return frames;
}

/** Usage for a reply, from the text of the inputs and of the reply (estimates, like the chat demo's). */
export function conversationUsage(inputs: unknown, reply: string, connectorTokens = 0): ConversationUsage {
  let prompt = 0;
  if (typeof inputs === 'string') prompt = estimateTokens(inputs);
  else if (Array.isArray(inputs)) {
    for (const e of inputs) {
      const content = (e as { content?: unknown } | null)?.content;
      if (typeof content === 'string') prompt += estimateTokens(content);
    }
  }
  const completion = estimateTokens(reply);
  const usage: ConversationUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion + connectorTokens };
  if (connectorTokens > 0) {
    usage.connector_tokens = connectorTokens;
    usage.connectors = { document_library: 1 };
  }
  return usage;
}

/** The last user message of `inputs` (a string, or entries with `role` and string `content`). */
export function lastUserInput(inputs: unknown): string {
  if (typeof inputs === 'string') return inputs;
  if (!Array.isArray(inputs)) return '';
  for (let i = inputs.length - 1; i >= 0; i--) {
    const e = inputs[i] as { role?: unknown; content?: unknown } | null;
    if (e?.role === 'user' && typeof e.content === 'string') return e.content;
  }
  return '';
}

/**
 * The 422 body the API gives a start request with unknown fields, no `inputs`, or input entries that are
 * not user/assistant messages; null when the body would be accepted.
 */
export function conversationRequestError(body: unknown): string | null {
  const detail: { type: string; loc: (string | number)[]; msg: string }[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    detail.push({ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary' });
  } else {
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b)) {
      if (!KNOWN_CONVERSATION_FIELDS.has(k)) detail.push({ type: 'extra_forbidden', loc: ['body', k], msg: 'Extra inputs are not permitted' });
    }
    if (typeof b.inputs === 'string') {
      // a bare first message is valid
    } else if (!Array.isArray(b.inputs)) {
      detail.push({ type: 'missing', loc: ['body', 'inputs'], msg: 'Field required' });
    } else {
      b.inputs.forEach((e: unknown, i) => {
        const entry = e as Record<string, unknown> | null;
        const ok =
          entry !== null && typeof entry === 'object' &&
          (entry.type === undefined || entry.type === 'message.input') &&
          (entry.role === 'user' || entry.role === 'assistant') &&
          (typeof entry.content === 'string' || Array.isArray(entry.content));
        if (!ok) detail.push({ type: 'union_tag_invalid', loc: ['body', 'inputs', i], msg: 'Input should be a message.input entry' });
      });
    }
  }
  if (detail.length === 0) return null;
  return JSON.stringify({ object: 'error', message: { detail }, type: 'invalid_request_error', param: null, code: null });
}
