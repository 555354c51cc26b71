/**
 * The load generator's side of a chat turn, through the proxy (`POST /v1/chat`, protocol v1) or straight to
 * the Mistral stand-in (`POST /v1/chat/completions` with the body the proxy would send). Both use the same
 * keep-alive node:http client and the same SSE parser, so what differs between the two is the proxy.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { createParser } from 'eventsource-parser';

export interface TurnSample {
  /** Request sent → first non-empty text delta parsed. NaN when none arrived. */
  ttftMs: number;
  /** performance.now() when the turn ended. */
  endedAt: number;
  /** The proxy answered `start` (the user message is stored). Always true for direct turns that answered 200. */
  started: boolean;
  /** The turn ended with `done` (proxy) / `[DONE]` (direct). */
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
  return { host: u.hostname, port: Number(u.port), agent: new http.Agent({ keepAlive: true, maxSockets: 2048 }) };
}

/** The agent the bench seeds (same values the proxy sends upstream). */
export const BENCH_AGENT = {
  instructions: 'You are a helpful test agent.',
  model: 'mistral-small-latest',
  temperature: 0.7,
  maxTokens: 1024,
  topP: 1,
} as const;

/** A 74-character visitor message: the stand-in echoes `Echo: <message>` = 80 characters = 10 deltas of 8. */
export function benchMessage(n: number): string {
  return `Bench message ${n}: what are your opening hours on Saturdays?`.padEnd(74, '.').slice(0, 74);
}

const HISTORY_MESSAGES = 20;

function post(
  t: Target,
  path: string,
  headers: Record<string, string>,
  body: string,
  onEvent: (event: string | undefined, data: string, at: number) => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: t.host, port: t.port, agent: t.agent, method: 'POST', path, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(`HTTP ${res.statusCode}: ${text.slice(0, 120)}`));
          return;
        }
        const parser = createParser({ onEvent: (e) => onEvent(e.event, e.data, performance.now()) });
        res.on('data', (c: string) => parser.feed(c));
        res.on('end', () => resolve(undefined));
        res.on('error', (e) => resolve(e.message));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', (e) => resolve(e.message));
    req.end(body);
  });
}

export interface Conversation {
  turn(): Promise<TurnSample>;
}

const id = (prefix: string) => `${prefix}${randomBytes(9).toString('base64url')}`;

/** One widget session talking through the proxy. */
export class ProxyConversation implements Conversation {
  readonly sessionId: string;
  readonly #visitorId = id('v_');
  #n = 0;
  readonly #headers: Record<string, string>;

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
    const error = await post(this.target, '/v1/chat', this.#headers, body, (event, data, at) => {
      if (event === 'delta' && Number.isNaN(ttft)) ttft = at - t0;
      else if (event === 'start') started = true;
      else if (event === 'done') done = true;
      else if (event === 'error') failed = `error event: ${data}`;
    });
    return { ttftMs: ttft, endedAt: performance.now(), started, done, ...(error || failed ? { error: error ?? failed } : {}) };
  }
}

/** The same conversation straight to the stand-in: the request body the proxy would build. */
export class DirectConversation implements Conversation {
  readonly #history: { role: 'user' | 'assistant'; content: string }[] = [];
  #n = 0;
  static readonly headers = { 'content-type': 'application/json', authorization: 'Bearer bench-key', accept: 'text/event-stream' };

  constructor(readonly target: Target) {}

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
    const error = await post(this.target, '/v1/chat/completions', DirectConversation.headers, body, (_event, data, at) => {
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
    return { ttftMs: ttft, endedAt: performance.now(), started: !error, done, ...(error ? { error } : {}) };
  }
}

export interface PhaseResult {
  samples: TurnSample[];
  /** Every turn of the phase, warm-up turns included (for counting stored messages). */
  all: TurnSample[];
  startedAt: number;
  /** When the phase stopped starting turns. */
  endsAt: number;
}

/**
 * Runs every conversation for `durationMs`. Without `thinkMs`: a closed loop (next message as soon as the
 * reply ends, no think time), at least `minTurns` turns each, and each conversation's first turn of the phase
 * is warm-up (all of them start at the same instant), left out of `samples`. With `thinkMs`: a visitor who
 * waits a random time (exponential, mean `thinkMs`) before each message, the first one included, so arrivals
 * are spread out (about `convs.length / thinkMs` messages per ms) and every turn counts.
 */
export async function runPhase(convs: Conversation[], durationMs: number, minTurns = 2, thinkMs = 0): Promise<PhaseResult> {
  const samples: TurnSample[] = [];
  const all: TurnSample[] = [];
  const startedAt = performance.now();
  const endsAt = startedAt + durationMs;
  await Promise.all(
    convs.map(async (conv) => {
      if (thinkMs > 0) {
        for (;;) {
          // A visitor who would next write after the phase ends stops now: phases end on time.
          const pause = -Math.log(1 - Math.random()) * thinkMs;
          if (performance.now() + pause >= endsAt) return;
          await new Promise((r) => setTimeout(r, pause));
          const s = await conv.turn();
          all.push(s);
          samples.push(s);
        }
      }
      for (let i = 0; i < minTurns || performance.now() < endsAt; i++) {
        const s = await conv.turn();
        all.push(s);
        if (i > 0) samples.push(s);
      }
    }),
  );
  return { samples, all, startedAt, endsAt };
}
