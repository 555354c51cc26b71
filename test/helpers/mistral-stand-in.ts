/**
 * A local stand-in for Mistral's /v1/chat/completions and /v1/conversations: a real node:http server on
 * 127.0.0.1 speaking the recorded wire formats (src/server/upstream/wire-format.ts and conversations-wire.ts),
 * with one scriptable behaviour per request (one queue per endpoint). Cheap enough for benchmarks: with
 * chunkDelayMs 0 a reply is a single write.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EVENT_STREAM_HEADERS,
  lastUserText,
  replyFrames,
  requestValidationError,
  usageOf,
  type ReplyFormat,
} from '../../src/server/upstream/wire-format.ts';
import { conversationResponse, type ConversationBehaviour } from './conversations-stand-in.ts';

export type { ConversationBehaviour } from './conversations-stand-in.ts';

export interface ReplyShape extends Omit<ReplyFormat, 'model' | 'usageValue'> {
  /** Reply text; default `Echo: <last user message>`. */
  text?: string;
  /** Pause between SSE frames (default 0: the whole reply in one write). */
  chunkDelayMs?: number;
  /** Pause before the status line. */
  thinkMs?: number;
}

export type Behaviour =
  | ({ type: 'reply' } & ReplyShape)
  | { type: 'error'; status: number; body?: string | object; headers?: Record<string, string>; thinkMs?: number }
  /** Sends `afterChunks` frames (the role-only chunk counts), then destroys the socket or ends the response cleanly. */
  | ({ type: 'cut'; afterChunks: number; mode?: 'destroy' | 'end' } & ReplyShape)
  /** Sends headers and `afterChunks` frames, then nothing more (0 = headers only). */
  | ({ type: 'stall'; afterChunks: number } & ReplyShape)
  /** Accepts the request and never sends a single byte. */
  | { type: 'silent' };

/** How a request's response ended, as the stand-in saw it. */
export type Outcome = 'finished' | 'client-closed' | 'cut';

export interface RecordedRequest {
  /** `/v1/chat/completions` or `/v1/conversations` (without the query). */
  path: string;
  body: unknown;
  headers: IncomingHttpHeaders;
  /** Resolves when the response is over: sent in full, cut on purpose, or closed by the client first. */
  outcome: Promise<Outcome>;
}

export interface StandInOptions {
  /** Behaviour when nothing is scripted (default: an echo reply). */
  defaultBehaviour?: Behaviour;
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401 like Mistral. */
  apiKey?: string;
  /** Behaviour of /v1/conversations when nothing is scripted (default: a grounded echo with one source). */
  defaultConversation?: ConversationBehaviour;
  /** Mistral agent ids /v1/conversations knows; others get 404 (default: any id starting with `ag_`). */
  agents?: readonly string[];
  /** Keep every request in `requests` (default true; benchmarks may turn it off). */
  record?: boolean;
}

export interface MistralStandIn {
  url: string;
  requests: RecordedRequest[];
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  readonly connections: number;
  /** Queues behaviours, consumed one per request in order; then the default applies again. */
  script(next: Behaviour | Behaviour[]): void;
  /** The same for /v1/conversations. */
  scriptConversation(next: ConversationBehaviour | ConversationBehaviour[]): void;
  /** Scripted /v1/conversations behaviours not used yet. */
  pendingConversations(): number;
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export async function startMistralStandIn(opts: StandInOptions = {}): Promise<MistralStandIn> {
  const queue: Behaviour[] = [];
  const conversationQueue: ConversationBehaviour[] = [];
  const requests: RecordedRequest[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const record = opts.record !== false;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const server = createServer((req, res) => {
    let settle: (o: Outcome) => void = () => {};
    let cut = false;
    if (record) {
      const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
      res.on('close', () => settle(cut ? 'cut' : res.writableFinished ? 'finished' : 'client-closed'));
      requests.push({ path: req.url?.split('?')[0] ?? '', body: undefined, headers: req.headers, outcome });
    }
    const entry = record ? requests[requests.length - 1] : undefined;
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(parts).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      if (entry) entry.body = body;
      const path = req.url?.split('?')[0];
      if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/conversations')) {
        res.writeHead(404, JSON_HEADERS).end('{"detail":"Not Found"}');
        return;
      }
      if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
        res.writeHead(401, JSON_HEADERS).end('{"detail":"Invalid API Key"}');
        return;
      }
      if (path === '/v1/conversations') {
        const b = conversationQueue.shift() ?? opts.defaultConversation ?? { type: 'reply' };
        const r = conversationResponse(b, body, { agents: opts.agents });
        if (r.kind === 'silent') return;
        later(r.thinkMs ?? 0, () => {
          if (res.destroyed) return;
          if (r.kind === 'json') res.writeHead(r.status, { ...JSON_HEADERS, ...r.headers }).end(r.body);
          else sendFrames(res, r.frames, r.limit, r.ending, r.chunkDelayMs ?? 0, () => (cut = true));
        });
        return;
      }
      const invalid = requestValidationError(body);
      if (invalid) {
        res.writeHead(422, JSON_HEADERS).end(invalid);
        return;
      }
      const behaviour = queue.shift() ?? opts.defaultBehaviour ?? { type: 'reply' };
      respond(behaviour, body as { model: string; messages: { content: unknown }[]; stream?: unknown }, res, () => (cut = true));
    });
  });

  function respond(
    b: Behaviour,
    body: { model: string; messages: { content: unknown }[]; stream?: unknown },
    res: ServerResponse,
    markCut: () => void,
  ) {
    if (b.type === 'silent') return;
    const start = () => {
      if (res.destroyed) return;
      if (b.type === 'error') {
        const payload = typeof b.body === 'string' ? b.body : JSON.stringify(b.body ?? { object: 'error', message: 'Internal error', type: 'internal_error', param: null, code: null });
        res.writeHead(b.status, { ...JSON_HEADERS, ...b.headers }).end(payload);
        return;
      }
      const text = b.text ?? `Echo: ${lastUserText(body.messages)}`;
      if (body.stream !== true) {
        res.writeHead(200, JSON_HEADERS).end(nonStreaming(body, text));
        return;
      }
      const frames = replyFrames(text, { ...b, model: body.model, usageValue: usageOf(body.messages, text) });
      const limit = b.type === 'reply' ? frames.length : Math.min(b.afterChunks, frames.length);
      const ending = b.type === 'reply' ? 'end' : b.type === 'stall' ? 'stall' : b.mode === 'end' ? 'cut-end' : 'cut';
      sendFrames(res, frames, limit, ending, b.chunkDelayMs ?? 0, markCut);
    };
    if (b.thinkMs) later(b.thinkMs, start);
    else start();
  }

  /**
   * Writes `frames[0..limit)`, then ends as told: `end` (a complete response), `stall` (nothing more, the
   * connection stays open), `cut` (socket destroyed) or `cut-end` (the response ends cleanly, unfinished).
   */
  function sendFrames(res: ServerResponse, frames: string[], limit: number, ending: 'end' | 'stall' | 'cut' | 'cut-end', delay: number, markCut: () => void) {
    if (res.destroyed) return;
    const finish = () => {
      if (ending === 'end') return void res.end();
      if (ending === 'stall') return;
      markCut();
      if (ending === 'cut-end') res.end();
      else res.socket?.destroy();
    };
    res.writeHead(200, EVENT_STREAM_HEADERS);
    if (limit === 0) res.flushHeaders(); // a headers-only stall must still send the headers
    if (delay <= 0) {
      // One write for the whole reply; a cut waits for the bytes to leave before destroying.
      const data = frames.slice(0, limit).join('');
      if (ending === 'end') res.end(data);
      else if (data === '') finish();
      else res.write(data, finish);
      return;
    }
    let i = 0;
    const step = () => {
      if (res.destroyed) return;
      if (i >= limit) return finish();
      const frame = frames[i++] as string;
      if (i < limit || ending === 'stall') {
        res.write(frame);
        later(delay, step);
      } else if (ending === 'end') {
        res.end(frame);
      } else {
        res.write(frame, finish);
      }
    };
    step();
  }

  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    script(next) {
      queue.push(...(Array.isArray(next) ? next : [next]));
    },
    scriptConversation(next) {
      conversationQueue.push(...(Array.isArray(next) ? next : [next]));
    },
    pendingConversations: () => conversationQueue.length,
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function nonStreaming(body: { model: string; messages: { content: unknown }[] }, text: string): string {
  return JSON.stringify({
    id: 'standin', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body.model,
    usage: usageOf(body.messages, text),
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', tool_calls: null, content: text } }],
  });
}
