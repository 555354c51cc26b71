/**
 * A chat turn with an agent linked to a Mistral agent (`agents.mistral_agent_id`), through the real app
 * (`app.request()`), the real SqlStore on PGlite and the real upstream against the Conversations stand-in:
 * the visitor sees text, sources and tool activity; the reply is stored with its sources and billed tokens;
 * every failure ends as the protocol's `error` event with the visitor's message kept.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { HistoryResponse } from '../../src/protocol.ts';
import { createApp } from '../../src/server/app.ts';
import { loadConfig } from '../../src/server/config.ts';
import type { Db } from '../../src/server/db/db.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { createMistralUpstream } from '../../src/server/upstream/mistral.ts';
import { startMistralStandIn, type MistralStandIn } from '../helpers/mistral-stand-in.ts';
import { migratedPglite, seedAgent } from '../helpers/pglite.ts';

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

async function sseEvents(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? 'message', data: JSON.parse(e.data) }) });
  parser.feed(await res.text());
  return events;
}

const session = () => `sess_${randomUUID().replaceAll('-', '')}`;
const AGENT = 'ag_grounded_test_agent';

let db: Db;
let store: SqlStore;
let standIn: MistralStandIn;

before(async () => {
  db = await migratedPglite();
  store = new SqlStore(db);
  standIn = await startMistralStandIn();
});
after(async () => {
  await store?.close();
  await standIn?.close();
});
afterEach(() => assert.equal(standIn.pendingConversations(), 0, 'every scripted behaviour was used'));

async function groundedAgent(mistralAgentId: string | null = AGENT) {
  const a = await seedAgent(db, { instructions: 'LOCAL INSTRUCTIONS', temperature: 0.1, maxTokens: 77, topP: 0.5 });
  await db.query('update public.agents set mistral_agent_id = $2 where id = $1', [a.agentId, mistralAgentId]);
  return a;
}

function makeApp(idleMs = 2_000) {
  const base = loadConfig({});
  const timeouts = { firstByteMs: 2_000, idleMs, totalMs: 10_000 };
  const config = { ...base, timeouts, retries: { max: 0, maxDelayMs: 0 } };
  const log = memoryLogger();
  const pending: Promise<unknown>[] = [];
  const upstream = createMistralUpstream({ apiKey: 'test-key', baseUrl: standIn.url, timeouts, retries: config.retries, log });
  const proxy = createApp({ store, upstream, config, log, waitUntil: (p) => void pending.push(p) });
  return { ...proxy, log, settled: () => Promise.allSettled(pending) };
}

const chat = (app: ReturnType<typeof makeApp>['app'], apiKey: string, body: unknown, signal?: AbortSignal) =>
  app.request('/v1/chat', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

async function history(app: ReturnType<typeof makeApp>['app'], apiKey: string, sessionId: string) {
  const res = await app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } });
  assert.equal(res.status, 200);
  return ((await res.json()) as HistoryResponse).messages;
}

const rows = async (sessionId: string) =>
  (
    await db.query<{ role: string; content: string; tokens_used: number | null; sources: unknown }>(
      `select m.role, m.content, m.tokens_used, m.sources from public.messages m join public.conversations c on c.id = m.conversation_id
       where c.session_id = $1 order by m.created_at, m.id`,
      [sessionId],
    )
  ).rows;

describe('a turn with a Mistral agent', () => {
  it('streams start, tool activity, text and sources, then done, and stores the reply with its sources', async () => {
    const { apiKey } = await groundedAgent();
    const { app } = makeApp();
    const sessionId = session();
    standIn.scriptConversation({
      type: 'reply',
      steps: [
        { type: 'started' },
        { type: 'tool', name: 'document_library', state: 'started' },
        { type: 'tool', name: 'document_library', state: 'done' },
        { type: 'text', text: 'You can claim €500' },
        { type: 'reference', title: 'Policy.pdf', url: null, description: 'Remote work policy' },
        { type: 'text', text: ', see the page.' },
        { type: 'reference', title: '<b>Pricing</b>', url: 'https://shop.example/pricing' },
        { type: 'reference', title: 'Pricing (again)', url: 'https://shop.example/pricing' },
        { type: 'reference', title: 'Bad link', url: 'javascript:alert(1)' },
        { type: 'done', usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 129, connector_tokens: 100 } },
      ],
    });
    const res = await chat(app, apiKey, { session_id: sessionId, message: 'How much can I claim?' });
    assert.equal(res.status, 200);
    const events = await sseEvents(res);
    const names = events.map((e) => e.event);
    assert.equal(names[0], 'start');
    assert.equal(names.at(-1), 'done');
    assert.deepEqual(
      events.filter((e) => e.event === 'activity').map((e) => e.data),
      [{ tool: 'document_library', state: 'started' }, { tool: 'document_library', state: 'done' }],
    );
    const sources = events.filter((e) => e.event === 'sources').flatMap((e) => e.data.sources as unknown[]);
    const expected = [
      { id: '1', title: 'Policy.pdf', snippet: 'Remote work policy' },
      { id: '2', title: '<b>Pricing</b>', url: 'https://shop.example/pricing' },
      { id: '3', title: 'Bad link' },
    ];
    assert.deepEqual(sources, expected);
    assert.ok(names.indexOf('activity') < names.indexOf('delta'), 'the tool ran before the text');
    assert.equal(events.filter((e) => e.event === 'delta').map((e) => e.data.text).join(''), 'You can claim €500, see the page.');

    const done = events.at(-1)!.data;
    assert.equal(done.tokens_used, 9);
    const stored = await history(app, apiKey, sessionId);
    assert.deepEqual(stored.map((m) => [m.role, m.content, m.sources]), [
      ['user', 'How much can I claim?', undefined],
      ['assistant', 'You can claim €500, see the page.', expected],
    ]);
    assert.equal(stored[1]?.id, done.message_id);
    const r = await rows(sessionId);
    assert.deepEqual(r.map((m) => m.tokens_used), [120, 9], 'prompt + connector tokens on the question, completion on the reply');
  });

  it('sends Mistral the agent id and the conversation, never the row’s instructions or settings, and replays the history', async () => {
    const { apiKey } = await groundedAgent();
    const { app } = makeApp();
    const sessionId = session();
    standIn.scriptConversation([{ type: 'reply' }, { type: 'reply' }]);
    await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'First question' }));
    await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'Second question' }));
    const [first, second] = standIn.requests.slice(-2);
    assert.equal(second?.path, '/v1/conversations');
    assert.doesNotMatch(JSON.stringify(first?.body), /LOCAL INSTRUCTIONS|temperature|max_tokens|top_p|model/);
    assert.deepEqual(second?.body, {
      agent_id: AGENT,
      inputs: [
        { object: 'entry', type: 'message.input', role: 'user', content: 'First question', prefix: false },
        { object: 'entry', type: 'message.input', role: 'assistant', content: 'Echo: First question', prefix: false },
        { object: 'entry', type: 'message.input', role: 'user', content: 'Second question', prefix: false },
      ],
      stream: true,
      store: false,
    });
  });

  it('ends with an error event and keeps the question and the partial reply with its sources when Mistral reports an error mid-stream', async () => {
    const { apiKey } = await groundedAgent();
    const { app, settled } = makeApp();
    const sessionId = session();
    standIn.scriptConversation({
      type: 'reply',
      steps: [{ type: 'started' }, { type: 'text', text: 'Half an answer' }, { type: 'reference', title: 'Doc A', url: null }, { type: 'error', message: 'boom', code: 3000 }],
    });
    const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'Tell me' }));
    assert.equal(events.at(-1)?.event, 'error');
    assert.equal(events.at(-1)?.data.code, 'upstream_error');
    await settled();
    const r = await rows(sessionId);
    assert.deepEqual(r.map((m) => [m.role, m.content, m.sources]), [
      ['user', 'Tell me', null],
      ['assistant', 'Half an answer', [{ id: '1', title: 'Doc A' }]],
    ]);
  });

  for (const [status, body] of [
    [404, { detail: 'Not Found' }],
    [403, { error: { message: 'Content blocked by guardrail', status: 403 }, guardrails: {} }],
    [422, { detail: [{ type: 'missing', loc: ['body', 'inputs'], msg: 'Field required' }] }],
    [500, { object: 'error', message: 'Internal error', type: 'server_error', param: null, code: null }],
  ] as const) {
    it(`keeps the visitor's message and ends with an error event when Mistral answers ${status}`, async () => {
      const { apiKey } = await groundedAgent();
      const { app } = makeApp();
      const sessionId = session();
      standIn.scriptConversation({ type: 'error', status, body });
      const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'Hello?' }));
      assert.deepEqual(events.map((e) => e.event), ['start', 'error']);
      assert.equal(events[1]?.data.code, 'upstream_error');
      assert.deepEqual((await rows(sessionId)).map((m) => [m.role, m.content]), [['user', 'Hello?']]);
    });
  }

  it('ends with upstream_timeout and keeps what was relayed when Mistral goes silent after a source', async () => {
    const { apiKey } = await groundedAgent();
    const { app, settled } = makeApp(300);
    const sessionId = session();
    standIn.scriptConversation({
      type: 'stall',
      afterEvents: 3,
      steps: [{ type: 'started' }, { type: 'text', text: 'Waiting…' }, { type: 'reference', title: 'Doc', url: 'https://d.example/' }, { type: 'done' }],
    });
    const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'Slow?' }));
    assert.deepEqual(events.map((e) => e.event), ['start', 'delta', 'sources', 'error']);
    assert.equal(events.at(-1)?.data.code, 'upstream_timeout');
    await settled();
    assert.deepEqual((await rows(sessionId)).at(-1)?.sources, [{ id: '1', title: 'Doc', url: 'https://d.example/' }]);
  });

  it('stores the partial reply and its sources when the visitor leaves mid-reply', async () => {
    const { apiKey } = await groundedAgent();
    const { app, settled } = makeApp();
    const sessionId = session();
    standIn.scriptConversation({
      type: 'reply',
      chunkDelayMs: 40,
      steps: [{ type: 'started' }, { type: 'reference', title: 'Early doc', url: null }, { type: 'text', text: 'one two three four five six seven eight nine ten', chunkSize: 4 }, { type: 'done' }],
    });
    const ac = new AbortController();
    const res = await chat(app, apiKey, { session_id: sessionId, message: 'Count' }, ac.signal);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
    for (let deltas = 0; deltas < 2; ) if ((await reader.read()).value?.event === 'delta') deltas++;
    ac.abort();
    await reader.cancel().catch(() => {});
    await settled();
    const last = (await rows(sessionId)).at(-1);
    assert.equal(last?.role, 'assistant');
    assert.ok(last!.content.length > 0 && last!.content.length < 49, last!.content);
    assert.deepEqual(last?.sources, [{ id: '1', title: 'Early doc' }]);
  });

  it('relays and stores a source id once even if an upstream repeats it', async () => {
    const { apiKey } = await groundedAgent();
    const base = loadConfig({});
    const pending: Promise<unknown>[] = [];
    const { app } = createApp({
      store,
      config: base,
      log: memoryLogger(),
      waitUntil: (p) => void pending.push(p),
      upstream: {
        kind: 'mistral',
        async *stream() {
          yield 'Text';
          yield { type: 'source', source: { id: '1', title: 'A' } };
          yield { type: 'source', source: { id: '1', title: 'A again' } };
          return { finishReason: 'stop', promptTokens: 1, completionTokens: 1 };
        },
      },
    });
    const sessionId = session();
    const events = await sseEvents(await chat(app, apiKey, { session_id: sessionId, message: 'x' }));
    assert.deepEqual(events.filter((e) => e.event === 'sources').map((e) => e.data), [{ sources: [{ id: '1', title: 'A' }] }]);
    await Promise.allSettled(pending);
    assert.deepEqual((await rows(sessionId)).at(-1)?.sources, [{ id: '1', title: 'A' }]);
  });

  it('works as before for an agent without mistral_agent_id: chat completions, no sources', async () => {
    const { apiKey } = await groundedAgent(null);
    const { app } = makeApp();
    standIn.script({ type: 'reply', text: 'Plain answer.' });
    const events = await sseEvents(await chat(app, apiKey, { session_id: session(), message: 'Plain?' }));
    assert.deepEqual([...new Set(events.map((e) => e.event))], ['start', 'delta', 'done']);
    const sent = standIn.requests.at(-1);
    assert.equal(sent?.path, '/v1/chat/completions');
    assert.match(JSON.stringify(sent?.body), /LOCAL INSTRUCTIONS/);
  });
});
