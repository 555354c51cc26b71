import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiError } from '../../src/server/errors.ts';
import { memoryLogger } from '../../src/server/log.ts';
import {
  contentText,
  createMistralUpstream,
  isAbortError,
  parseRetryAfter,
  summarizeErrorBody,
  UPSTREAM_MESSAGES,
  type MistralUpstreamOptions,
} from '../../src/server/upstream/mistral.ts';
import type { UpstreamRequest, UpstreamResult } from '../../src/server/upstream/upstream.ts';
import { estimateTokens } from '../../src/server/upstream/wire-format.ts';
import { startMistralStandIn, type MistralStandIn } from '../helpers/mistral-stand-in.ts';
import { closeSuiteTransport, suiteTransport } from '../helpers/upstream-transport.ts';

const KEY = 'sk-test-0123456789abcdef';
const REQ: UpstreamRequest = { model: 'mistral-small-latest', messages: [{ role: 'user', content: 'Hello there' }] };
const LONG = 'The quick brown fox jumps over the lazy dog. '.repeat(20);

let standIn: MistralStandIn;
let log: ReturnType<typeof memoryLogger>;

function upstream(over: Partial<MistralUpstreamOptions> = {}) {
  return createMistralUpstream({
    apiKey: KEY,
    baseUrl: standIn.url,
    timeouts: { firstByteMs: 300, idleMs: 300, totalMs: 3000 },
    retries: { max: 2, maxDelayMs: 20 },
    log,
    // fetch by default; upstream-node-transport.test.ts runs this whole file again over the Node server's client.
    ...suiteTransport(),
    ...over,
  });
}

interface Run {
  deltas: string[];
  result?: UpstreamResult;
  error?: unknown;
  ms: number;
}

/** Drains one stream; `onDelta` may act (abort, …) after each delta. */
async function run(
  up = upstream(),
  opts: { req?: UpstreamRequest; signal?: AbortSignal; onDelta?: (n: number) => void } = {},
): Promise<Run> {
  const t0 = performance.now();
  const out: Run = { deltas: [], ms: 0 };
  const gen = up.stream(opts.req ?? REQ, { signal: opts.signal ?? new AbortController().signal, requestId: 'req-1' });
  try {
    for (;;) {
      const next = await gen.next();
      if (next.done) {
        out.result = next.value;
        break;
      }
      assert.equal(typeof next.value, 'string', 'chat completions yield text only');
      out.deltas.push(next.value as string);
      opts.onDelta?.(out.deltas.length);
    }
  } catch (err) {
    out.error = err;
  }
  out.ms = performance.now() - t0;
  return out;
}

function apiError(r: Run, code: string): ApiError {
  assert.ok(r.error instanceof ApiError, `expected an ApiError, got ${String(r.error)}`);
  assert.equal(r.error.code, code);
  return r.error;
}

before(async () => {
  standIn = await startMistralStandIn();
});
after(() => {
  closeSuiteTransport();
  return standIn.close();
});
beforeEach(() => {
  log = memoryLogger();
  standIn.requests.length = 0;
});

describe('Mistral upstream: reading replies', () => {
  it('streams the reply in order and takes usage from the last content chunk', async () => {
    const text = 'Hello, this is a streamed answer.';
    standIn.script({ type: 'reply', text, chunkSize: 5, usage: 'last' });
    const r = await run();
    assert.equal(r.error, undefined);
    assert.equal(r.deltas.join(''), text);
    assert.ok(r.deltas.length >= 6, 'arrives in several deltas');
    assert.ok(r.deltas.every((d) => d.length > 0), 'the role-only first chunk yields nothing');
    assert.deepEqual(r.result, { finishReason: 'stop', promptTokens: estimateTokens('Hello there'), completionTokens: estimateTokens(text) });
  });

  it('takes usage from a separate final chunk when intermediate chunks carry usage null', async () => {
    standIn.script({ type: 'reply', text: 'Separate usage.', usage: 'separate', nullUsage: true, finishReason: 'length' });
    const r = await run();
    assert.equal(r.deltas.join(''), 'Separate usage.');
    assert.deepEqual(r.result, { finishReason: 'length', promptTokens: 3, completionTokens: 4 });
  });

  it('returns null token counts when Mistral sends no usage', async () => {
    standIn.script({ type: 'reply', text: 'No usage here.', usage: 'none' });
    const r = await run();
    assert.deepEqual(r.result, { finishReason: 'stop', promptTokens: null, completionTokens: null });
  });

  it('joins text parts when delta.content is an array', async () => {
    standIn.script({ type: 'reply', text: 'Parts of a reply.', arrayContent: true, chunkSize: 4 });
    const r = await run();
    assert.equal(r.deltas.join(''), 'Parts of a reply.');
    assert.equal(contentText([{ type: 'thinking', thinking: [] }, { type: 'text', text: 'a' }, { type: 'text', text: 'b' }]), 'ab');
  });

  it('reads "data:  {" lines written with two spaces', async () => {
    standIn.script({ type: 'reply', text: 'Two spaces.', twoSpaces: true });
    const r = await run();
    assert.equal(r.deltas.join(''), 'Two spaces.');
    assert.equal(r.result?.finishReason, 'stop');
  });

  it('ignores unknown fields such as the padding field p', async () => {
    standIn.script({ type: 'reply', text: 'Padded chunks.', padding: true, nullUsage: true });
    const r = await run();
    assert.equal(r.deltas.join(''), 'Padded chunks.');
    assert.equal(r.result?.completionTokens, estimateTokens('Padded chunks.'));
  });

  it('keeps multi-byte characters whole across chunks', async () => {
    const text = 'Café 😀 naïve — 漢字 🎉 done';
    standIn.script({ type: 'reply', text, chunkSize: 1 });
    const r = await run();
    assert.equal(r.deltas.join(''), text);
  });

  it('reuses the keep-alive connection across replies', async () => {
    const before = standIn.connections;
    for (let i = 0; i < 20; i++) assert.equal((await run()).deltas.join(''), 'Echo: Hello there');
    assert.ok(standIn.connections - before < 10, `${standIn.connections - before} connections for 20 replies`);
  });

  it('fails with upstream_error when the stream ends cleanly without a finish_reason', async () => {
    standIn.script({ type: 'cut', afterChunks: 3, mode: 'end', text: 'Hello world', chunkSize: 2 });
    const r = await run();
    assert.deepEqual(r.deltas, ['He', 'll']);
    assert.equal(apiError(r, 'upstream_error').message, UPSTREAM_MESSAGES.cutOff);
    assert.ok(log.lines.some((l) => l.level === 'error' && l.fields?.request_id === 'req-1'));
  });

  it('fails with upstream_error when the connection drops mid-reply, keeping what was relayed', async () => {
    standIn.script([{ type: 'cut', afterChunks: 3, text: 'Hello world', chunkSize: 2 }, { type: 'reply', text: 'never' }]);
    const r = await run();
    assert.deepEqual(r.deltas, ['He', 'll']);
    apiError(r, 'upstream_error');
    assert.equal(standIn.requests.length, 1, 'no retry once a delta was yielded');
  });
});

describe('Mistral upstream: the request it sends', () => {
  it('sends only the fields Mistral knows, omitting null and undefined options', async () => {
    const req = {
      model: 'mistral-small-latest',
      messages: [{ role: 'user', content: 'Hi', extra: 'dropped' }],
      temperature: null,
      max_tokens: 100,
      top_p: undefined,
    } as unknown as UpstreamRequest;
    const r = await run(upstream(), { req });
    assert.equal(r.error, undefined);
    const [sent] = standIn.requests;
    assert.deepEqual(sent?.body, { model: 'mistral-small-latest', messages: [{ role: 'user', content: 'Hi' }], stream: true, max_tokens: 100 });
    assert.equal(sent?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sent?.headers.accept, 'text/event-stream');
    assert.match(String(sent?.headers['content-type']), /^application\/json/);
  });

  it('passes temperature, top_p and max_tokens when set', async () => {
    await run(upstream(), { req: { ...REQ, temperature: 0.3, top_p: 0.9, max_tokens: 50 } });
    assert.deepEqual(standIn.requests[0]?.body, { ...REQ, stream: true, temperature: 0.3, top_p: 0.9, max_tokens: 50 });
  });

  it('posts to {baseUrl}/v1/chat/completions even with a trailing slash', async () => {
    const r = await run(upstream({ baseUrl: `${standIn.url}/` }));
    assert.equal(r.deltas.join(''), 'Echo: Hello there');
  });
});

describe('Mistral upstream: errors and retries', () => {
  it('maps 401 to a configuration error, logs the rejected key and does not retry', async () => {
    standIn.script({ type: 'error', status: 401, body: { detail: 'Invalid API Key' } });
    const r = await run();
    const err = apiError(r, 'upstream_error');
    assert.equal(err.message, 'The assistant is not configured correctly.');
    assert.equal(err.status, 502);
    assert.equal(standIn.requests.length, 1);
    const line = log.lines.find((l) => l.msg === 'Mistral rejected the API key');
    assert.equal(line?.level, 'error');
    assert.equal(line?.fields?.request_id, 'req-1');
    assert.match(String(line?.fields?.detail), /Invalid API Key/);
  });

  it('reports a wrong key as a configuration error against a key-checking Mistral', async () => {
    const strict = await startMistralStandIn({ apiKey: 'the-right-key' });
    try {
      const err = apiError(await run(upstream({ baseUrl: strict.url })), 'upstream_error');
      assert.equal(err.message, UPSTREAM_MESSAGES.badKey);
      const ok = await run(upstream({ baseUrl: strict.url, apiKey: 'the-right-key' }));
      assert.equal(ok.deltas.join(''), 'Echo: Hello there');
    } finally {
      await strict.close();
    }
  });

  it('maps 403 like 401', async () => {
    standIn.script({ type: 'error', status: 403, body: { message: 'Unauthorized', request_id: 'abc' } });
    const err = apiError(await run(), 'upstream_error');
    assert.equal(err.message, UPSTREAM_MESSAGES.badKey);
  });

  it('maps 422 to upstream_error without retrying and logs the validation detail', async () => {
    standIn.script({
      type: 'error',
      status: 422,
      body: {
        object: 'error',
        message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'max_completion_tokens'], msg: 'Extra inputs are not permitted' }] },
        type: 'invalid_request_error', param: null, code: null,
      },
    });
    const err = apiError(await run(), 'upstream_error');
    assert.equal(err.message, UPSTREAM_MESSAGES.badRequest);
    assert.equal(standIn.requests.length, 1);
    const line = log.lines.find((l) => l.msg === 'Mistral rejected the request');
    assert.match(String(line?.fields?.detail), /body\.max_completion_tokens: Extra inputs are not permitted/);
  });

  it('answers 422 itself when the body carries an unknown field, as Mistral does', async () => {
    const res = await fetch(`${standIn.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...REQ, stream: true, max_completion_tokens: 5 }),
    });
    assert.equal(res.status, 422);
    assert.match(await res.text(), /extra_forbidden/);
  });

  it('retries a 429 after the Retry-After delay, then streams the reply', async () => {
    standIn.script([{ type: 'error', status: 429, headers: { 'retry-after': '1' }, body: { object: 'error', message: 'Rate limit exceeded', type: 'rate_limited', param: null, code: '1300', raw_status_code: 429 } }]);
    const r = await run(upstream({ retries: { max: 2, maxDelayMs: 400 } }));
    assert.equal(r.deltas.join(''), 'Echo: Hello there');
    assert.equal(standIn.requests.length, 2);
    // Retry-After 1 s capped at maxDelayMs 400: plain backoff would have waited 125–250 ms.
    assert.ok(r.ms >= 390, `waited ${r.ms} ms`);
    assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg.includes('retrying') && l.fields?.delayMs === 400));
  });

  it('gives up after retries.max and reports rate_limited with the Retry-After seconds', async () => {
    const limited = { type: 'error' as const, status: 429, headers: { 'retry-after': '7' }, body: { object: 'error', message: 'Rate limit exceeded' } };
    standIn.script([limited, limited, limited]);
    const r = await run();
    const err = apiError(r, 'rate_limited');
    assert.equal(err.retryAfter, 7);
    assert.equal(err.status, 429);
    assert.equal(standIn.requests.length, 3, 'one call plus two retries');
  });

  it('reports rate_limited without retryAfter when Mistral gives no Retry-After', async () => {
    const limited = { type: 'error' as const, status: 429, body: 'Too Many Requests' };
    standIn.script([limited, limited, limited]);
    const r = await run();
    assert.equal(apiError(r, 'rate_limited').retryAfter, undefined);
    assert.equal(standIn.requests.length, 3);
  });

  it('honours an HTTP-date Retry-After', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    standIn.script({ type: 'error', status: 503, headers: { 'retry-after': at } });
    const r = await run(upstream({ retries: { max: 1, maxDelayMs: 150 } }));
    assert.equal(r.deltas.join(''), 'Echo: Hello there');
    assert.ok(r.ms >= 140, `waited ${r.ms} ms (capped at maxDelayMs)`);
  });

  it('retries a 500 and streams the next answer', async () => {
    standIn.script({ type: 'error', status: 500, body: { object: 'error', message: 'Internal server error', type: 'internal', param: null, code: null } });
    const r = await run();
    assert.equal(r.deltas.join(''), 'Echo: Hello there');
    assert.equal(standIn.requests.length, 2);
  });

  it('maps a persisting 503 to upstream_error after retries.max', async () => {
    const down = { type: 'error' as const, status: 503, body: '<html>Service Unavailable</html>' };
    standIn.script([down, down, down]);
    const err = apiError(await run(), 'upstream_error');
    assert.equal(err.message, UPSTREAM_MESSAGES.unavailable);
    assert.equal(standIn.requests.length, 3);
    const line = log.lines.find((l) => l.level === 'error');
    assert.equal(line?.fields?.status, 503);
    assert.equal(line?.fields?.attempts, 3);
  });

  it('does not retry other statuses such as 404', async () => {
    standIn.script({ type: 'error', status: 404, body: { detail: 'Not Found' } });
    apiError(await run(), 'upstream_error');
    assert.equal(standIn.requests.length, 1);
  });

  it('retries a dropped connection when nothing was relayed yet', async () => {
    standIn.script({ type: 'cut', afterChunks: 1 });
    const r = await run();
    assert.equal(r.deltas.join(''), 'Echo: Hello there');
    assert.equal(standIn.requests.length, 2);
  });

  it('maps an unreachable Mistral to upstream_error after retrying', async () => {
    const gone = await startMistralStandIn();
    await gone.close();
    const r = await run(upstream({ baseUrl: gone.url }));
    assert.equal(apiError(r, 'upstream_error').message, UPSTREAM_MESSAGES.unreachable);
    assert.equal(log.lines.filter((l) => l.msg.includes('retrying')).length, 2);
  });

  it('never puts the key, the raw body or a stack in error messages, and keeps the key out of logs', async () => {
    const marker = 'RAW-BODY-MARKER';
    const cases = [
      { type: 'error' as const, status: 401, body: { detail: `Invalid API Key ${KEY} ${marker}` } },
      { type: 'error' as const, status: 422, body: { message: { detail: [{ msg: marker }] } } },
      { type: 'error' as const, status: 400, body: `${marker} ${KEY}` },
      { type: 'error' as const, status: 429, body: { message: marker } },
      { type: 'error' as const, status: 500, body: { message: `${marker} at Object.<anonymous> (/srv/app.js:1:1)` } },
    ];
    for (const c of cases) {
      standIn.script(c);
      const r = await run(upstream({ retries: { max: 0, maxDelayMs: 0 } }));
      assert.ok(r.error instanceof ApiError, `status ${c.status}`);
      for (const s of [r.error.message, JSON.stringify(r.error.toBody('req-1'))]) {
        assert.ok(!s.includes(KEY), `status ${c.status}: no key`);
        assert.ok(!s.includes(marker), `status ${c.status}: no raw body`);
        assert.ok(!/\bat .*:\d+:\d+/.test(s), `status ${c.status}: no stack`);
      }
    }
    const logged = JSON.stringify(log.lines);
    assert.ok(logged.includes(marker), 'the body is logged server-side');
    assert.ok(!logged.includes(KEY), 'the key is redacted from logs');
  });
});

describe('Mistral upstream: time limits', () => {
  it('times out when Mistral never sends a first byte, and closes the request', async () => {
    standIn.script({ type: 'silent' });
    const r = await run(upstream({ retries: { max: 2, maxDelayMs: 10 } }));
    assert.equal(apiError(r, 'upstream_timeout').status, 504);
    assert.ok(r.ms >= 290 && r.ms < 1500, `after ${r.ms} ms`);
    assert.equal(standIn.requests.length, 1, 'a timeout is not retried');
    assert.equal(await standIn.requests[0]?.outcome, 'client-closed');
    assert.ok(log.lines.some((l) => l.msg === 'Mistral timed out' && l.fields?.phase === 'first_byte'));
  });

  it('counts headers without any event as no first byte', async () => {
    standIn.script({ type: 'stall', afterChunks: 0 });
    const r = await run();
    apiError(r, 'upstream_timeout');
    assert.ok(log.lines.some((l) => l.fields?.phase === 'first_byte'));
  });

  it('times out when the stream stalls, keeping the deltas already relayed', async () => {
    standIn.script({ type: 'stall', afterChunks: 3, text: 'Hello world', chunkSize: 2 });
    const r = await run();
    assert.deepEqual(r.deltas, ['He', 'll']);
    apiError(r, 'upstream_timeout');
    assert.ok(log.lines.some((l) => l.fields?.phase === 'idle'));
    assert.equal(await standIn.requests[0]?.outcome, 'client-closed');
  });

  it('does not count time spent by a slow consumer as upstream silence', async () => {
    standIn.script({ type: 'reply', text: 'Slow reader.', chunkSize: 6, chunkDelayMs: 10 });
    const up = upstream({ timeouts: { firstByteMs: 300, idleMs: 100, totalMs: 3000 } });
    const gen = up.stream(REQ, { signal: new AbortController().signal, requestId: 'req-1' });
    let text = '';
    for (let next = await gen.next(); !next.done; next = await gen.next()) {
      text += next.value;
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.equal(text, 'Slow reader.');
  });

  it('keeps a finished reply when Mistral goes silent before [DONE]', async () => {
    standIn.script({ type: 'stall', afterChunks: 2, text: 'Hi', usage: 'last' });
    const r = await run(upstream({ timeouts: { firstByteMs: 300, idleMs: 100, totalMs: 3000 } }));
    assert.equal(r.error, undefined);
    assert.equal(r.deltas.join(''), 'Hi');
    assert.equal(r.result?.finishReason, 'stop');
    assert.equal(r.result?.completionTokens, 1);
  });

  it('stops at the total time limit even while chunks keep coming', async () => {
    standIn.script({ type: 'reply', text: LONG, chunkSize: 4, chunkDelayMs: 20 });
    const r = await run(upstream({ timeouts: { firstByteMs: 300, idleMs: 300, totalMs: 250 } }));
    apiError(r, 'upstream_timeout');
    assert.ok(r.deltas.length > 3, 'some text was relayed first');
    assert.ok(r.ms >= 240 && r.ms < 1000, `after ${r.ms} ms`);
    assert.ok(log.lines.some((l) => l.fields?.phase === 'total'));
  });
});

describe('Mistral upstream: caller abort', () => {
  it('stops the upstream request promptly when the caller aborts mid-reply', async () => {
    standIn.script({ type: 'reply', text: LONG, chunkSize: 4, chunkDelayMs: 30 });
    const ac = new AbortController();
    let abortedAt = 0;
    const r = await run(upstream(), {
      signal: ac.signal,
      onDelta: (n) => {
        if (n === 2) {
          abortedAt = performance.now();
          ac.abort();
        }
      },
    });
    assert.ok(isAbortError(r.error), `expected an AbortError, got ${String(r.error)}`);
    assert.ok(!(r.error instanceof ApiError));
    assert.equal(r.deltas.length, 2, 'nothing is yielded after the abort');
    const outcome = await Promise.race([standIn.requests[0]!.outcome, new Promise((res) => setTimeout(res, 500, 'still open'))]);
    assert.equal(outcome, 'client-closed');
    assert.ok(performance.now() - abortedAt < 500);
  });

  it('yields nothing more after an abort even when the rest of the reply already arrived', async () => {
    standIn.script({ type: 'reply', text: LONG, chunkSize: 4 });
    const ac = new AbortController();
    const r = await run(upstream(), { signal: ac.signal, onDelta: () => ac.abort() });
    assert.ok(isAbortError(r.error));
    assert.equal(r.deltas.length, 1);
  });

  it('stops promptly when the caller aborts before the first byte', async () => {
    standIn.script({ type: 'silent' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await run(upstream({ timeouts: { firstByteMs: 5000, idleMs: 5000, totalMs: 5000 } }), { signal: ac.signal });
    assert.ok(isAbortError(r.error));
    assert.ok(r.ms < 400, `after ${r.ms} ms`);
    assert.equal(await standIn.requests[0]?.outcome, 'client-closed');
  });

  it('stops waiting for a retry when the caller aborts', async () => {
    standIn.script({ type: 'error', status: 503, headers: { 'retry-after': '5' } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await run(upstream({ retries: { max: 2, maxDelayMs: 5000 } }), { signal: ac.signal });
    assert.ok(isAbortError(r.error));
    assert.ok(r.ms < 400, `after ${r.ms} ms`);
    assert.equal(standIn.requests.length, 1);
  });

  it('throws AbortError at once when the signal is already aborted', async () => {
    const r = await run(upstream(), { signal: AbortSignal.abort() });
    assert.ok(isAbortError(r.error));
    assert.equal(standIn.requests.length, 0);
  });

  it('closes the upstream request when the consumer stops iterating', async () => {
    standIn.script({ type: 'reply', text: LONG, chunkSize: 4, chunkDelayMs: 30 });
    for await (const delta of upstream().stream(REQ, { signal: new AbortController().signal, requestId: 'req-1' })) {
      assert.ok(typeof delta === 'string' && delta.length > 0);
      break;
    }
    assert.equal(await standIn.requests[0]?.outcome, 'client-closed');
  });
});

describe('Mistral upstream: helpers', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it('summarises every documented error body shape without throwing', () => {
    assert.equal(summarizeErrorBody('{"detail":"Invalid API Key"}'), 'Invalid API Key');
    assert.equal(summarizeErrorBody('{"message":"Unauthorized","request_id":"r1"}'), 'Unauthorized; request_id=r1');
    assert.match(summarizeErrorBody('{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}'), /Rate limit exceeded; type=rate_limited; code=1300/);
    assert.equal(summarizeErrorBody('<html>\n  Bad gateway\n</html>'), '<html> Bad gateway </html>');
    assert.equal(summarizeErrorBody('null'), 'null');
    assert.equal(summarizeErrorBody('{"detail":[{"loc":["body","x"],"msg":"bad"}]}'), 'body.x: bad');
  });
});
