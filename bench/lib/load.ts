/**
 * The load generator's side of a chat turn: through our proxy (`POST /v1/chat`, protocol v1), through the
 * Portkey gateway, or straight to the Mistral stand-in (both `POST /v1/chat/completions` with the body our
 * proxy would send). All use the same keep-alive node:http client and the same SSE parser, so what differs
 * between targets is the target.
 *
 * Each conversation is one visitor: its own session and its own client address (a distinct 127.x.y.z
 * loopback source address, so per-IP rate-limit buckets are per visitor as with real traffic, without
 * TRUST_PROXY, which is off by default).
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { createParser } from 'eventsource-parser';

export interface TurnSample {
  /** performance.now() when the request was sent. */
  startedAt: number;
  /** Request sent → first non-empty text delta parsed. NaN when none arrived. */
  ttftMs: number;
  /** performance.now() when the turn ended. */
  endedAt: number;
  /** The proxy answered `start` (the user message is stored). For the others: the upstream answered 200. */
  started: boolean;
  /** The turn ended with `done` (proxy) / `[DONE]` (stand-in, Portkey). */
  done: boolean;
  error?: string;
}

export interface Target {
  host: string;
  port: number;
  agent: http.Agent;
}

export function target(url: string): Target {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), agent: new http.Agent({ keepAlive: true, maxSockets: 4096 }) };
}

/** The agent the bench seeds (same values the proxy sends upstream). */
export const BENCH_AGENT = {
  instructions: 'You are a helpful test agent.',
  model: 'mistral-small-latest',
  temperature: 0.7,
  maxTokens: 1024,
  topP: 1,
} as const;

/** A 74-character visitor message. */
export function benchMessage(n: number): string {
  return `Bench message ${n}: what are your opening hours on Saturdays?`.padEnd(74, '.').slice(0, 74);
}

/** The proxy's default HISTORY_MESSAGES: the direct and Portkey bodies carry the same history. */
const HISTORY_MESSAGES = 20;

let nextAddress = 0;
/** A distinct loopback source address per conversation (127.1.0.1, 127.1.0.2, …; Linux routes all of 127/8). */
function clientAddress(): string {
  const n = ++nextAddress;
  return `127.${1 + ((n >> 16) & 0x7f)}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

function post(
  t: Target,
  localAddress: string,
  path: string,
  headers: Record<string, string>,
  body: string,
  onEvent: (event: string | undefined, data: string, at: number) => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: t.host,
        port: t.port,
        agent: t.agent,
        localAddress,
        method: 'POST',
        path,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(`HTTP ${res.statusCode}: ${text.slice(0, 160)}`));
          return;
        }
        const parser = createParser({ onEvent: (e) => onEvent(e.event, e.data, performance.now()) });
        res.on('data', (c: string) => parser.feed(c));
        res.on('end', () => resolve(undefined));
        res.on('error', (e) => resolve(e.message));
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('timed out after 60 s')));
    req.on('error', (e) => resolve(e.message));
    req.end(body);
  });
}

export interface Conversation {
  turn(): Promise<TurnSample>;
}

const id = (prefix: string) => `${prefix}${randomBytes(9).toString('base64url')}`;

/** One widget session talking through our proxy. */
export class ProxyConversation implements Conversation {
  readonly sessionId: string;
  readonly #visitorId = id('v_');
  readonly #address = clientAddress();
  #n = 0;
  readonly #headers: Record<string, string>;
  /** Turns answered `start` / `done`, for the stored-message check. */
  accepted = 0;
  completed = 0;

  constructor(
    readonly target: Target,
    apiKey: string,
    sessionPrefix: string,
  ) {
    this.sessionId = id(sessionPrefix);
    this.#headers = { 'content-type': 'application/json', 'x-api-key': apiKey, accept: 'text/event-stream' };
  }

  async turn(): Promise<TurnSample> {
    const body = JSON.stringify({ session_id: this.sessionId, visitor_id: this.#visitorId, message: benchMessage(++this.#n) });
    const t0 = performance.now();
    let ttft = Number.NaN;
    let started = false;
    let done = false;
    let failed: string | undefined;
    const error = await post(this.target, this.#address, '/v1/chat', this.#headers, body, (event, data, at) => {
      if (event === 'delta' && Number.isNaN(ttft)) ttft = at - t0;
      else if (event === 'start') started = true;
      else if (event === 'done') done = true;
      else if (event === 'error') failed = `error event: ${data}`;
    });
    if (started) this.accepted++;
    if (done) this.completed++;
    return { startedAt: t0, ttftMs: ttft, endedAt: performance.now(), started, done, ...(error || failed ? { error: error ?? failed } : {}) };
  }
}

/**
 * The same conversation as an OpenAI-style client sends it to a chat-completions endpoint: straight to the
 * stand-in (`direct`), or through a gateway (Portkey, with its routing headers). The request body is the one
 * our proxy builds (system prompt, the last 20 messages, the agent's settings).
 */
export class CompletionsConversation implements Conversation {
  readonly #history: { role: 'user' | 'assistant'; content: string }[] = [];
  readonly #address = clientAddress();
  readonly #headers: Record<string, string>;
  #n = 0;

  constructor(
    readonly target: Target,
    extraHeaders: Record<string, string> = {},
  ) {
    this.#headers = { 'content-type': 'application/json', authorization: 'Bearer bench-key', accept: 'text/event-stream', ...extraHeaders };
  }

  async turn(): Promise<TurnSample> {
    const message = benchMessage(++this.#n);
    const history = [...this.#history.slice(-(HISTORY_MESSAGES - 1)), { role: 'user' as const, content: message }];
    const body = JSON.stringify({
      model: BENCH_AGENT.model,
      messages: [{ role: 'system', content: BENCH_AGENT.instructions }, ...history],
      stream: true,
      temperature: BENCH_AGENT.temperature,
      max_tokens: BENCH_AGENT.maxTokens,
      top_p: BENCH_AGENT.topP,
    });
    const t0 = performance.now();
    let ttft = Number.NaN;
    let done = false;
    let reply = '';
    const error = await post(this.target, this.#address, '/v1/chat/completions', this.#headers, body, (_event, data, at) => {
      if (data === '[DONE]') {
        done = true;
        return;
      }
      const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) {
        if (Number.isNaN(ttft)) ttft = at - t0;
        reply += text;
      }
    });
    if (!error) this.#history.push({ role: 'user', content: message }, { role: 'assistant', content: reply });
    return { startedAt: t0, ttftMs: ttft, endedAt: performance.now(), started: !error, done, ...(error ? { error } : {}) };
  }
}

export interface PhaseResult {
  samples: TurnSample[];
  startedAt: number;
  /** When the phase stopped starting turns. */
  endsAt: number;
  /** When the last turn ended. */
  drainedAt: number;
}

/**
 * A closed loop: every conversation sends its next message as soon as the previous reply ended (no think
 * time), so `convs.length` streams are open at once. Conversations start at random instants spread over
 * `staggerMs` (about one reply's length), so arrivals are spread as they are in steady state instead of all
 * starting at the same instant. Ends after `durationMs` (turns in flight finish and count), or, with
 * `turns`, after that many turns per conversation.
 */
export async function runPhase(
  convs: Conversation[],
  opts: { durationMs?: number; turns?: number; staggerMs?: number },
): Promise<PhaseResult> {
  const samples: TurnSample[] = [];
  const startedAt = performance.now();
  const endsAt = opts.durationMs === undefined ? Number.POSITIVE_INFINITY : startedAt + opts.durationMs;
  const stagger = opts.staggerMs ?? 0;
  await Promise.all(
    convs.map(async (conv) => {
      if (stagger > 0) await new Promise((r) => setTimeout(r, Math.random() * stagger));
      for (let i = 0; (opts.turns === undefined || i < opts.turns) && performance.now() < endsAt; i++) {
        samples.push(await conv.turn());
      }
    }),
  );
  return { samples, startedAt, endsAt: Math.min(endsAt, performance.now()), drainedAt: performance.now() };
}
