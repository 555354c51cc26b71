/**
 * What the Mistral stand-in (mistral-stand-in.ts) answers on `POST /v1/conversations`, built from
 * shared/reference/mistral-conversations.md: request checks (unknown fields → 422 `extra_forbidden`, inputs
 * must be message.input entries, an unknown agent → 404), then one scripted behaviour: a streamed response
 * made of steps (started, tool execution, text deltas, tool_reference chunks, thinking, unknown events,
 * done with usage, error events), an HTTP error, a cut, a stall, or silence.
 */
import {
  conversationFrames,
  conversationRequestError,
  conversationUsage,
  lastUserInput,
  type ConversationStep,
} from '../../src/server/upstream/conversations-wire.ts';

export type ConversationBehaviour =
  /** Default steps: a grounded echo (started, document_library run, `Echo: <message>`, one source, done). */
  | { type: 'reply'; steps?: ConversationStep[]; chunkDelayMs?: number; thinkMs?: number; chunkSize?: number }
  | { type: 'error'; status: number; body?: string | object; headers?: Record<string, string>; thinkMs?: number }
  /** Sends the first `afterEvents` frames, then destroys the socket (or ends the response cleanly). */
  | { type: 'cut'; afterEvents: number; steps?: ConversationStep[]; mode?: 'destroy' | 'end'; chunkDelayMs?: number }
  /** Sends headers and the first `afterEvents` frames, then nothing more. */
  | { type: 'stall'; afterEvents: number; steps?: ConversationStep[]; chunkDelayMs?: number }
  | { type: 'silent' };

export type ConversationAnswer =
  | { kind: 'json'; status: number; body: string; headers?: Record<string, string>; thinkMs?: number }
  | { kind: 'frames'; frames: string[]; limit: number; ending: 'end' | 'stall' | 'cut' | 'cut-end'; chunkDelayMs?: number; thinkMs?: number }
  | { kind: 'silent' };

/** The stand-in's default answer: what a document_library agent does, in the reference's order. */
export function groundedEcho(body: unknown): ConversationStep[] {
  const inputs = (body as { inputs?: unknown } | null)?.inputs;
  const text = `Echo: ${lastUserInput(inputs)}`;
  return [
    { type: 'started' },
    { type: 'tool', name: 'document_library', state: 'started', arguments: '{"query": "echo"}' },
    { type: 'tool', name: 'document_library', state: 'done', info: {} },
    { type: 'text', text },
    { type: 'reference', title: 'Stand-in handbook.pdf', url: 'https://docs.example/handbook', description: 'The stand-in cites this.' },
    { type: 'done', usage: conversationUsage(inputs, text, 100) },
  ];
}

export function conversationResponse(b: ConversationBehaviour, body: unknown, opts: { agents?: readonly string[] | undefined }): ConversationAnswer {
  const invalid = conversationRequestError(body);
  if (invalid) return { kind: 'json', status: 422, body: invalid };
  const req = body as { agent_id?: unknown; model?: unknown; stream?: unknown };
  const agentId = typeof req.agent_id === 'string' ? req.agent_id : null;
  if (agentId !== null && !(opts.agents ? opts.agents.includes(agentId) : agentId.startsWith('ag_'))) {
    // The reference leaves the 404 body UNCONFIRMED: this is one plausible shape.
    return { kind: 'json', status: 404, body: JSON.stringify({ object: 'error', message: `Agent ${agentId} not found`, type: 'invalid_request_error', param: null, code: null }) };
  }
  if (b.type === 'silent') return { kind: 'silent' };
  if (b.type === 'error') {
    const payload = typeof b.body === 'string' ? b.body : JSON.stringify(b.body ?? { object: 'error', message: 'Internal error', type: 'internal_error', param: null, code: null });
    return { kind: 'json', status: b.status, body: payload, ...(b.headers ? { headers: b.headers } : {}), ...(b.thinkMs ? { thinkMs: b.thinkMs } : {}) };
  }
  const model = typeof req.model === 'string' ? req.model : 'mistral-medium-latest';
  const frames = conversationFrames(b.steps ?? groundedEcho(body), { model, agentId, chunkSize: b.type === 'reply' ? b.chunkSize : undefined });
  if (req.stream !== true) return { kind: 'json', status: 400, body: '{"detail":"the stand-in only streams"}' };
  const delay = b.chunkDelayMs === undefined ? {} : { chunkDelayMs: b.chunkDelayMs };
  if (b.type === 'reply') return { kind: 'frames', frames, limit: frames.length, ending: 'end', ...delay, ...(b.thinkMs ? { thinkMs: b.thinkMs } : {}) };
  const limit = Math.min(b.afterEvents, frames.length);
  if (b.type === 'stall') return { kind: 'frames', frames, limit, ending: 'stall', ...delay };
  return { kind: 'frames', frames, limit, ending: b.mode === 'end' ? 'cut-end' : 'cut', ...delay };
}
