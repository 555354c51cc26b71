/**
 * The proxy app through `app.request()` (no server): the real SqlStore over a migrated PGlite, and either
 * a scripted Upstream (the interface itself) or the real Mistral upstream against the local stand-in.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { createApp, type AppDeps } from '../../src/server/app.ts';
import { AgentCache } from '../../src/server/http/agent-cache.ts';
import { loadConfig, type Config } from '../../src/server/config.ts';
import type { Db } from '../../src/server/db/db.ts';
import { ApiError } from '../../src/server/errors.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { runMaintenance } from '../../src/server/data/maintenance.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import type { Store } from '../../src/server/store/store.ts';
import { createMistralUpstream } from '../../src/server/upstream/mistral.ts';
import type { Upstream, UpstreamOptions, UpstreamRequest, UpstreamResult } from '../../src/server/upstream/upstream.ts';
import { startMistralStandIn, type MistralStandIn } from '../helpers/mistral-stand-in.ts';
import { migratedPglite, seedAgent } from '../helpers/pglite.ts';
import { newIdentitySecret, userToken } from '../helpers/user-token.ts';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

type Script = (req: UpstreamRequest, opts: UpstreamOptions) => AsyncGenerator<string, UpstreamResult, void>;

/** An Upstream whose reply a test writes as a generator; records every call. */
function scripted(script: Script): Upstream & { calls: { req: UpstreamRequest; signal: AbortSignal }[] } {
  const calls: { req: UpstreamRequest; signal: AbortSignal }[] = [];
  return {
    kind: 'mistral',
    calls,
    stream(req, opts) {
      calls.push({ req, signal: opts.signal });
      return script(req, opts);
    },
  };
}

const usage = (prompt: number | null, completion: number | null): UpstreamResult => ({
  finishReason: 'stop',
  promptTokens: prompt,
  completionTokens: completion,
});

/** Replies with these pieces, then the given usage. */
const replying = (pieces: string[], result = usage(12, 5)) =>
  scripted(async function* () {
    for (const p of pieces) yield p;
    return result;
  });

/** Resolves when `signal` aborts. */
const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve())));

/** A Store that forwards to the real one, with some methods replaced. */
function wrapStore(store: Store, over: Partial<Omit<Store, 'kind'>>): Store {
  return {
    kind: store.kind,
    agentByKey: over.agentByKey ?? ((k) => store.agentByKey(k)),
    beginTurn: over.beginTurn ?? ((i) => store.beginTurn(i)),
    endTurn: over.endTurn ?? ((i) => store.endTurn(i)),
    abandonTurn: over.abandonTurn ?? ((c, m) => store.abandonTurn(c, m)),
    history: over.history ?? ((a, s, l) => store.history(a, s, l)),
    visitorHistory: over.visitorHistory ?? ((a, s, l, u) => store.visitorHistory(a, s, l, u)),
    requestStop: over.requestStop ?? ((a, s, u) => store.requestStop(a, s, u)),
    stopRequests: over.stopRequests ?? ((ids) => store.stopRequests(ids)),
    userConversations: over.userConversations ?? ((a, u, l) => store.userConversations(a, u, l)),
    setFeedback: over.setFeedback ?? ((i) => store.setFeedback(i)),
    ping: over.ping ?? (() => store.ping()),
    close: () => store.close(),
  };
}

const session = () => `sess_${randomUUID().replaceAll('-', '')}`;

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** All events of a finished SSE answer. */
async function sseEvents(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? 'message', data: JSON.parse(e.data) }) });
  parser.feed(await res.text());
  return events;
}

/** Reads SSE events one at a time, for tests that act mid-stream. */
function sseReader(res: Response) {
  assert.ok(res.body);
  const reader = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  return {
    async next(): Promise<SseEvent | null> {
      const { value, done } = await reader.read();
      return done ? null : { event: value.event ?? 'message', data: JSON.parse(value.data) };
    },
    async rest(): Promise<SseEvent[]> {
      const out: SseEvent[] = [];
      for (let e = await this.next(); e; e = await this.next()) out.push(e);
      return out;
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let db: Db;
let realStore: SqlStore;

before(async () => {
  db = await migratedPglite();
  realStore = new SqlStore(db);
});
after(async () => {
  await realStore?.close();
});

function testConfig(over: Partial<Config> = {}): Config {
  const base = loadConfig({});
  return {
    ...base,
    retries: { max: 0, maxDelayMs: 0 },
    timeouts: { firstByteMs: 2_000, idleMs: 2_000, totalMs: 10_000 },
    ...over,
  };
}

function makeApp(over: Partial<AppDeps> = {}) {
  const log = memoryLogger();
  const pending: Promise<unknown>[] = [];
  const proxy = createApp({
    store: realStore,
    upstream: replying(['Hello', ' there']),
    config: testConfig(),
    log,
    waitUntil: (p) => void pending.push(p),
    ...over,
  });
  /** Everything handed to waitUntil (the turns' last writes) has settled. */
  const settled = () => Promise.allSettled(pending);
  return { ...proxy, log, settled };
}

async function newAgent(opts: Parameters<typeof seedAgent>[1] = {}) {
  return seedAgent(db, opts);
}

function chat(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  apiKey: string | null,
  body: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...init.headers };
  if (apiKey !== null) headers['X-Api-Key'] = apiKey;
  return Promise.resolve(
    app.request('/v1/chat', {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...(init.signal ? { signal: init.signal } : {}),
    }),
  );
}

async function messagesOf(agentId: string, sessionId: string) {
  const { rows } = await db.query<{ id: string; role: string; content: string; tokens_used: number | null; response_time_ms: number | null }>(
    `select m.id, m.role, m.content, m.tokens_used, m.response_time_ms
       from public.messages m join public.conversations c on c.id = m.conversation_id
      where c.agent_id = $1 and c.session_id = $2
      order by m.created_at, m.id`,
    [agentId, sessionId],
  );
  return rows;
}

async function assertJsonError(res: Response, status: number, code: string, field?: string) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('Content-Type') ?? '', /^application\/json/);
  const requestId = res.headers.get('X-Request-Id');
  assert.match(requestId ?? '', UUID);
  const body = (await res.json()) as { error: { code: string; message: string; field?: string; request_id?: string } };
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.equal(body.error.request_id, requestId);
  if (field !== undefined) {
    assert.equal(body.error.field, field);
    assert.ok(body.error.message.includes(field), `message "${body.error.message}" names ${field}`);
  }
  assert.doesNotMatch(JSON.stringify(body), /\bat .+:\d+:\d+|node_modules|Error:/, 'no stack or raw error');
  return body.error;
}

// ---------------------------------------------------------------------------------------------------------

describe('GET /v1/agent', () => {
  it('shows the agent name and role, and nothing else', async () => {
    const { apiKey } = await newAgent({ name: 'Support', role: 'helper', instructions: 'secret prompt' });
    const { app } = makeApp();
    const res = await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('X-Request-Id') ?? '', UUID);
    assert.deepEqual(await res.json(), { name: 'Support', role: 'helper' });
  });

  it('answers 401 invalid_api_key without a key or with an unknown one', async () => {
    const { app } = makeApp();
    await assertJsonError(await app.request('/v1/agent'), 401, 'invalid_api_key');
    await assertJsonError(await app.request('/v1/agent', { headers: { 'X-Api-Key': 'mac_nope' } }), 401, 'invalid_api_key');
    await assertJsonError(await app.request('/v1/agent', { headers: { 'X-Api-Key': 'x'.repeat(600) } }), 401, 'invalid_api_key');
  });

  it('answers 403 agent_inactive for a disabled agent', async () => {
    const { apiKey } = await newAgent({ isActive: false });
    const { app } = makeApp();
    await assertJsonError(await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey } }), 403, 'agent_inactive');
  });

  it('looks an agent up once for several requests (a chat turn is one database round trip)', async () => {
    const { apiKey } = await newAgent();
    let lookups = 0;
    let begins = 0;
    const store = wrapStore(realStore, {
      agentByKey: (k) => (lookups++, realStore.agentByKey(k)),
      beginTurn: (i) => (begins++, realStore.beginTurn(i)),
    });
    const { app } = makeApp({ store });
    const sessionId = session();
    await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey } });
    for (let i = 0; i < 3; i++) await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: `hi ${i}` }));
    assert.equal(lookups, 1);
    assert.equal(begins, 3);
  });
});

describe('origins and CORS', () => {
  /** The agent_by_key of the abuse-control migration returns the allowlist; the wrapper stands in for it here. */
  async function appWithAllowlist(allowed: string[] | null, active = true) {
    const seeded = await newAgent({ isActive: active });
    const store = wrapStore(realStore, {
      agentByKey: async (k) => {
        const a = await realStore.agentByKey(k);
        return a && { ...a, allowed_origins: allowed };
      },
    });
    return { ...seeded, ...makeApp({ store }) };
  }

  it('grants CORS to an allowed origin and varies on Origin', async () => {
    const { app, apiKey } = await appWithAllowlist(['https://shop.example.com', 'https://*.example.org']);
    for (const origin of ['https://shop.example.com', 'https://www.example.org']) {
      const res = await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey, Origin: origin } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('Access-Control-Allow-Origin'), origin);
      assert.match(res.headers.get('Vary') ?? '', /Origin/);
      assert.match(res.headers.get('Access-Control-Expose-Headers') ?? '', /X-Request-Id/);
      assert.equal(res.headers.get('Access-Control-Allow-Credentials'), null);
    }
    const stream = await chat(app, apiKey, { session_id: session(), message: 'hi' }, { headers: { Origin: 'https://shop.example.com' } });
    assert.equal(stream.headers.get('Access-Control-Allow-Origin'), 'https://shop.example.com');
    assert.equal((await sseEvents(stream)).at(-1)?.event, 'done');
  });

  it('refuses a page from another origin with 403 origin_not_allowed and no CORS grant', async () => {
    const { app, apiKey, agentId } = await appWithAllowlist(['https://shop.example.com', 'https://*.example.org']);
    for (const origin of ['https://evil.test', 'https://example.org', 'http://www.example.org']) {
      const res = await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey, Origin: origin } });
      assert.equal(res.headers.get('Access-Control-Allow-Origin'), null);
      await assertJsonError(res, 403, 'origin_not_allowed');
    }
    const sessionId = session();
    const res = await chat(app, apiKey, { session_id: sessionId, message: 'hi' }, { headers: { Origin: 'https://evil.test' } });
    assert.equal(res.headers.get('Access-Control-Allow-Origin'), null);
    await assertJsonError(res, 403, 'origin_not_allowed');
    assert.deepEqual(await messagesOf(agentId, sessionId), [], 'nothing stored');
  });

  it('tells a foreign page nothing about whether the agent is active', async () => {
    const { app, apiKey } = await appWithAllowlist(['https://shop.example.com'], false);
    const res = await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey, Origin: 'https://evil.test' } });
    await assertJsonError(res, 403, 'origin_not_allowed');
  });

  it('serves server-to-server callers (no Origin header) whatever the allowlist', async () => {
    const { app, apiKey } = await appWithAllowlist(['https://shop.example.com']);
    const res = await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey } });
    assert.equal(res.status, 200);
  });

  it('answers preflights for any origin with the allowed headers and a max-age', async () => {
    const { app } = makeApp();
    const res = await app.request('/v1/chat', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://anywhere.test',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, x-api-key',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('Access-Control-Allow-Origin'), 'https://anywhere.test');
    const allowHeaders = (res.headers.get('Access-Control-Allow-Headers') ?? '').toLowerCase();
    assert.ok(allowHeaders.includes('content-type') && allowHeaders.includes('x-api-key'), allowHeaders);
    assert.match(res.headers.get('Access-Control-Allow-Methods') ?? '', /POST/);
    assert.ok(Number(res.headers.get('Access-Control-Max-Age')) > 0);
    assert.match(res.headers.get('Vary') ?? '', /Origin/);
    assert.equal(res.headers.get('Access-Control-Allow-Credentials'), null);
    assert.match(res.headers.get('X-Request-Id') ?? '', UUID);
  });

  it('lets the widget read 401 answers and Retry-After cross-origin', async () => {
    const { app } = makeApp();
    const res = await app.request('/v1/agent', { headers: { 'X-Api-Key': 'mac_nope', Origin: 'https://shop.test' } });
    assert.equal(res.headers.get('Access-Control-Allow-Origin'), 'https://shop.test');
    assert.match(res.headers.get('Access-Control-Expose-Headers') ?? '', /Retry-After/);
    await assertJsonError(res, 401, 'invalid_api_key');
  });
});

describe('POST /v1/chat validation', () => {
  let apiKey: string;
  let agentId: string;
  before(async () => ({ apiKey, agentId } = await newAgent()));

  const cases: { name: string; body: unknown; field?: string }[] = [
    { name: 'a missing session_id', body: { message: 'hi' }, field: 'session_id' },
    { name: 'a short session_id', body: { session_id: 'abc', message: 'hi' }, field: 'session_id' },
    { name: 'a session_id with a space', body: { session_id: 'abc def ghi', message: 'hi' }, field: 'session_id' },
    { name: 'a numeric session_id', body: { session_id: 12345678, message: 'hi' }, field: 'session_id' },
    { name: 'a session_id of 256 characters', body: { session_id: 'a'.repeat(256), message: 'hi' }, field: 'session_id' },
    { name: 'a bad visitor_id', body: { session_id: session(), visitor_id: 'v/1', message: 'hi' }, field: 'visitor_id' },
    { name: 'a missing message', body: { session_id: session() }, field: 'message' },
    { name: 'a blank message', body: { session_id: session(), message: ' \n\t ' }, field: 'message' },
    { name: 'a message of 4001 characters', body: { session_id: session(), message: 'é'.repeat(4001) }, field: 'message' },
    { name: 'a message with NUL', body: { session_id: session(), message: 'a\u0000b' }, field: 'message' },
    { name: 'metadata that is an array', body: { session_id: session(), message: 'hi', metadata: [1] }, field: 'metadata' },
    { name: 'metadata that is a string', body: { session_id: session(), message: 'hi', metadata: 'x' }, field: 'metadata' },
    {
      name: 'metadata with 33 keys',
      body: { session_id: session(), message: 'hi', metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) },
      field: 'metadata',
    },
    { name: 'metadata 4 levels deep', body: { session_id: session(), message: 'hi', metadata: { a: { b: { c: {} } } } }, field: 'metadata' },
    { name: 'metadata over 4 KB', body: { session_id: session(), message: 'hi', metadata: { page: 'x'.repeat(4100) } }, field: 'metadata' },
    { name: 'metadata with NUL deep inside', body: { session_id: session(), message: 'hi', metadata: { a: { b: ['ok', 'x\u0000'] } } }, field: 'metadata' },
    { name: 'a body that is an array', body: [] },
    { name: 'a body that is not JSON', body: '{"session_id": ' },
  ];
  for (const c of cases) {
    it(`answers 400 invalid_request naming the field for ${c.name}`, async () => {
      const { app } = makeApp();
      const error = await assertJsonError(await chat(app, apiKey, c.body), 400, 'invalid_request', c.field);
      if (c.field === undefined) assert.equal(error.field, undefined);
    });
  }

  it('says how long a message may be', async () => {
    const { app } = makeApp();
    const error = await assertJsonError(await chat(app, apiKey, { session_id: session(), message: 'x'.repeat(4001) }), 400, 'invalid_request', 'message');
    assert.equal(error.message, 'message must be at most 4000 characters');
  });

  it('counts characters, not UTF-16 units (4000 emoji fit)', async () => {
    const { app } = makeApp();
    const res = await chat(app, apiKey, { session_id: session(), message: '😀'.repeat(4000) });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  it('refuses lone surrogates in the message and in metadata keys (raw JSON escapes)', async () => {
    const { app } = makeApp();
    const s = session();
    await assertJsonError(await chat(app, apiKey, `{"session_id":"${s}","message":"a\\ud800b"}`), 400, 'invalid_request', 'message');
    await assertJsonError(await chat(app, apiKey, `{"session_id":"${s}","message":"a\\udc00"}`), 400, 'invalid_request', 'message');
    await assertJsonError(
      await chat(app, apiKey, `{"session_id":"${s}","message":"hi","metadata":{"k\\udbff":1}}`),
      400,
      'invalid_request',
      'metadata',
    );
    assert.deepEqual(await messagesOf(agentId, s), [], 'nothing stored');
  });

  it('accepts a well-formed surrogate pair and ignores unknown top-level fields', async () => {
    const { app } = makeApp();
    const s = session();
    const res = await chat(app, apiKey, `{"session_id":"${s}","message":"smile \\ud83d\\ude00","extra":{"x":1}}`);
    assert.equal(res.status, 200);
    await sseEvents(res);
    assert.equal((await messagesOf(agentId, s))[0]?.content, 'smile 😀');
  });

  it('answers 413 payload_too_large for a body over the limit', async () => {
    const { app } = makeApp({ config: testConfig({ limits: { ...testConfig().limits, bodyBytes: 1024 } }) });
    const body = JSON.stringify({ session_id: session(), message: 'x'.repeat(2000) });
    await assertJsonError(await chat(app, apiKey, body), 413, 'payload_too_large');
    // With a Content-Length header the limit applies before reading.
    await assertJsonError(await chat(app, apiKey, body, { headers: { 'Content-Length': String(body.length) } }), 413, 'payload_too_large');
  });

  it('answers 401 before reading the body when the key is missing', async () => {
    const { app } = makeApp();
    await assertJsonError(await chat(app, null, { session_id: session(), message: 'hi' }), 401, 'invalid_api_key');
    await assertJsonError(await chat(app, 'mac_unknown', { session_id: session(), message: 'hi' }), 401, 'invalid_api_key');
  });

  it('answers 403 agent_inactive when the agent is disabled', async () => {
    const { apiKey: inactive } = await newAgent({ isActive: false });
    const { app } = makeApp();
    await assertJsonError(await chat(app, inactive, { session_id: session(), message: 'hi' }), 403, 'agent_inactive');
  });

  it('answers 403 agent_inactive when the agent was disabled after being cached', async () => {
    const seeded = await newAgent();
    const { app } = makeApp();
    assert.equal((await app.request('/v1/agent', { headers: { 'X-Api-Key': seeded.apiKey } })).status, 200);
    await db.query('update public.agents set is_active = false where id = $1', [seeded.agentId]);
    await assertJsonError(await chat(app, seeded.apiKey, { session_id: session(), message: 'hi' }), 403, 'agent_inactive');
    // The stale cache entry was dropped: the next request sees the change at once.
    await assertJsonError(await app.request('/v1/agent', { headers: { 'X-Api-Key': seeded.apiKey } }), 403, 'agent_inactive');
  });
});

describe('POST /v1/chat stream', () => {
  it('streams start, deltas and done with the stored ids, and the SSE headers', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = makeApp({ upstream: replying(['Hel', 'lo', '!'], usage(21, 7)) });
    const sessionId = session();
    const res = await chat(app, apiKey, { session_id: sessionId, message: 'Hi there' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('Content-Type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('Cache-Control'), 'no-cache, no-transform');
    assert.equal(res.headers.get('X-Accel-Buffering'), 'no');
    assert.equal(res.headers.get('Content-Encoding'), null);
    assert.match(res.headers.get('X-Request-Id') ?? '', UUID);

    const events = await sseEvents(res);
    assert.deepEqual(
      events.map((e) => e.event),
      ['start', 'delta', 'delta', 'delta', 'done'],
    );
    const [start, , , , done] = events as [SseEvent, SseEvent, SseEvent, SseEvent, SseEvent];
    assert.deepEqual(events.slice(1, 4).map((e) => e.data), [{ text: 'Hel' }, { text: 'lo' }, { text: '!' }]);

    const stored = await messagesOf(agentId, sessionId);
    assert.deepEqual(stored.map((m) => [m.role, m.content]), [['user', 'Hi there'], ['assistant', 'Hello!']]);
    const { rows } = await db.query<{ id: string }>('select id from public.conversations where agent_id = $1 and session_id = $2', [agentId, sessionId]);
    assert.deepEqual(start.data, { conversation_id: rows[0]?.id, message_id: stored[0]?.id });
    assert.equal(done.data.message_id, stored[1]?.id);
    assert.equal(done.data.tokens_used, 7);
    assert.equal(done.data.finish_reason, 'stop');
    assert.equal(typeof done.data.response_time_ms, 'number');
    assert.ok((done.data.response_time_ms as number) >= 0);
    assert.equal(stored[1]?.response_time_ms, done.data.response_time_ms);
  });

  it('bills prompt tokens on the user message and completion tokens on the reply', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = makeApp({ upstream: replying(['ok'], usage(30, 4)) });
    const sessionId = session();
    await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'count' }));
    const stored = await messagesOf(agentId, sessionId);
    assert.deepEqual(stored.map((m) => [m.role, m.tokens_used]), [['user', 30], ['assistant', 4]]);
    const stats = await db.query<{ total_tokens_used: string | number }>(
      'select total_tokens_used from public.agent_statistics where agent_id = $1',
      [agentId],
    );
    assert.equal(Number(stats.rows[0]?.total_tokens_used), 34);
  });

  it('reports 0 tokens when the upstream does not say', async () => {
    const { apiKey } = await newAgent();
    const { app } = makeApp({ upstream: replying(['ok'], usage(null, null)) });
    const events = await sseEvents(await chat(app, apiKey, { session_id: session(), message: 'hi' }));
    assert.equal(events.at(-1)?.data.tokens_used, 0);
  });

  it('stores the user message before the upstream is called, and sends instructions and history', async () => {
    const { apiKey, agentId } = await newAgent({ instructions: 'Be brief.', temperature: 0.3, maxTokens: 99, topP: 0.9 });
    const sessionId = session();
    const seenBeforeCall: string[][] = [];
    const upstream = scripted(async function* () {
      seenBeforeCall.push((await realStore.history(agentId, sessionId, 50)).map((m) => `${m.role}:${m.content}`));
      yield 'Reply';
      return usage(1, 1);
    });
    const { app } = makeApp({ upstream });
    await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'first' }));
    await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'second' }));
    assert.deepEqual(seenBeforeCall, [['user:first'], ['user:first', 'assistant:Reply', 'user:second']]);
    const req = upstream.calls[1]?.req;
    assert.deepEqual(req, {
      model: 'mistral-small-latest',
      temperature: 0.3,
      max_tokens: 99,
      top_p: 0.9,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'Reply' },
        { role: 'user', content: 'second' },
      ],
    });
  });

  it('keeps one conversation per session and stores visitor_id and metadata', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = makeApp();
    const sessionId = session();
    const first = await sseEvents(await chat(app, apiKey, { session_id: sessionId, visitor_id: 'visitor_42abc', message: 'one', metadata: { page: '/pricing', ua: { mobile: true } } }));
    const second = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'two' }));
    assert.equal(first[0]?.data.conversation_id, second[0]?.data.conversation_id);
    const { rows } = await db.query<{ visitor_id: string; metadata: unknown }>(
      'select visitor_id, metadata from public.conversations where agent_id = $1 and session_id = $2',
      [agentId, sessionId],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.visitor_id, 'visitor_42abc');
    assert.deepEqual(rows[0]?.metadata, { page: '/pricing', ua: { mobile: true } });
  });

  it('passes the origin and the client IP to beginTurn, trusting X-Forwarded-For only as far as TRUST_PROXY hops', async () => {
    const { apiKey } = await newAgent();
    const seen: { origin: string | null; clientIp: string | null }[] = [];
    const store = wrapStore(realStore, {
      beginTurn: (i) => (seen.push({ origin: i.origin, clientIp: i.clientIp }), realStore.beginTurn(i)),
    });
    // The client forged 198.51.100.99; the one proxy in front (10.0.0.1) appended the address it saw.
    const headers = { Origin: 'https://shop.test', 'X-Forwarded-For': '198.51.100.99, 203.0.113.7' };
    const direct = makeApp({ store, getClientIp: () => '192.0.2.1' });
    await sseEvents(await chat(direct.app, apiKey, { session_id: session(), message: 'hi' }, { headers }));
    const proxied = makeApp({ store, getClientIp: () => '10.0.0.1', config: testConfig({ trustProxy: 1 }) });
    await sseEvents(await chat(proxied.app, apiKey, { session_id: session(), message: 'hi' }, { headers }));
    const forged = makeApp({ store, config: testConfig({ trustProxy: 1 }) });
    await sseEvents(await chat(forged.app, apiKey, { session_id: session(), message: 'hi' }, { headers: { 'X-Forwarded-For': "1.2.3.4'; drop table" } }));
    assert.deepEqual(seen, [
      { origin: 'https://shop.test', clientIp: '192.0.2.1' },
      { origin: 'https://shop.test', clientIp: '203.0.113.7' },
      { origin: null, clientIp: null },
    ]);
  });

  it('keeps one per-IP bucket for a client that forges a new X-Forwarded-For on every turn', async () => {
    const { apiKey, agentId } = await newAgent();
    await db.query('update public.agents set rate_limit_ip_per_minute = 2 where id = $1', [agentId]);
    const proxied = makeApp({ store: realStore, getClientIp: () => '10.0.0.1', config: testConfig({ trustProxy: 1 }) });
    const statuses: number[] = [];
    for (const forged of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']) {
      const res = await chat(proxied.app, apiKey, { session_id: session(), message: 'hi' }, { headers: { 'X-Forwarded-For': `${forged}, 203.0.113.9` } });
      statuses.push(res.status);
      await res.text();
    }
    assert.deepEqual(statuses, [200, 200, 429, 429], 'the proxy-appended address is the bucket, whatever the client wrote');
  });

  it('answers 429 rate_limited with Retry-After when the store refuses the turn', async () => {
    const { apiKey, agentId } = await newAgent();
    let upstreamCalled = false;
    const store = wrapStore(realStore, { beginTurn: async () => ({ ok: false, code: 'rate_limited', retryAfter: 42 }) });
    const upstream = scripted(async function* () {
      upstreamCalled = true;
      return usage(0, 0);
    });
    const { app } = makeApp({ store, upstream });
    const sessionId = session();
    const res = await chat(app, apiKey, { session_id: sessionId, message: 'hi' }, { headers: { Origin: 'https://shop.test' } });
    assert.equal(res.headers.get('Retry-After'), '42');
    assert.equal(res.headers.get('Access-Control-Allow-Origin'), 'https://shop.test', 'the widget can read it');
    const error = await assertJsonError(res, 429, 'rate_limited');
    assert.equal((error as { retry_after?: number }).retry_after, 42);
    assert.equal(upstreamCalled, false);
    assert.deepEqual(await messagesOf(agentId, sessionId), []);
  });

  it('answers 503 unavailable, storing nothing, when no model is configured', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app, log } = makeApp({ upstream: null });
    const sessionId = session();
    await assertJsonError(await chat(app, apiKey, { session_id: sessionId, message: 'hi' }), 503, 'unavailable');
    assert.deepEqual(await messagesOf(agentId, sessionId), []);
    assert.ok(log.lines.some((l) => l.level === 'error' && /MISTRAL_API_KEY/.test(l.msg)));
  });

  it('answers 503 unavailable without details when the database is down', async () => {
    const { apiKey } = await newAgent();
    const down = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    const { app, log } = makeApp({ store: wrapStore(realStore, { agentByKey: down }) });
    const error = await assertJsonError(await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey } }), 503, 'unavailable');
    assert.doesNotMatch(error.message, /ECONNREFUSED/);
    assert.ok(log.lines.some((l) => l.level === 'error' && l.fields?.request_id === error.request_id && /ECONNREFUSED/.test(String(l.fields?.error))));

    const { app: app2 } = makeApp({ store: wrapStore(realStore, { beginTurn: down }) });
    await assertJsonError(await chat(app2, apiKey, { session_id: session(), message: 'hi' }), 503, 'unavailable');
  });

  it('stores the partial reply and sends the upstream error code when the upstream fails midway', async () => {
    const { apiKey, agentId } = await newAgent();
    const upstream = scripted(async function* () {
      yield 'Half a';
      throw new ApiError('upstream_timeout', 'The assistant took too long to answer.');
    });
    const { app } = makeApp({ upstream });
    const sessionId = session();
    const res = await chat(app, apiKey, { session_id: sessionId, message: 'hi' });
    const events = await sseEvents(res);
    assert.deepEqual(events.map((e) => e.event), ['start', 'delta', 'error']);
    assert.deepEqual(events[2]?.data, {
      code: 'upstream_timeout',
      message: 'The assistant took too long to answer.',
      request_id: res.headers.get('X-Request-Id'),
    });
    assert.deepEqual((await messagesOf(agentId, sessionId)).map((m) => m.content), ['hi', 'Half a']);
  });

  it('reports a reply it could not save as an error event', async () => {
    const { apiKey } = await newAgent();
    const store = wrapStore(realStore, { endTurn: () => Promise.reject(new Error('db gone')) });
    const { app } = makeApp({ store });
    const events = await sseEvents(await chat(app, apiKey, { session_id: session(), message: 'hi' }));
    assert.deepEqual(events.map((e) => e.event), ['start', 'delta', 'delta', 'error']);
    assert.equal(events.at(-1)?.data.code, 'unavailable');
  });
});

describe('POST /v1/chat when the upstream fails (Mistral stand-in)', () => {
  let standIn: MistralStandIn;
  before(async () => (standIn = await startMistralStandIn()));
  after(async () => standIn?.close());

  const mistralApp = (timeouts = { firstByteMs: 2_000, idleMs: 2_000, totalMs: 10_000 }) => {
    const config = testConfig({ timeouts });
    const log = memoryLogger();
    const upstream = createMistralUpstream({ apiKey: 'test-key', baseUrl: standIn.url, timeouts, retries: config.retries, log });
    return makeApp({ upstream, config, log });
  };

  it('relays a real streamed reply and stores it with its usage', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = mistralApp();
    const sessionId = session();
    standIn.script({ type: 'reply', text: 'Bonjour, comment puis-je aider ?', chunkSize: 5 });
    const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'Salut' }));
    assert.equal(events[0]?.event, 'start');
    assert.equal(events.at(-1)?.event, 'done');
    const text = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
    assert.equal(text, 'Bonjour, comment puis-je aider ?');
    const stored = await messagesOf(agentId, sessionId);
    assert.equal(stored[1]?.content, text);
    assert.ok((stored[0]?.tokens_used ?? 0) > 0 && (stored[1]?.tokens_used ?? 0) > 0);
  });

  it('keeps the user message when Mistral answers 429', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = mistralApp();
    const sessionId = session();
    standIn.script({ type: 'error', status: 429, body: { object: 'error', message: 'Rate limit exceeded', type: 'rate_limited', param: null, code: '1300' } });
    const res = await chat(app, apiKey, { session_id: sessionId, message: 'Are you there?' });
    assert.equal(res.status, 200);
    const events = await sseEvents(res);
    assert.deepEqual(events.map((e) => e.event), ['start', 'error']);
    assert.equal(events[1]?.data.code, 'rate_limited');
    assert.equal(events[1]?.data.request_id, res.headers.get('X-Request-Id'));
    assert.deepEqual((await messagesOf(agentId, sessionId)).map((m) => [m.role, m.content]), [['user', 'Are you there?']]);
  });

  it('tells the visitor how long to wait when Mistral answers 429 with Retry-After', async () => {
    const { apiKey } = await newAgent();
    const { app } = mistralApp();
    standIn.script({
      type: 'error',
      status: 429,
      headers: { 'Retry-After': '7' },
      body: { object: 'error', message: 'Rate limit exceeded', type: 'rate_limited', param: null, code: '1300' },
    });
    const events = await sseEvents(await chat(app, apiKey, { session_id: session(), message: 'Still there?' }));
    assert.deepEqual(events.map((e) => e.event), ['start', 'error']);
    assert.equal(events[1]?.data.code, 'rate_limited');
    assert.equal(events[1]?.data.retry_after, 7);
  });

  it('sends upstream_error (502) after start when Mistral fails, storing no empty reply', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = mistralApp();
    const sessionId = session();
    standIn.script({ type: 'error', status: 500 });
    const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'hi' }));
    assert.deepEqual(events.map((e) => e.event), ['start', 'error']);
    assert.equal(events[1]?.data.code, 'upstream_error');
    assert.equal(typeof events[1]?.data.message, 'string');
    assert.deepEqual((await messagesOf(agentId, sessionId)).map((m) => m.role), ['user']);
  });

  it('sends upstream_timeout (504) after start when Mistral stays silent', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = mistralApp({ firstByteMs: 200, idleMs: 200, totalMs: 5_000 });
    const sessionId = session();
    standIn.script({ type: 'silent' });
    const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'hi' }));
    assert.deepEqual(events.map((e) => e.event), ['start', 'error']);
    assert.equal(events[1]?.data.code, 'upstream_timeout');
    assert.deepEqual((await messagesOf(agentId, sessionId)).map((m) => m.role), ['user']);
  });

  it('stores the partial reply when Mistral cuts the stream', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = mistralApp();
    const sessionId = session();
    standIn.script({ type: 'cut', afterChunks: 3, text: 'abcdefghijklmnop', chunkSize: 4 });
    const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'hi' }));
    assert.equal(events[0]?.event, 'start');
    assert.equal(events.at(-1)?.event, 'error');
    assert.equal(events.at(-1)?.data.code, 'upstream_error');
    const relayed = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
    assert.equal(relayed, 'abcdefgh');
    assert.deepEqual((await messagesOf(agentId, sessionId)).map((m) => [m.role, m.content]), [['user', 'hi'], ['assistant', 'abcdefgh']]);
  });

  it('keeps reading Mistral when the visitor leaves, and stores the whole reply with its real finish', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app, settled, streams } = mistralApp();
    const sessionId = session();
    const full = 'a whole reply that goes on after the visitor left';
    standIn.script({ type: 'reply', text: full, chunkSize: 8, chunkDelayMs: 30 });
    const visitor = new AbortController();
    const res = await chat(app, apiKey, { session_id: sessionId, message: 'hi' }, { signal: visitor.signal });
    const sse = sseReader(res);
    assert.equal((await sse.next())?.event, 'start');
    assert.equal((await sse.next())?.event, 'delta');
    visitor.abort();
    assert.equal(await standIn.requests.at(-1)?.outcome, 'finished', 'the call to Mistral ran to its end');
    await settled();
    assert.equal(streams.active, 0);
    const stored = await messagesOf(agentId, sessionId);
    assert.deepEqual(stored.map((m) => [m.role, m.content]), [['user', 'hi'], ['assistant', full]]);
    assert.ok((stored[1]?.tokens_used ?? 0) > 0, 'billed tokens are stored as for any finished reply');
  });
});

describe('Stop and shutdown', () => {
  /** Yields `first`, then waits until aborted; reports the abort. */
  const hanging = (first: string) =>
    scripted(async function* (_req, opts) {
      yield first;
      await aborted(opts.signal);
      throw new DOMException('aborted', 'AbortError');
    });

  const stopCall = (app: ReturnType<typeof makeApp>['app'], apiKey: string, sessionId: string) =>
    app.request(`/v1/sessions/${sessionId}/stop`, { method: 'POST', headers: { 'X-Api-Key': apiKey } });

  it('finishes and stores the whole reply when the visitor leaves mid-reply', async () => {
    const { apiKey, agentId } = await newAgent();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const upstream = scripted(async function* () {
      yield 'First half, ';
      await gate;
      yield 'second half.';
      return usage(4, 6);
    });
    const { app, settled, streams } = makeApp({ upstream });
    const sessionId = session();
    const visitor = new AbortController();
    const sse = sseReader(await chat(app, apiKey, { session_id: sessionId, message: 'tell me' }, { signal: visitor.signal }));
    assert.equal((await sse.next())?.event, 'start');
    assert.equal((await sse.next())?.event, 'delta');
    visitor.abort();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(upstream.calls[0]?.signal.aborted, false, 'the upstream call goes on');
    assert.equal(streams.active, 1);
    const during = (await (await app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } })).json()) as {
      pending: boolean;
    };
    assert.equal(during.pending, true, 'the history says a reply is on its way');
    release();
    await settled();
    assert.equal(streams.active, 0);
    const stored = await messagesOf(agentId, sessionId);
    assert.deepEqual(stored.map((m) => [m.role, m.content, m.tokens_used]), [['user', 'tell me', 4], ['assistant', 'First half, second half.', 6]]);
    const after = (await (await app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } })).json()) as {
      pending: boolean;
    };
    assert.equal(after.pending, false);
  });

  it('ends the reply on POST /stop within a second, storing exactly the text relayed, marked stopped', async () => {
    const { apiKey, agentId } = await newAgent();
    const upstream = hanging('Partial answ');
    const { app, settled, streams } = makeApp({ upstream });
    const sessionId = session();
    const sse = sseReader(await chat(app, apiKey, { session_id: sessionId, message: 'tell me' }));
    assert.equal((await sse.next())?.event, 'start');
    assert.equal((await sse.next())?.event, 'delta');
    assert.equal(streams.active, 1);
    const t0 = performance.now();
    assert.equal((await stopCall(app, apiKey, sessionId)).status, 204);
    const rest = await sse.rest();
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 1_000, `ended ${Math.round(elapsed)} ms after Stop`);
    assert.deepEqual(rest.map((e) => e.event), ['done']);
    assert.equal(rest[0]?.data.finish_reason, 'aborted');
    assert.equal(rest[0]?.data.stopped, true);
    await settled();
    assert.equal(upstream.calls[0]?.signal.aborted, true, 'the upstream call was aborted');
    const stored = await messagesOf(agentId, sessionId);
    assert.deepEqual(stored.map((m) => [m.role, m.content]), [['user', 'tell me'], ['assistant', 'Partial answ']]);
    assert.equal(rest[0]?.data.message_id, stored[1]?.id);
    const history = (await (await app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } })).json()) as {
      messages: { content: string; stopped?: boolean }[];
      pending: boolean;
    };
    assert.deepEqual(history.messages.map((m) => [m.content, m.stopped]), [['tell me', undefined], ['Partial answ', true]]);
    assert.equal(history.pending, false);
  });

  it('answers Stop 204 when nothing is streaming, and refuses a second turn while a reply is in flight', async () => {
    const { apiKey } = await newAgent();
    let calls = 0;
    const upstream = scripted(async function* (_req, opts) {
      if (calls++ > 0) return usage(1, 1);
      yield 'Still going';
      await aborted(opts.signal);
      throw new DOMException('aborted', 'AbortError');
    });
    const { app, settled } = makeApp({ upstream });
    const sessionId = session();
    assert.equal((await stopCall(app, apiKey, sessionId)).status, 204, 'unknown session: nothing to stop');
    const sse = sseReader(await chat(app, apiKey, { session_id: sessionId, message: 'first' }));
    await sse.next();
    await sse.next();
    await assertJsonError(await chat(app, apiKey, { session_id: sessionId, message: 'second' }), 409, 'reply_in_progress');
    assert.equal((await stopCall(app, apiKey, sessionId)).status, 204);
    await sse.rest();
    await settled();
    assert.equal((await stopCall(app, apiKey, sessionId)).status, 204, 'idempotent');
    const next = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'second' }));
    assert.equal(next[0]?.event, 'start', 'once the reply has ended, the session takes a new turn');
  });

  it('stores an empty stopped reply when Stop comes before any text, and never sends it to the model', async () => {
    const { apiKey, agentId } = await newAgent();
    let calls = 0;
    const upstream = scripted(async function* (_req, opts) {
      if (calls++ === 0) {
        await aborted(opts.signal);
        throw new DOMException('aborted', 'AbortError');
      }
      yield 'ok';
      return usage(1, 1);
    });
    const { app, settled } = makeApp({ upstream });
    const sessionId = session();
    const sse = sseReader(await chat(app, apiKey, { session_id: sessionId, message: 'hi' }));
    assert.equal((await sse.next())?.event, 'start');
    assert.equal((await stopCall(app, apiKey, sessionId)).status, 204);
    const rest = await sse.rest();
    assert.deepEqual(rest.map((e) => [e.event, e.data.stopped]), [['done', true]]);
    await settled();
    assert.deepEqual((await messagesOf(agentId, sessionId)).map((m) => [m.role, m.content]), [['user', 'hi'], ['assistant', '']]);
    await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'again' }));
    assert.deepEqual(upstream.calls[1]?.req.messages.filter((m) => m.role !== 'system').map((m) => [m.role, m.content]), [['user', 'hi'], ['user', 'again']]);
  });

  it('lets a session go on after the instance streaming its reply died (the in-flight row expires)', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = makeApp();
    const sessionId = session();
    // An instance began a turn, then crashed: no end_turn ever comes.
    const begun = await realStore.beginTurn({
      apiKey, origin: null, clientIp: null, sessionId, visitorId: null, metadata: {}, content: 'lost',
      historyLimit: 10, historyChars: 10_000, userRef: null, replyLimitMs: 60_000,
    });
    assert.ok(begun.ok);
    await assertJsonError(await chat(app, apiKey, { session_id: sessionId, message: 'anyone?' }), 409, 'reply_in_progress');
    const pending = (await (await app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } })).json()) as { pending: boolean };
    assert.equal(pending.pending, true);
    await db.query(`update public.inflight_replies set expires_at = now() - interval '1 second' where conversation_id = $1`, [begun.conversationId]);
    const after = (await (await app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } })).json()) as { pending: boolean };
    assert.equal(after.pending, false, 'an expired row is not a reply on its way');
    const swept = await runMaintenance(db, 100);
    assert.equal(swept.removed.inflight_replies, 1, 'the maintenance removes what the dead instance left');
    const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'anyone?' }));
    assert.equal(events.at(-1)?.event, 'done');
    assert.deepEqual((await messagesOf(agentId, sessionId)).map((m) => m.content), ['lost', 'anyone?', 'Hello there']);
  });

  it('does not wait for an upstream that ignores the Stop', async () => {
    const { apiKey, agentId } = await newAgent();
    const upstream = scripted(async function* () {
      yield 'stuck';
      await new Promise(() => {}); // never settles, never looks at the signal
      return usage(0, 0);
    });
    const { app, settled } = makeApp({ upstream });
    const sessionId = session();
    const sse = sseReader(await chat(app, apiKey, { session_id: sessionId, message: 'hi' }));
    await sse.next();
    await sse.next();
    assert.equal((await stopCall(app, apiKey, sessionId)).status, 204);
    await sse.rest();
    await settled();
    assert.deepEqual((await messagesOf(agentId, sessionId)).map((m) => m.content), ['hi', 'stuck']);
  });

  it('on shutdown refuses new chats, lets short replies finish and stores the partial replies of the rest', async () => {
    const { apiKey, agentId } = await newAgent();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const upstream = scripted(async function* (req, opts) {
      const last = req.messages.at(-1)?.content;
      if (last === 'quick') {
        yield 'Quick ';
        await gate;
        yield 'answer';
        return usage(3, 2);
      }
      yield 'Slow partial';
      await aborted(opts.signal);
      throw new DOMException('aborted', 'AbortError');
    });
    const { app, shutdown, streams, settled } = makeApp({ upstream });
    const quickSession = session();
    const slowSession = session();
    const quick = sseReader(await chat(app, apiKey, { session_id: quickSession, message: 'quick' }));
    const slow = sseReader(await chat(app, apiKey, { session_id: slowSession, message: 'slow' }));
    for (const s of [quick, slow]) {
      assert.equal((await s.next())?.event, 'start');
      assert.equal((await s.next())?.event, 'delta');
    }
    assert.equal(streams.active, 2);

    const closing = shutdown(300);
    await assertJsonError(await chat(app, apiKey, { session_id: session(), message: 'late' }), 503, 'unavailable');
    assert.equal((await app.request('/healthz')).status, 503, 'load balancers stop sending traffic');
    release();
    const [quickRest, slowRest] = await Promise.all([quick.rest(), slow.rest(), closing]);
    await settled();

    assert.deepEqual(quickRest.map((e) => e.event), ['delta', 'done']);
    assert.equal(quickRest.at(-1)?.data.finish_reason, 'stop');
    assert.deepEqual(slowRest.map((e) => e.event), ['done']);
    assert.equal(slowRest[0]?.data.finish_reason, 'aborted');
    assert.equal(streams.active, 0);
    assert.deepEqual((await messagesOf(agentId, quickSession)).map((m) => m.content), ['quick', 'Quick answer']);
    const slowStored = await messagesOf(agentId, slowSession);
    assert.deepEqual(slowStored.map((m) => m.content), ['slow', 'Slow partial']);
    assert.equal(slowRest[0]?.data.message_id, slowStored[1]?.id);
  });
});

describe('feedback and visitor identity', () => {
  const feedback = (app: ReturnType<typeof makeApp>['app'], apiKey: string, messageId: string, body: unknown) =>
    app.request(`/v1/messages/${messageId}/feedback`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey },
      body: JSON.stringify(body),
    });
  const counts = async (agentId: string) => {
    const { rows } = await db.query<{ up: number; down: number }>(
      'select positive_feedback::int as up, negative_feedback::int as down from public.agent_statistics where agent_id = $1',
      [agentId],
    );
    return rows[0];
  };

  it('counts the last rating of each reply in agent_statistics, and forgets a cleared one', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = makeApp();
    const sessionId = session();
    const replies: string[] = [];
    for (const m of ['one', 'two', 'three']) {
      const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: m }));
      replies.push(String(events.at(-1)?.data.message_id));
    }
    const rate = async (i: number, rating: string | null) => assert.equal((await feedback(app, apiKey, replies[i]!, { session_id: sessionId, rating })).status, 204);
    await rate(0, 'up');
    await rate(1, 'up');
    await rate(2, 'down');
    assert.deepEqual(await counts(agentId), { up: 2, down: 1 });
    await rate(1, 'down'); // the last rating counts
    assert.deepEqual(await counts(agentId), { up: 1, down: 2 });
    await rate(0, null);
    await rate(0, null); // clearing twice is fine
    assert.deepEqual(await counts(agentId), { up: 0, down: 2 });
    const { rows } = await db.query<{ rating: string; comment: string | null }>(
      'select rating, comment from public.message_feedback where message_id = $1',
      [replies[2]],
    );
    assert.deepEqual(rows, [{ rating: 'down', comment: null }]);
  });

  it('refuses a visitor token when the agent has no identity secret, and a turn without one when identity is required', async () => {
    const { apiKey, agentId } = await newAgent();
    const { app } = makeApp();
    const token = userToken(newIdentitySecret(), 'user_1');
    await assertJsonError(await chat(app, apiKey, { session_id: session(), message: 'hi' }, { headers: { 'X-User-Token': token } }), 401, 'invalid_user_token');
    const secret = newIdentitySecret();
    await db.query('update public.agents set identity_secret = $2, identity_required = true where id = $1', [agentId, secret]);
    const { app: fresh } = makeApp(); // a new agent cache: the change is seen at once
    const sessionId = session();
    await assertJsonError(await chat(fresh, apiKey, { session_id: sessionId, message: 'hi' }), 401, 'identity_required');
    await assertJsonError(await fresh.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } }), 401, 'identity_required');
    const ok = await chat(fresh, apiKey, { session_id: sessionId, message: 'hi' }, { headers: { 'X-User-Token': userToken(secret, 'user_1') } });
    assert.equal(ok.status, 200);
    await sseEvents(ok);
    const { rows } = await db.query<{ user_ref: string }>('select user_ref from public.conversations where agent_id = $1 and session_id = $2', [agentId, sessionId]);
    assert.deepEqual(rows, [{ user_ref: 'user_1' }]);
  });
});

describe('GET /v1/sessions/:session_id/messages', () => {
  it('lists this session oldest first, only for this agent, bounded by limit', async () => {
    const { apiKey, agentId } = await newAgent();
    const other = await newAgent();
    const { app } = makeApp({ upstream: replying(['ok']) });
    const sessionId = session();
    for (const m of ['one', 'two', 'three']) await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: m }));
    // The same session id under another agent is another conversation.
    await sseEvents(await chat(app, other.apiKey, { session_id: sessionId, message: 'not yours' }));

    const res = await app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } });
    assert.equal(res.status, 200);
    const { messages } = (await res.json()) as { messages: { id: string; role: string; content: string; created_at: string }[] };
    assert.deepEqual(messages.map((m) => `${m.role}:${m.content}`), ['user:one', 'assistant:ok', 'user:two', 'assistant:ok', 'user:three', 'assistant:ok']);
    assert.deepEqual(messages.map((m) => m.id), (await messagesOf(agentId, sessionId)).map((m) => m.id));
    assert.ok(messages.every((m) => !Number.isNaN(Date.parse(m.created_at))));

    const limited = await app.request(`/v1/sessions/${sessionId}/messages?limit=2`, { headers: { 'X-Api-Key': apiKey } });
    const last2 = ((await limited.json()) as { messages: { content: string }[] }).messages.map((m) => m.content);
    assert.deepEqual(last2, ['three', 'ok']);

    const unknown = await app.request(`/v1/sessions/${session()}/messages`, { headers: { 'X-Api-Key': apiKey } });
    assert.deepEqual(await unknown.json(), { messages: [], pending: false });
  });

  it('answers 400 naming limit or session_id when they are invalid', async () => {
    const { apiKey } = await newAgent();
    const { app } = makeApp();
    for (const limit of ['0', '201', 'abc', '1.5', '-3', '']) {
      const res = await app.request(`/v1/sessions/${session()}/messages?limit=${limit}`, { headers: { 'X-Api-Key': apiKey } });
      await assertJsonError(res, 400, 'invalid_request', 'limit');
    }
    const ok = await app.request(`/v1/sessions/${session()}/messages?limit=200`, { headers: { 'X-Api-Key': apiKey } });
    assert.equal(ok.status, 200);
    await assertJsonError(await app.request('/v1/sessions/short/messages', { headers: { 'X-Api-Key': apiKey } }), 400, 'invalid_request', 'session_id');
  });

  it('needs the key', async () => {
    const { app } = makeApp();
    await assertJsonError(await app.request(`/v1/sessions/${session()}/messages`), 401, 'invalid_api_key');
  });
});

describe('routes, health and errors', () => {
  it('answers /healthz 200 when the database answers and 503 when it does not', async () => {
    const { app } = makeApp();
    const ok = await app.request('/healthz');
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ok: true });
    const down = makeApp({ store: wrapStore(realStore, { ping: () => Promise.reject(new Error('down')) }) });
    const res = await down.app.request('/healthz');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ok: false });
  });

  it('answers unknown routes and wrong methods with JSON 404, never HTML', async () => {
    const { app } = makeApp();
    await assertJsonError(await app.request('/nope'), 404, 'not_found');
    await assertJsonError(await app.request('/v1/unknown', { headers: { 'X-Api-Key': 'k' } }), 404, 'not_found');
    await assertJsonError(await app.request('/v1/chat'), 404, 'not_found');
    await assertJsonError(await app.request('/v1/agent', { method: 'DELETE' }), 404, 'not_found');
  });

  it('turns an unexpected failure into 500 internal_error with no details, logged with the request id', async () => {
    const { app, log } = makeApp();
    app.get('/boom', () => {
      throw new TypeError('secret internals at db.ts:12:3');
    });
    const error = await assertJsonError(await app.request('/boom'), 500, 'internal_error');
    assert.doesNotMatch(error.message, /secret/);
    assert.ok(log.lines.some((l) => l.level === 'error' && l.fields?.request_id === error.request_id));
  });

  it('serves the protocol under a base path (Supabase function name)', async () => {
    const { apiKey } = await newAgent({ name: 'Edge' });
    const { app } = makeApp({ basePath: '/mistral-agent-chat' });
    assert.equal((await app.request('/mistral-agent-chat/healthz')).status, 200);
    const res = await app.request('/mistral-agent-chat/v1/agent', { headers: { 'X-Api-Key': apiKey } });
    assert.deepEqual(await res.json(), { name: 'Edge', role: 'assistant' });
    await assertJsonError(await app.request('/v1/agent', { headers: { 'X-Api-Key': apiKey } }), 404, 'not_found');
  });
});

describe('agent cache', () => {
  const agent = (id: string) => ({ id, name: id, role: 'assistant', is_active: true, allowed_origins: null, identity_secret: null, identity_required: false });

  it('serves a key from memory until its entry expires', async () => {
    let now = 0;
    const asked: string[] = [];
    const cache = new AgentCache({ agentByKey: async (k) => (asked.push(k), agent(k)) }, { ttlMs: 1_000, now: () => now });
    await cache.get('a');
    now = 999;
    await cache.get('a');
    assert.deepEqual(asked, ['a']);
    now = 1_000;
    assert.equal((await cache.get('a'))?.id, 'a');
    assert.deepEqual(asked, ['a', 'a']);
  });

  it('shares one lookup between concurrent requests and remembers unknown keys', async () => {
    let lookups = 0;
    const cache = new AgentCache({ agentByKey: async () => (lookups++, null) });
    assert.deepEqual(await Promise.all([cache.get('k'), cache.get('k'), cache.get('k')]), [null, null, null]);
    await cache.get('k');
    assert.equal(lookups, 1);
  });

  it('forgets a failed lookup so the next request asks the database again', async () => {
    let fail = true;
    const cache = new AgentCache({ agentByKey: async (k) => (fail ? Promise.reject(new Error('down')) : agent(k)) });
    await assert.rejects(cache.get('a'));
    fail = false;
    assert.equal((await cache.get('a'))?.id, 'a');
  });

  it('keeps at most max entries, dropping the least recently used', async () => {
    const asked: string[] = [];
    const cache = new AgentCache({ agentByKey: async (k) => (asked.push(k), agent(k)) }, { max: 2 });
    await cache.get('a');
    await cache.get('b');
    await cache.get('a'); // a is now the most recent
    await cache.get('c'); // evicts b
    assert.equal(cache.size, 2);
    await cache.get('a');
    await cache.get('b');
    assert.deepEqual(asked, ['a', 'b', 'c', 'b']);
  });
});
