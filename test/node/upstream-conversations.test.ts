/**
 * The Mistral upstream on the Conversations API (a request naming a Mistral agent), against the stand-in's
 * `/v1/conversations` built from shared/reference/mistral-conversations.md: what it sends, how it reads
 * text, sources, tool activity and usage, and how every failure ends, with the same time limits and retry
 * rules as chat completions.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Source } from '../../src/protocol.ts';
import { ApiError } from '../../src/server/errors.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { DOCS_DEMO_AGENT_ID } from '../../src/server/upstream/builtin-agents.ts';
import { billedPromptTokens } from '../../src/server/upstream/conversations.ts';
import type { ConversationStep } from '../../src/server/upstream/conversations-wire.ts';
import { createMistralUpstream, isAbortError, UPSTREAM_MESSAGES, type MistralUpstreamOptions } from '../../src/server/upstream/mistral.ts';
import type { UpstreamEvent, UpstreamRequest, UpstreamResult } from '../../src/server/upstream/upstream.ts';
import { startMistralStandIn, type MistralStandIn } from '../helpers/mistral-stand-in.ts';

const KEY = 'sk-test-conversations-0123456789';
const AGENT = 'ag_0689a1b2aaaabbbbccccddddeeeeffff';
const REQ: UpstreamRequest = {
  model: 'mistral-small-latest',
  messages: [
    { role: 'system', content: 'Local instructions that must not be sent.' },
    { role: 'user', content: 'What is the allowance?' },
    { role: 'assistant', content: 'Up to €500.' },
    { role: 'user', content: 'And receipts?' },
  ],
  temperature: 0.2,
  max_tokens: 300,
  top_p: 0.9,
  agentId: AGENT,
};

let standIn: MistralStandIn;
let log: ReturnType<typeof memoryLogger>;

function upstream(over: Partial<MistralUpstreamOptions> = {}) {
  return createMistralUpstream({
    apiKey: KEY,
    baseUrl: standIn.url,
    timeouts: { firstByteMs: 300, idleMs: 300, totalMs: 3000 },
    retries: { max: 2, maxDelayMs: 20 },
    log,
    ...over,
  });
}

interface Run {
  text: string;
  deltas: string[];
  sources: Source[];
  activity: string[];
  /** Everything yielded, in order: `text`, `source:<id>`, `activity:<tool>:<state>`. */
  order: string[];
  result?: UpstreamResult;
  error?: unknown;
}

async function run(up = upstream(), opts: { req?: UpstreamRequest; signal?: AbortSignal; onYield?: (n: number) => void } = {}): Promise<Run> {
  const out: Run = { text: '', deltas: [], sources: [], activity: [], order: [] };
  const gen = up.stream(opts.req ?? REQ, { signal: opts.signal ?? new AbortController().signal, requestId: 'req-c' });
  try {
    for (;;) {
      const next = await gen.next();
      if (next.done) {
        out.result = next.value;
        break;
      }
      const v = next.value;
      if (typeof v === 'string') {
        out.deltas.push(v);
        out.text += v;
        out.order.push('text');
      } else if (v.type === 'source') {
        out.sources.push(v.source);
        out.order.push(`source:${v.source.id}`);
      } else {
        out.activity.push(`${v.tool}:${v.state}`);
        out.order.push(`activity:${v.tool}:${v.state}`);
      }
      opts.onYield?.(out.order.length);
    }
  } catch (err) {
    out.error = err;
  }
  return out;
}

function apiError(r: Run, code: string): ApiError {
  assert.ok(r.error instanceof ApiError, `expected an ApiError, got ${String(r.error)}`);
  assert.equal(r.error.code, code);
  return r.error;
}

const usage = { prompt_tokens: 210, completion_tokens: 38, total_tokens: 3413, connector_tokens: 3165, connectors: { document_library: 1 } };

/** The reference's §2.3 example, plus what real streams may add: extra fields, unknown events, thinking. */
const REFERENCE_TURN: ConversationStep[] = [
  { type: 'started' },
  { type: 'tool', name: 'document_library', state: 'started', arguments: '{"query": "remote work equipment allowance"}' },
  { type: 'tool', name: 'document_library', state: 'done', info: {} },
  { type: 'thinking', text: 'SECRET REASONING: the user wants the allowance' },
  { type: 'text', text: 'Employees can claim up to €500 per year for home-office equipment' },
  { type: 'reference', title: 'Remote-Work-Policy-2026.pdf', url: null },
  { type: 'raw', event: 'message.output.annotation', data: { type: 'message.output.annotation', note: 'a future event type' } },
  { type: 'text', text: ', and receipts must be filed within 30 days', asChunk: true },
  { type: 'reference', title: 'Expense-Guidelines.docx', url: null, description: 'How to file expenses', extra: { source: 'brave', future_field: { a: 1 } } },
  { type: 'raw', event: 'message.output.delta', data: { type: 'message.output.delta', id: 'msg_x', content: { type: 'image_url', image_url: 'https://img.example/x.png' } } },
  { type: 'text', text: '.' },
  { type: 'done', usage },
];

before(async () => {
  standIn = await startMistralStandIn();
});
after(() => standIn.close());
beforeEach(() => {
  log = memoryLogger();
  standIn.requests.length = 0;
});
afterEach(() => {
  assert.equal(standIn.pendingConversations(), 0, 'every scripted behaviour was used');
});

describe('Conversations upstream: the request it sends', () => {
  it('posts the agent id, stream, store false and the conversation as message.input entries, and nothing of the row', async () => {
    const r = await run();
    assert.equal(r.error, undefined);
    const [sent] = standIn.requests;
    assert.equal(sent?.path, '/v1/conversations');
    assert.deepEqual(sent?.body, {
      agent_id: AGENT,
      inputs: [
        { object: 'entry', type: 'message.input', role: 'user', content: 'What is the allowance?', prefix: false },
        { object: 'entry', type: 'message.input', role: 'assistant', content: 'Up to €500.', prefix: false },
        { object: 'entry', type: 'message.input', role: 'user', content: 'And receipts?', prefix: false },
      ],
      stream: true,
      store: false,
    });
    assert.equal(sent?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sent?.headers.accept, 'text/event-stream');
  });

  it('leaves out an empty stored reply (a reply stopped before any text)', async () => {
    await run(upstream(), { req: { ...REQ, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: '' }, { role: 'user', content: 'b' }] } });
    const body = standIn.requests[0]?.body as { inputs: { content: string }[] };
    assert.deepEqual(body.inputs.map((e) => e.content), ['a', 'b']);
  });

  it('answers the built-in demo agent with chat completions and the row’s instructions, and says so once in the log', async () => {
    const req = { ...REQ, agentId: DOCS_DEMO_AGENT_ID };
    const first = await run(upstream(), { req });
    assert.equal(first.error, undefined);
    const up = upstream();
    await run(up, { req });
    await run(up, { req });
    assert.deepEqual(standIn.requests.map((r) => r.path), Array(3).fill('/v1/chat/completions'));
    const body = standIn.requests[0]?.body as { messages: { role: string }[]; agent_id?: unknown };
    assert.equal(body.messages[0]?.role, 'system');
    assert.equal(body.agent_id, undefined);
    // one warning per upstream instance (a second instance above), not one per turn
    assert.equal(log.lines.filter((l) => l.level === 'warn' && /built-in demo agent/.test(l.msg)).length, 2);
  });
});

describe('Conversations upstream: reading a response', () => {
  it('relays text, turns tool_reference chunks into numbered sources and tool runs into activity, and never shows thinking', async () => {
    standIn.scriptConversation({ type: 'reply', steps: REFERENCE_TURN, chunkSize: 7 });
    const r = await run();
    assert.equal(r.error, undefined);
    assert.equal(r.text, 'Employees can claim up to €500 per year for home-office equipment, and receipts must be filed within 30 days.');
    assert.ok(r.deltas.length > 5, 'text arrives in several deltas');
    assert.doesNotMatch(r.text, /SECRET|image/);
    assert.deepEqual(r.sources, [
      { id: '1', title: 'Remote-Work-Policy-2026.pdf' },
      { id: '2', title: 'Expense-Guidelines.docx', snippet: 'How to file expenses' },
    ]);
    assert.deepEqual(r.activity, ['document_library:started', 'document_library:done']);
    // In stream order: the tool ran first, each source right after the text it follows.
    assert.deepEqual(r.order.slice(0, 2), ['activity:document_library:started', 'activity:document_library:done']);
    assert.ok(r.order.indexOf('source:1') < r.order.lastIndexOf('text'));
    // Everything Mistral billed (connector tokens included) is prompt + completion.
    assert.deepEqual(r.result, { finishReason: 'stop', promptTokens: 3413 - 38, completionTokens: 38 });
  });

  it('reads a plain reply whose content is a bare string with no tool and no source', async () => {
    standIn.scriptConversation({ type: 'reply', steps: [{ type: 'started' }, { type: 'text', text: 'Hello!' }, { type: 'done', usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }] });
    const r = await run();
    assert.equal(r.text, 'Hello!');
    assert.deepEqual(r.sources, []);
    assert.deepEqual(r.result, { finishReason: 'stop', promptTokens: 5, completionTokens: 2 });
  });

  it('keeps only absolute http(s) URLs, lists each URL (or each title without one) once, and keeps titles as plain text', async () => {
    const refs: [unknown, unknown][] = [
      ['Pricing', 'https://shop.example/pricing'],
      ['Pricing again', 'https://shop.example/pricing'], // same URL: once
      ['<img src=x onerror=alert(1)>Handbook', 'http://docs.example/h?q=1#x'],
      ['Script', 'javascript:alert(1)'],
      ['Data', 'data:text/html,<script>alert(1)</script>'],
      ['Protocol-relative', '//evil.example/x'],
      ['Relative', '/docs/page'],
      ['Spaced scheme', ' java\tscript:alert(1)'],
      ['Local file', 'file:///etc/passwd'],
      ['Remote-Work-Policy-2026.pdf', null],
      ['Remote-Work-Policy-2026.pdf', null], // same title, no URL: once
      ['Remote-Work-Policy-2026.pdf', 'https://intranet.example/policy.pdf'], // has a URL: its own entry
      ['', 'https://www.example.org/untitled/page'], // no title: named after the URL
      ['', null], // nothing to show: dropped
      [42, 'https://numbers.example/'], // a title that is not text: named after the URL
      ['Line\nbreaks\u0000and\u0007controls \ud800 lone', null],
      ['x'.repeat(1000), null],
    ];
    standIn.scriptConversation({
      type: 'reply',
      steps: [{ type: 'started' }, { type: 'text', text: 'See the sources.' }, ...refs.map(([title, url]) => ({ type: 'reference' as const, title, url })), { type: 'done' }],
    });
    const r = await run();
    assert.equal(r.error, undefined);
    const titles = r.sources.map((s) => s.title);
    assert.deepEqual(r.sources.slice(0, 2), [
      { id: '1', title: 'Pricing', url: 'https://shop.example/pricing' },
      { id: '2', title: '<img src=x onerror=alert(1)>Handbook', url: 'http://docs.example/h?q=1#x' },
    ]);
    for (const name of ['Script', 'Data', 'Protocol-relative', 'Relative', 'Spaced scheme', 'Local file']) {
      const s = r.sources.find((x) => x.title === name);
      assert.ok(s, `${name} keeps its title`);
      assert.equal(s.url, undefined, `${name} loses its URL`);
    }
    assert.equal(titles.filter((t) => t === 'Remote-Work-Policy-2026.pdf').length, 2);
    assert.ok(r.sources.some((s) => s.title === 'example.org/untitled/page' && s.url === 'https://www.example.org/untitled/page'));
    assert.ok(r.sources.some((s) => s.title === 'numbers.example/'));
    assert.ok(titles.includes('Line breaks and controls \ufffd lone'));
    assert.ok(titles.some((t) => t.length === 300 && t.endsWith('…')));
    assert.deepEqual(r.sources.map((s) => s.id), r.sources.map((_, i) => String(i + 1)), 'ids 1, 2, … in order');
    for (const s of r.sources) if (s.url) assert.match(s.url, /^https?:\/\/[^/]/);
  });

  it('reports tool runs whose events carry no arguments, and names an odd tool name "tool"', async () => {
    standIn.scriptConversation({
      type: 'reply',
      steps: [
        { type: 'started' },
        { type: 'tool', name: 'web_search', state: 'started' },
        { type: 'tool', name: 'web_search', state: 'done' },
        { type: 'tool', name: '<script>', state: 'started' },
        { type: 'tool', name: '<script>', state: 'done' },
        { type: 'text', text: 'Found it.' },
        { type: 'reference', tool: 'web_search', title: 'Nobel Peace Prize 2024', url: 'https://www.nobelprize.org/prizes/peace/2024/', favicon: 'https://www.nobelprize.org/favicon.ico', extra: { source: 'brave' } },
        { type: 'done' },
      ],
    });
    const r = await run();
    assert.deepEqual(r.activity, ['web_search:started', 'web_search:done', 'tool:started', 'tool:done']);
    assert.deepEqual(r.sources, [{ id: '1', title: 'Nobel Peace Prize 2024', url: 'https://www.nobelprize.org/prizes/peace/2024/' }]);
  });

  it('ignores an event that is not JSON, with a warning, and goes on', async () => {
    standIn.scriptConversation({
      type: 'reply',
      steps: [{ type: 'started' }, { type: 'raw', event: 'message.output.delta', data: undefined }, { type: 'text', text: 'Still here.' }, { type: 'done' }],
    });
    const r = await run();
    assert.equal(r.text, 'Still here.');
    assert.ok(log.lines.some((l) => l.level === 'warn' && /unreadable/.test(l.msg)));
  });

  it('counts what connectors added as prompt tokens, so prompt + completion is what Mistral billed', () => {
    assert.equal(billedPromptTokens(usage), 3375);
    assert.equal(billedPromptTokens({ prompt_tokens: 10, completion_tokens: 5, connector_tokens: 7 }), 17);
    assert.equal(billedPromptTokens({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }), 10);
    assert.equal(billedPromptTokens({}), null);
  });
});

describe('Conversations upstream: failures end like chat completions', () => {
  it('ends with upstream_error on conversation.response.error, after relaying what came before', async () => {
    standIn.scriptConversation({
      type: 'reply',
      steps: [{ type: 'started' }, { type: 'text', text: 'Partial answer' }, { type: 'reference', title: 'Doc', url: null }, { type: 'error', message: 'Internal agent failure', code: 3000 }],
    });
    const r = await run();
    assert.equal(r.text, 'Partial answer');
    assert.equal(r.sources.length, 1);
    assert.equal(apiError(r, 'upstream_error').message, UPSTREAM_MESSAGES.unavailable);
    const line = log.lines.find((l) => l.msg === 'Mistral sent an error inside the stream');
    assert.equal(line?.fields?.code, 3000);
    assert.equal(line?.fields?.detail, 'Internal agent failure');
    assert.equal(standIn.requests.length, 1, 'not retried');
  });

  for (const [status, body, message, logged] of [
    [401, { message: 'Unauthorized', request_id: 'c61f2f15' }, UPSTREAM_MESSAGES.badKey, /rejected the API key/],
    [403, { error: { message: 'Content blocked by guardrail', status: 403 }, guardrails: { results: { moderation_llm_v2: { violated: true, action: 'block' } } } }, UPSTREAM_MESSAGES.blocked, /guardrail blocked/],
    [403, { object: 'Error', message: 'Request blocked due to error in guardrail evaluation and block_on_error is set to True.', type: 'invalid_request_error', code: 3201, guardrails: [] }, UPSTREAM_MESSAGES.blocked, /guardrail blocked/],
    [422, { object: 'error', message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'store'], msg: 'Extra inputs are not permitted' }] }, type: 'invalid_request_error', param: null, code: null }, UPSTREAM_MESSAGES.badRequest, /rejected the request/],
    [400, 'not json at all <html>', UPSTREAM_MESSAGES.badRequest, /rejected the request/],
  ] as const) {
    it(`maps HTTP ${status} (${typeof body === 'string' ? 'unreadable body' : JSON.stringify(body).slice(0, 40)}) to upstream_error without retrying`, async () => {
      standIn.scriptConversation({ type: 'error', status, body });
      const r = await run();
      assert.equal(apiError(r, 'upstream_error').message, message);
      assert.equal(standIn.requests.length, 1);
      assert.ok(log.lines.some((l) => logged.test(l.msg) && l.fields?.request_id === 'req-c'), `logged ${logged}`);
      assert.ok(!JSON.stringify(log.lines).includes(KEY), 'the key never reaches the log');
    });
  }

  it('maps an unknown agent (404) to upstream_error and names the agent in the log', async () => {
    const r = await run(upstream(), { req: { ...REQ, agentId: 'no-such-agent' } });
    assert.equal(apiError(r, 'upstream_error').message, UPSTREAM_MESSAGES.badKey);
    const line = log.lines.find((l) => /does not know this agent/.test(l.msg));
    assert.equal(line?.fields?.mistral_agent_id, 'no-such-agent');
    assert.equal(line?.fields?.status, 404);
  });

  it('retries 429 and 5xx before the first byte, honouring Retry-After, then answers', async () => {
    standIn.scriptConversation([
      { type: 'error', status: 429, body: { message: 'Requests rate limit exceeded' }, headers: { 'retry-after': '0' } },
      { type: 'error', status: 503, body: 'upstream connect error' },
      { type: 'reply' },
    ]);
    const r = await run();
    assert.equal(r.error, undefined);
    assert.equal(r.text, 'Echo: And receipts?');
    assert.equal(standIn.requests.length, 3);
  });

  it('gives up with rate_limited and the wait when Mistral keeps answering 429', async () => {
    standIn.scriptConversation(Array(3).fill({ type: 'error', status: 429, body: { object: 'error', message: 'Rate limit exceeded', type: 'rate_limited', param: null, code: '1300' }, headers: { 'retry-after': '7' } }));
    const r = await run(upstream({ retries: { max: 2, maxDelayMs: 1 } }));
    const err = apiError(r, 'rate_limited');
    assert.equal(err.retryAfter, 7);
    assert.equal(standIn.requests.length, 3);
  });

  it('fails with upstream_error when the connection drops mid-response, keeping what was relayed', async () => {
    standIn.scriptConversation({ type: 'cut', afterEvents: 5 });
    const r = await run();
    assert.ok(r.text.length > 0, 'some text came first');
    apiError(r, 'upstream_error');
    assert.equal(standIn.requests.length, 1, 'no retry once something was relayed');
  });

  it('fails with upstream_error when the stream ends cleanly without conversation.response.done', async () => {
    standIn.scriptConversation({ type: 'cut', afterEvents: 4, mode: 'end' });
    const r = await run();
    assert.equal(apiError(r, 'upstream_error').message, UPSTREAM_MESSAGES.cutOff);
    assert.ok(log.lines.some((l) => /before conversation.response.done/.test(l.msg)));
  });

  it('keeps a complete response when the connection drops right after done', async () => {
    const steps: ConversationStep[] = [{ type: 'started' }, { type: 'text', text: 'Complete.' }, { type: 'done' }];
    standIn.scriptConversation({ type: 'cut', afterEvents: 4, steps }); // started, 'Complete', '.', done
    const r = await run();
    assert.equal(r.error, undefined);
    assert.equal(r.text, 'Complete.');
  });

  it('times out with upstream_timeout when Mistral goes silent mid-response (idle limit)', async () => {
    standIn.scriptConversation({ type: 'stall', afterEvents: 4 });
    const r = await run();
    assert.ok(r.text.length > 0);
    apiError(r, 'upstream_timeout');
  });

  it('times out with upstream_timeout when Mistral never sends a byte (first-byte limit)', async () => {
    standIn.scriptConversation({ type: 'silent' });
    const r = await run(upstream({ retries: { max: 0, maxDelayMs: 0 } }));
    apiError(r, 'upstream_timeout');
  });

  it('aborts the call at once when the caller aborts, as chat completions do', async () => {
    standIn.scriptConversation({ type: 'reply', chunkDelayMs: 40, chunkSize: 2 });
    const ac = new AbortController();
    const r = await run(upstream(), { signal: ac.signal, onYield: (n) => n === 3 && ac.abort() });
    assert.ok(isAbortError(r.error), String(r.error));
    assert.equal(await standIn.requests[0]?.outcome, 'client-closed');
  });
});

// Type-level: the events a reply yields are the protocol's.
const _activity: UpstreamEvent = { type: 'activity', tool: 'web_search', state: 'done' };
void _activity;
