/**
 * Fault injection, end to end: the real app + SqlStore + createMistralUpstream against the Mistral stand-in
 * (small time limits), PGlite for upstream faults, and a real PostgreSQL behind a cuttable TCP tap for
 * database faults. For every fault: the protocol's code, a message for a person (no stack, no raw upstream
 * body, no key), the request id, the detail in the log, the visitor's message stored exactly once, and the
 * app still serving the next turn. app.test.ts and upstream-mistral.test.ts cover the pieces in isolation.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { createParser } from 'eventsource-parser';
import { createApp } from '../../src/server/app.ts';
import { loadConfig, type Config } from '../../src/server/config.ts';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { STORE_TIMEOUT_MS } from '../../src/server/http/store-call.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import type { Store } from '../../src/server/store/store.ts';
import { createMistralUpstream } from '../../src/server/upstream/mistral.ts';
import { startMistralStandIn, type Behaviour, type MistralStandIn } from '../helpers/mistral-stand-in.ts';
import { createTestDatabase, pgSkip, type TestDatabase } from '../helpers/pg.ts';
import { migratedPglite, seedAgent } from '../helpers/pglite.ts';

// Anything that escapes to the process would kill a real server: collected for the last test.
const escaped: unknown[] = [];
process.on('unhandledRejection', (r) => escaped.push(r));
process.on('uncaughtException', (e) => escaped.push(e));

const MISTRAL_KEY = 'sk-faults-0123456789abcdef-SECRET';
/** Planted in upstream error bodies: must reach the log, never the visitor. */
const MARKER = 'RAW-UPSTREAM-BODY-7f3a';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FAST = { firstByteMs: 300, idleMs: 300, totalMs: 5_000 };
/** Only the silence between chunks is short. */
const STALL = { firstByteMs: 5_000, idleMs: 300, totalMs: 10_000 };
const RELAXED = { firstByteMs: 5_000, idleMs: 5_000, totalMs: 20_000 };

type Log = ReturnType<typeof memoryLogger>;
type Timeouts = Config['timeouts'];
type Retries = Config['retries'];

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? 'message', data: JSON.parse(e.data) }) });
  parser.feed(text);
  return events;
}

const session = () => `sess_${randomUUID().replaceAll('-', '')}`;

/** The app as a server would build it, with the real Mistral client pointed at `baseUrl`. */
function buildProxy(store: Store, baseUrl: string, timeouts: Timeouts = RELAXED, retries: Retries = { max: 0, maxDelayMs: 0 }) {
  const log = memoryLogger();
  const pending: Promise<unknown>[] = [];
  const config: Config = { ...loadConfig({}), timeouts, retries };
  const upstream = createMistralUpstream({ apiKey: MISTRAL_KEY, baseUrl, timeouts, retries, log });
  const proxy = createApp({ store, upstream, config, log, waitUntil: (p) => void pending.push(p) });
  return { ...proxy, log, settled: () => Promise.allSettled(pending) };
}
type Proxy = ReturnType<typeof buildProxy>;

interface Turn {
  status: number;
  requestId: string;
  contentType: string;
  events: SseEvent[];
  json: { error?: { code: string; message: string; request_id?: string; field?: string } } | null;
  relayed: string;
}

function post(proxy: Proxy, apiKey: string, sessionId: string, message: string): Promise<Response> {
  return Promise.resolve(
    proxy.app.request('/v1/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey },
      body: JSON.stringify({ session_id: sessionId, message }),
    }),
  );
}

async function readTurn(res: Response): Promise<Turn> {
  const contentType = res.headers.get('Content-Type') ?? '';
  const text = await res.text();
  const events = contentType.startsWith('text/event-stream') ? parseSse(text) : [];
  const json = contentType.startsWith('application/json') ? (JSON.parse(text) as Turn['json']) : null;
  const relayed = events.filter((e) => e.event === 'delta').map((e) => e.data.text as string).join('');
  return { status: res.status, requestId: res.headers.get('X-Request-Id') ?? '', contentType, events, json, relayed };
}

async function turn(proxy: Proxy, apiKey: string, sessionId: string, message: string): Promise<Turn> {
  return readTurn(await post(proxy, apiKey, sessionId, message));
}

/** A sentence a visitor can read: no stack, no raw upstream body, no key, no error class names. */
function assertHuman(message: unknown, where: string): void {
  assert.equal(typeof message, 'string', `${where}: message is a string`);
  const m = message as string;
  assert.match(m, /^[A-Z][^\n{}<>]{8,160}[.!?]$/, `${where}: "${m}" reads as a sentence`);
  for (const leak of [MISTRAL_KEY, MARKER, 'Error', 'ECONN', 'undefined', 'Connection terminated', 'Bearer', 'sk-']) {
    assert.ok(!m.includes(leak), `${where}: "${m}" leaks ${leak}`);
  }
  assert.doesNotMatch(m, /\bat .+:\d+:\d+/, `${where}: no stack`);
}

/** Log lines of one request (app and upstream client both log `request_id`). */
function linesOf(log: Log, requestId: string) {
  return log.lines.filter((l) => l.fields?.request_id === requestId);
}

function assertLogged(log: Log, requestId: string, detail: RegExp): void {
  const lines = linesOf(log, requestId);
  assert.ok(lines.length > 0, `a log line carries request id ${requestId}`);
  assert.ok(
    lines.some((l) => detail.test(`${l.msg} ${JSON.stringify(l.fields)}`)),
    `the log of ${requestId} has ${detail}: ${JSON.stringify(lines)}`,
  );
  assert.ok(!JSON.stringify(log.lines).includes(MISTRAL_KEY), 'the Mistral key never reaches the log');
}

/** `POST /v1/chat` answered with a stream that ends in an error event of `code`. */
function assertErrorEvent(t: Turn, code: string): SseEvent['data'] {
  assert.equal(t.status, 200);
  assert.match(t.requestId, UUID);
  assert.equal(t.events[0]?.event, 'start', 'the user message was stored before the failure');
  assert.equal(t.events.filter((e) => e.event === 'done' || e.event === 'error').length, 1, 'exactly one final event');
  const last = t.events.at(-1);
  assert.equal(last?.event, 'error', `ends with an error event: ${JSON.stringify(t.events.map((e) => e.event))}`);
  assert.equal(last?.data.code, code);
  assert.equal(last?.data.request_id, t.requestId);
  assertHuman(last?.data.message, code);
  return last!.data;
}

/** `POST /v1/chat` answered with the protocol's JSON error before any stream. */
function assertJsonError(t: Turn, status: number, code: string): void {
  assert.equal(t.status, status);
  assert.match(t.contentType, /^application\/json/);
  assert.match(t.requestId, UUID);
  assert.equal(t.json?.error?.code, code);
  assert.equal(t.json?.error?.request_id, t.requestId);
  assertHuman(t.json?.error?.message, code);
}

async function storedMessages(db: Pick<Db, 'query'>, agentId: string, sessionId: string) {
  const { rows } = await db.query<{ role: string; content: string }>(
    `select m.role, m.content from public.messages m join public.conversations c on c.id = m.conversation_id
      where c.agent_id = $1 and c.session_id = $2 order by m.created_at, m.id`,
    [agentId, sessionId],
  );
  return rows.map((r) => [r.role, r.content] as [string, string]);
}

/** The user message exactly once; the assistant message once with what was relayed, or absent if nothing was. */
async function assertStored(db: Pick<Db, 'query'>, agentId: string, sessionId: string, message: string, relayed: string) {
  const expected: [string, string][] = [['user', message]];
  if (relayed) expected.push(['assistant', relayed]);
  assert.deepEqual(await storedMessages(db, agentId, sessionId), expected);
}

/** The very next visitor gets a full reply. */
async function assertServesNext(proxy: Proxy, db: Pick<Db, 'query'>, agentId: string, apiKey: string): Promise<void> {
  const s = session();
  const t = await turn(proxy, apiKey, s, 'still there?');
  assert.equal(t.status, 200);
  assert.deepEqual([t.events[0]?.event, t.events.at(-1)?.event], ['start', 'done'], JSON.stringify(t.events));
  assert.equal(t.relayed, 'Echo: still there?');
  await assertStored(db, agentId, s, 'still there?', t.relayed);
}

const errorBody = (status: number, message: string) => ({
  object: 'error', message: `${message} ${MARKER} ${MISTRAL_KEY}`, type: 'x', param: null, code: String(status),
});

// ---------------------------------------------------------------------------------------------------------

describe('when Mistral fails (PGlite, real upstream client, stand-in)', () => {
  let db: Db;
  let store: SqlStore;
  let standIn: MistralStandIn;

  before(async () => {
    [db, standIn] = await Promise.all([migratedPglite(), startMistralStandIn()]);
    store = new SqlStore(db);
  });
  after(async () => {
    await store?.close();
    await standIn?.close();
  });

  /** One turn against a scripted Mistral; returns what the tests look at. */
  async function faultyTurn(script: Behaviour[], opts: { timeouts?: Timeouts; retries?: Retries; message?: string } = {}) {
    const { agentId, apiKey } = await seedAgent(db);
    const proxy = buildProxy(store, standIn.url, opts.timeouts ?? RELAXED, opts.retries);
    const sessionId = session();
    const message = opts.message ?? `Question ${randomUUID().slice(0, 8)}`;
    const calls = standIn.requests.length;
    standIn.script(script);
    const t = await turn(proxy, apiKey, sessionId, message);
    await proxy.settled();
    return { t, proxy, agentId, apiKey, sessionId, message, upstreamCalls: () => standIn.requests.length - calls };
  }

  it('tells the visitor the assistant is misconfigured when Mistral answers 401, keeping the message', async () => {
    const f = await faultyTurn([{ type: 'error', status: 401, body: { detail: `Invalid API Key ${MARKER}` } }], {
      retries: { max: 2, maxDelayMs: 10 },
    });
    const err = assertErrorEvent(f.t, 'upstream_error');
    assert.equal(err.message, 'The assistant is not configured correctly.');
    assert.equal(f.upstreamCalls(), 1, 'a rejected key is not retried');
    assertLogged(f.proxy.log, f.t.requestId, /Mistral rejected the API key.*"status":401.*Invalid API Key/);
    await assertStored(db, f.agentId, f.sessionId, f.message, '');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('keeps the message when Mistral refuses the request with 422, logging the validation detail', async () => {
    const body = {
      object: 'error',
      message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'max_completion_tokens'], msg: `Extra inputs are not permitted ${MARKER}` }] },
      type: 'invalid_request_error', param: null, code: null,
    };
    const f = await faultyTurn([{ type: 'error', status: 422, body }], { retries: { max: 2, maxDelayMs: 10 } });
    assertErrorEvent(f.t, 'upstream_error');
    assert.equal(f.upstreamCalls(), 1, 'a refused request is not retried');
    assertLogged(f.proxy.log, f.t.requestId, /"status":422.*body\.max_completion_tokens: Extra inputs are not permitted/);
    await assertStored(db, f.agentId, f.sessionId, f.message, '');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('keeps the message when Mistral answers 429 with Retry-After, after one retry capped by the configured delay', async () => {
    const limited: Behaviour = { type: 'error', status: 429, headers: { 'retry-after': '7' }, body: errorBody(429, 'Rate limit exceeded') };
    const t0 = performance.now();
    const f = await faultyTurn([limited, limited], { retries: { max: 1, maxDelayMs: 120 } });
    assert.ok(performance.now() - t0 >= 110, 'waited for the (capped) Retry-After before retrying');
    const err = assertErrorEvent(f.t, 'rate_limited');
    assert.match(String(err.message), /too many requests/i);
    assert.equal(f.upstreamCalls(), 2);
    assertLogged(f.proxy.log, f.t.requestId, /retrying.*"delayMs":120/);
    assertLogged(f.proxy.log, f.t.requestId, /Mistral rate limit reached.*"status":429.*Rate limit exceeded/);
    await assertStored(db, f.agentId, f.sessionId, f.message, '');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('keeps the message when Mistral answers 429 without Retry-After, after backing off', async () => {
    const limited: Behaviour = { type: 'error', status: 429, body: `Too Many Requests ${MARKER}` };
    const f = await faultyTurn([limited, limited, limited], { retries: { max: 2, maxDelayMs: 30 } });
    assertErrorEvent(f.t, 'rate_limited');
    assert.equal(f.upstreamCalls(), 3, 'one call and two retries');
    assertLogged(f.proxy.log, f.t.requestId, /Mistral rate limit reached.*"attempts":3/);
    await assertStored(db, f.agentId, f.sessionId, f.message, '');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('answers normally, storing each message once, when a 500 is followed by a good reply on retry', async () => {
    const f = await faultyTurn([{ type: 'error', status: 500, body: errorBody(500, 'Internal error') }], {
      retries: { max: 1, maxDelayMs: 10 },
      message: 'retry me',
    });
    assert.deepEqual([f.t.events[0]?.event, f.t.events.at(-1)?.event], ['start', 'done']);
    assert.equal(f.t.relayed, 'Echo: retry me');
    assert.equal(f.upstreamCalls(), 2);
    assertLogged(f.proxy.log, f.t.requestId, /retrying.*"status":500/);
    await assertStored(db, f.agentId, f.sessionId, 'retry me', 'Echo: retry me');
  });

  it('keeps the message when Mistral keeps answering 500', async () => {
    const boom: Behaviour = { type: 'error', status: 500, body: errorBody(500, 'Internal error at Object.<anonymous> (/srv/x.js:1:2)') };
    const f = await faultyTurn([boom, boom], { retries: { max: 1, maxDelayMs: 10 } });
    const err = assertErrorEvent(f.t, 'upstream_error');
    assert.equal(err.message, 'The assistant is temporarily unavailable. Please try again.');
    assertLogged(f.proxy.log, f.t.requestId, /Mistral answered with an error.*"status":500.*"attempts":2/);
    await assertStored(db, f.agentId, f.sessionId, f.message, '');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('keeps the message when Mistral answers 503 with an HTML page', async () => {
    const down: Behaviour = { type: 'error', status: 503, body: `<html><body>${MARKER} Service Unavailable</body></html>` };
    const f = await faultyTurn([down, down], { retries: { max: 1, maxDelayMs: 10 } });
    assertErrorEvent(f.t, 'upstream_error');
    assertLogged(f.proxy.log, f.t.requestId, new RegExp(`"status":503.*${MARKER}`));
    await assertStored(db, f.agentId, f.sessionId, f.message, '');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('keeps the message when a 200 answer is not an event stream (a captive portal page)', async () => {
    const f = await faultyTurn([{ type: 'error', status: 200, body: `<html>${MARKER} please log in</html>` }]);
    assertErrorEvent(f.t, 'upstream_error');
    assertLogged(f.proxy.log, f.t.requestId, /ended without a finish_reason/);
    await assertStored(db, f.agentId, f.sessionId, f.message, '');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('keeps the message when Mistral cannot be reached at all', async () => {
    const gone = await startMistralStandIn();
    await gone.close();
    const { agentId, apiKey } = await seedAgent(db);
    const proxy = buildProxy(store, gone.url, RELAXED, { max: 1, maxDelayMs: 10 });
    const sessionId = session();
    const t = await turn(proxy, apiKey, sessionId, 'anyone?');
    await proxy.settled();
    const err = assertErrorEvent(t, 'upstream_error');
    assert.equal(err.message, 'The assistant could not be reached. Please try again.');
    assertLogged(proxy.log, t.requestId, /Mistral could not be reached.*ECONNREFUSED/);
    await assertStored(db, agentId, sessionId, 'anyone?', '');
  });

  it('stores the partial reply once when the stream is cut mid-reply, without retrying', async () => {
    const f = await faultyTurn([{ type: 'cut', afterChunks: 4, text: 'One two three four five six', chunkSize: 4, chunkDelayMs: 5 }], {
      retries: { max: 2, maxDelayMs: 10 },
    });
    assertErrorEvent(f.t, 'upstream_error');
    assert.equal(f.t.relayed, 'One two thre', 'three chunks relayed');
    assert.equal(f.upstreamCalls(), 1, 'no retry once text was relayed (it would repeat it)');
    assertLogged(f.proxy.log, f.t.requestId, /upstream failed.*"relayed_chars":12/);
    await assertStored(db, f.agentId, f.sessionId, f.message, 'One two thre');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('stores the partial reply when the stream ends cleanly without a finish_reason', async () => {
    const f = await faultyTurn([{ type: 'cut', afterChunks: 3, mode: 'end', text: 'abcdefghijkl', chunkSize: 4 }]);
    assertErrorEvent(f.t, 'upstream_error');
    assert.equal(f.t.relayed, 'abcdefgh');
    assertLogged(f.proxy.log, f.t.requestId, /ended without a finish_reason/);
    await assertStored(db, f.agentId, f.sessionId, f.message, 'abcdefgh');
  });

  it('sends upstream_timeout and closes the upstream request when the first byte never comes', async () => {
    const f = await faultyTurn([{ type: 'silent' }], { timeouts: FAST, retries: { max: 2, maxDelayMs: 10 } });
    assertErrorEvent(f.t, 'upstream_timeout');
    assert.equal(await standIn.requests.at(-1)?.outcome, 'client-closed', 'the upstream socket was closed');
    assert.equal(f.upstreamCalls(), 1, 'a timeout is not retried');
    assertLogged(f.proxy.log, f.t.requestId, /Mistral timed out.*"phase":"first_byte"/);
    await assertStored(db, f.agentId, f.sessionId, f.message, '');
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  it('sends upstream_timeout and stores the partial reply when the stream stalls', async () => {
    const f = await faultyTurn([{ type: 'stall', afterChunks: 3, text: 'Thinking about it...', chunkSize: 5 }], { timeouts: STALL });
    assertErrorEvent(f.t, 'upstream_timeout');
    assert.equal(f.t.relayed, 'Thinking a', 'the role chunk, then two content chunks');
    assert.equal(await standIn.requests.at(-1)?.outcome, 'client-closed');
    assertLogged(f.proxy.log, f.t.requestId, /Mistral timed out.*"phase":"idle"/);
    await assertStored(db, f.agentId, f.sessionId, f.message, f.t.relayed);
    await assertServesNext(f.proxy, db, f.agentId, f.apiKey);
  });

  describe('over a real HTTP connection (@hono/node-server)', () => {
    let proxy: Proxy;
    let server: ServerType;
    let base: string;
    before(async () => {
      proxy = buildProxy(store, standIn.url);
      server = serve({ fetch: proxy.app.fetch, port: 0, hostname: '127.0.0.1' });
      await once(server, 'listening');
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    /** Waits for the turn to be over on the server side, its last write included. */
    async function drained() {
      for (let i = 0; i < 200 && proxy.streams.active > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(proxy.streams.active, 0, 'the turn ended on the server');
    }

    it('finishes and stores the whole reply when the visitor closes the tab mid-reply', async () => {
      const { agentId, apiKey } = await seedAgent(db);
      const sessionId = session();
      const FULL = 'A long answer that goes on after the tab is closed.';
      standIn.script({ type: 'reply', text: FULL, chunkSize: 7, chunkDelayMs: 40 });
      const body = JSON.stringify({ session_id: sessionId, message: 'tell me everything' });
      const seen = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(`${base}/v1/chat`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey, 'Content-Length': Buffer.byteLength(body) },
        });
        req.on('error', () => {}); // we destroy it ourselves
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            // Two deltas relayed: the visitor closes the tab (the TCP connection goes away).
            if (parseSse(text).filter((e) => e.event === 'delta').length === 2) {
              req.destroy();
              resolve(text);
            }
          });
          res.on('error', () => {});
        });
        req.on('close', () => resolve(''));
        setTimeout(() => reject(new Error('no deltas')), 5_000);
        req.end(body);
      });
      const relayed = parseSse(seen).filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
      assert.equal(relayed, 'A long answer ');
      assert.equal(await standIn.requests.at(-1)?.outcome, 'finished', 'the Mistral request ran to its end');
      await drained();
      await assertStored(db, agentId, sessionId, 'tell me everything', FULL);
      assert.ok(proxy.log.lines.some((l) => l.msg === 'visitor left mid-reply: finishing it'));
    });

    it('stores exactly what was streamed when the visitor presses Stop, and the next message is answered', async () => {
      const { agentId, apiKey } = await seedAgent(db);
      const sessionId = session();
      const FULL = 'Counting: 1 2 3 4 5 6 7 8 9 10';
      standIn.script({ type: 'reply', text: FULL, chunkSize: 4, chunkDelayMs: 150 });
      const res = await fetch(`${base}/v1/chat`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey },
        body: JSON.stringify({ session_id: sessionId, message: 'count' }),
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!parseSse(text).some((e) => e.event === 'delta')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      // What the widget's Stop button does: ask the proxy, keep reading until done.
      const stop = await fetch(`${base}/v1/sessions/${sessionId}/stop`, { method: 'POST', headers: { 'X-Api-Key': apiKey } });
      assert.equal(stop.status, 204);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      const events = parseSse(text);
      const seen = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
      assert.equal(events.at(-1)?.event, 'done');
      assert.equal(events.at(-1)?.data.stopped, true);
      assert.equal(await standIn.requests.at(-1)?.outcome, 'client-closed', 'the Mistral request was closed');
      await drained();
      // Stored: exactly what the visitor saw, no more, no less.
      const stored = await storedMessages(db, agentId, sessionId);
      assert.deepEqual(stored, [['user', 'count'], ['assistant', seen]]);
      assert.ok(seen.length > 0 && seen.length < FULL.length, seen);
      const requestId = res.headers.get('X-Request-Id') ?? '';
      assert.ok(linesOf(proxy.log, requestId).some((l) => l.msg === 'chat stopped by the visitor'), 'the stop is logged');

      // The same visitor goes on in the same session: history includes the partial reply.
      const next = await fetch(`${base}/v1/chat`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey },
        body: JSON.stringify({ session_id: sessionId, message: 'go on' }),
      });
      const nextEvents = parseSse(await next.text());
      assert.equal(nextEvents.at(-1)?.event, 'done');
      const sent = (standIn.requests.at(-1)?.body as { messages: { role: string; content: string }[] }).messages;
      assert.deepEqual(sent.slice(-3).map((m) => [m.role, m.content]), [['user', 'count'], ['assistant', seen], ['user', 'go on']]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// The database going away, on a real PostgreSQL reached through a TCP tap we can cut.

interface PgTap {
  url: string;
  /** Drops every connection and refuses new ones (ECONNRESET at once). */
  cut(): void;
  restore(): void;
  /** Stops forwarding bytes without closing anything (a partition, a frozen host): the database goes silent. */
  freeze(): void;
  /** Delivers what was held back, as TCP does once a partition heals. */
  thaw(): void;
  /** Answers again: not cut, not frozen (held bytes delivered), no trap set. */
  reset(): void;
  /**
   * Drops every connection when a client sends a statement containing `sql`, or, for `public.<fn>(`, runs the
   * prepared statement named <fn>_<hash> (the store prepares begin_turn and end_turn: after the first turn on a
   * connection only their name goes over the wire): before it reaches the server
   * (it never runs), or after the server answered (it ran; the answer is lost). Resolves when it happened.
   */
  dropOn(sql: string, when: 'before' | 'after'): Promise<void>;
  close(): Promise<void>;
}

async function startPgTap(target: URL): Promise<PgTap> {
  const pairs = new Set<[Socket, Socket]>();
  let down = false;
  let held: (() => void)[] | null = null;
  let trap: { patterns: Buffer[]; when: 'before' | 'after'; fired: () => void } | null = null;

  const dropAll = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };

  const server: Server = createServer((client) => {
    if (down) return void client.destroy();
    const db = connect(Number(target.port || 5432), target.hostname);
    const pair: [Socket, Socket] = [client, db];
    pairs.add(pair);
    let swallow: (() => void) | null = null;
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      db.destroy();
    };
    client.on('error', end).on('close', end);
    db.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => {
      const t = trap;
      if (t && t.patterns.some((p) => chunk.includes(p))) {
        trap = null;
        if (t.when === 'before') {
          dropAll();
          t.fired();
          return;
        }
        // Let the statement run; drop the connection as soon as the answer comes back, unread.
        swallow = () => {
          dropAll();
          t.fired();
        };
      }
      if (held) held.push(() => db.write(chunk));
      else db.write(chunk);
    });
    db.on('data', (chunk: Buffer) => {
      if (swallow) return swallow();
      if (held) held.push(() => client.write(chunk));
      else client.write(chunk);
    });
  });
  const restore = () => {
    down = false;
  };
  const thaw = () => {
    const flush = held ?? [];
    held = null;
    for (const write of flush) write();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    cut() {
      down = true;
      dropAll();
    },
    restore,
    freeze() {
      held ??= [];
    },
    thaw,
    reset() {
      restore();
      thaw();
      trap = null;
    },
    dropOn(sql, when) {
      return new Promise((fired, reject) => {
        const timer = setTimeout(() => reject(new Error(`no statement with ${sql} went through the tap`)), 10_000);
        // A Bind message names the statement after the (empty) portal name: "\0<fn>_<hash of its text>\0".
        const fn = /^public\.(\w+)\($/.exec(sql)?.[1];
        const patterns = [Buffer.from(sql), ...(fn ? [Buffer.from(`\0${fn}_`)] : [])];
        trap = { patterns, when, fired: () => (clearTimeout(timer), fired()) };
      });
    },
    close() {
      down = true;
      held = null;
      dropAll();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe('when PostgreSQL becomes unreachable (real PostgreSQL behind a TCP tap)', { skip: await pgSkip() }, () => {
  let database: TestDatabase;
  let direct: Db;
  let tap: PgTap;
  let tapped: Db;
  let standIn: MistralStandIn;
  const poolErrors: Error[] = [];

  before(async () => {
    database = await createTestDatabase();
    direct = openPostgres(database.url, { max: 2 });
    await migrate(direct);
    tap = await startPgTap(new URL(database.url));
    tapped = openPostgres(tap.url, { max: 4, onError: (e) => poolErrors.push(e) });
    standIn = await startMistralStandIn();
  });
  after(async () => {
    await tap?.close(); // first: drops every connection, so a query still waiting cannot hold the pool open
    await tapped?.close().catch(() => {});
    await direct?.close();
    await database?.drop();
    await standIn?.close();
  });

  // Whatever a test did to the tap, the next one starts with a database that answers.
  afterEach(() => tap.reset());

  async function setup() {
    const { agentId, apiKey } = await seedAgent(direct);
    const proxy = buildProxy(new SqlStore(tapped), standIn.url);
    return { agentId, apiKey, proxy };
  }

  it('answers chats and /healthz with 503 while the database is unreachable, then recovers by itself', async () => {
    const { agentId, apiKey, proxy } = await setup();
    assert.equal((await proxy.app.request('/healthz')).status, 200);
    await assertServesNext(proxy, direct, agentId, apiKey);

    tap.cut();
    // The pool's idle connections die with it: reported to the pool's listener (without one, a crash).
    for (let i = 0; i < 100 && poolErrors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(poolErrors.length > 0, 'dropped idle connections reach the pool listener');
    const sessionId = session();
    const t = await turn(proxy, apiKey, sessionId, 'is anyone there?');
    assertJsonError(t, 503, 'unavailable');
    assertLogged(proxy.log, t.requestId, /database call failed.*"call":"beginTurn"/);
    const health = await proxy.app.request('/healthz');
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { ok: false });
    const history = await proxy.app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } });
    assert.equal(history.status, 503);
    assert.equal(((await history.json()) as { error: { code: string } }).error.code, 'unavailable');
    assert.deepEqual(await storedMessages(direct, agentId, sessionId), [], 'nothing half-written');

    tap.restore();
    assert.equal((await proxy.app.request('/healthz')).status, 200);
    const again = await turn(proxy, apiKey, sessionId, 'is anyone there?');
    assert.equal(again.events.at(-1)?.event, 'done');
    await assertStored(direct, agentId, sessionId, 'is anyone there?', 'Echo: is anyone there?');
  });

  it('sends an error event, keeping the user message once and no reply, when the database dies mid-stream', async () => {
    const { agentId, apiKey, proxy } = await setup();
    const sessionId = session();
    standIn.script({ type: 'reply', text: 'A reply that takes a while.', chunkSize: 6, chunkDelayMs: 100 });
    const res = await proxy.app.request('/v1/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey },
      body: JSON.stringify({ session_id: sessionId, message: 'slow one' }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let cut = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (!cut && parseSse(text).some((e) => e.event === 'delta')) {
        tap.cut(); // after begin_turn, before end_turn
        cut = true;
      }
    }
    await proxy.settled();
    const events = parseSse(text);
    const t: Turn = {
      status: res.status, requestId: res.headers.get('X-Request-Id') ?? '', contentType: '', events, json: null,
      relayed: events.filter((e) => e.event === 'delta').map((e) => e.data.text).join(''),
    };
    assertErrorEvent(t, 'unavailable');
    assert.equal(t.relayed, 'A reply that takes a while.', 'the visitor saw the whole reply');
    assertLogged(proxy.log, t.requestId, /database call failed.*"call":"endTurn"/);
    tap.restore();
    assert.deepEqual(await storedMessages(direct, agentId, sessionId), [['user', 'slow one']]);
    await assertServesNext(proxy, direct, agentId, apiKey);
  });

  it('answers within the store time limit instead of hanging when the database goes silent, then recovers', { timeout: 30_000 }, async () => {
    const { agentId, apiKey, proxy } = await setup();
    await assertServesNext(proxy, direct, agentId, apiKey); // warm: the pool has connections, the agent is cached

    // A turn whose reply ends while the database is silent: its end_turn gets no answer.
    const streaming = session();
    standIn.script({ type: 'reply', text: 'Slow words.', chunkSize: 3, chunkDelayMs: 100 });
    const slowRes = await post(proxy, apiKey, streaming, 'talk slowly'); // answered once begin_turn is done
    tap.freeze();
    const slowTurn = readTurn(slowRes);
    const t0 = performance.now();
    const silent = session();
    const [fresh, slow, health] = await Promise.all([
      turn(proxy, apiKey, silent, 'hello?'),
      slowTurn,
      Promise.resolve(proxy.app.request('/healthz')).then((r) => r.status),
    ]);
    const waited = performance.now() - t0;
    assert.equal(health, 503);
    assertJsonError(fresh, 503, 'unavailable');
    assertErrorEvent(slow, 'unavailable');
    assert.equal(slow.relayed, 'Slow words.');
    assert.ok(waited >= STORE_TIMEOUT_MS - 200 && waited < STORE_TIMEOUT_MS + 5_000, `answered after ${Math.round(waited)} ms`);
    assertLogged(proxy.log, fresh.requestId, /database call failed.*no answer after/);
    assertLogged(proxy.log, slow.requestId, /database call failed.*"call":"endTurn"/);

    tap.thaw(); // the held statements reach the database late and run
    await assertServesNext(proxy, direct, agentId, apiKey);
    const late = await storedMessages(direct, agentId, streaming);
    assert.deepEqual(late[0], ['user', 'talk slowly']);
    assert.ok(late.length <= 2 && late.slice(1).every((m) => m[0] === 'assistant' && m[1] === 'Slow words.'), JSON.stringify(late));
    const lost = await storedMessages(direct, agentId, silent);
    assert.ok(lost.length <= 1 && lost.every((m) => m[0] === 'user' && m[1] === 'hello?'), JSON.stringify(lost));
  });

  for (const when of ['before', 'after'] as const) {
    const outcome = when === 'before' ? 'never runs' : 'runs but its answer is lost';
    it(`keeps the reply stored ${when === 'before' ? 'not at all' : 'exactly once'} when end_turn ${outcome}`, async () => {
      const { agentId, apiKey, proxy } = await setup();
      const sessionId = session();
      const dropped = tap.dropOn('public.end_turn(', when);
      const t = await turn(proxy, apiKey, sessionId, `end_turn ${when}`);
      await dropped;
      await proxy.settled();
      assertErrorEvent(t, 'unavailable');
      assert.equal(t.relayed, `Echo: end_turn ${when}`);
      assertLogged(proxy.log, t.requestId, /database call failed.*"call":"endTurn"/);
      await assertStored(direct, agentId, sessionId, `end_turn ${when}`, when === 'before' ? '' : t.relayed);
      await assertServesNext(proxy, direct, agentId, apiKey);
    });

    it(`answers 503 and stores the user message ${when === 'before' ? 'not at all' : 'exactly once'} when begin_turn ${outcome}`, async () => {
      const { agentId, apiKey, proxy } = await setup();
      const sessionId = session();
      const calls = standIn.requests.length;
      const dropped = tap.dropOn('public.begin_turn(', when);
      const t = await turn(proxy, apiKey, sessionId, `begin_turn ${when}`);
      await dropped;
      assertJsonError(t, 503, 'unavailable');
      assert.equal(standIn.requests.length, calls, 'Mistral is not called');
      const stored = await storedMessages(direct, agentId, sessionId);
      assert.deepEqual(stored, when === 'before' ? [] : [['user', `begin_turn ${when}`]]);
      await assertServesNext(proxy, direct, agentId, apiKey);
    });
  }
});

describe('the process', () => {
  it('saw no unhandled rejection or uncaught exception across all the faults above', () => {
    assert.deepEqual(escaped.map(String), []);
  });
});
