import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAbortError } from '../../src/server/upstream/mistral.ts';
import { offlineDemoReply, tokenPieces } from '../../src/server/upstream/offline-demo-replies.ts';
import { createOfflineDemoUpstream, offlineDemoFetch } from '../../src/server/upstream/offline-demo.ts';
import type { UpstreamRequest, UpstreamYield } from '../../src/server/upstream/upstream.ts';
import { estimateTokens } from '../../src/server/upstream/wire-format.ts';

const REQ: UpstreamRequest = {
  model: 'mistral-small-latest',
  messages: [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'What can you do?' },
  ],
};

async function collect(gen: AsyncGenerator<UpstreamYield, unknown, void>) {
  const deltas: string[] = [];
  for (let next = await gen.next(); ; next = await gen.next()) {
    if (next.done) return { deltas, result: next.value };
    if (typeof next.value === 'string') deltas.push(next.value);
  }
}

describe('offline demo model', () => {
  it('streams a reply that says it comes from the offline demo, in many small chunks with the billed usage', async () => {
    const demo = createOfflineDemoUpstream({ chunkDelayMs: 0 });
    assert.equal(demo.kind, 'offline-demo');
    const { deltas, result } = await collect(demo.stream(REQ, { signal: new AbortController().signal, requestId: 'r' }));
    const text = deltas.join('');
    assert.equal(text, offlineDemoReply('What can you do?'));
    assert.ok(deltas.length > 50, `arrives in many small chunks (${deltas.length})`);
    assert.match(text, /offline demo/i);
    assert.match(text, /MISTRAL_API_KEY/);
    assert.deepEqual(result, { finishReason: 'stop', promptTokens: estimateTokens('You are helpful.') + estimateTokens('What can you do?'), completionTokens: estimateTokens(text) });
  });

  it('streams in pieces of a few tokens, cut between or inside words, never inside a character', async () => {
    const demo = createOfflineDemoUpstream({ chunkDelayMs: 0 });
    const message = 'Tell me something 🐘 about “anticonstitutionnellement” please';
    const { deltas } = await collect(demo.stream({ model: 'm', messages: [{ role: 'user', content: message }] }, { signal: new AbortController().signal, requestId: 'r' }));
    assert.equal(deltas.join(''), offlineDemoReply(message));
    for (const d of deltas) {
      assert.ok(d.length <= 3 * 8 + 40, `a chunk of a few tokens: ${JSON.stringify(d)}`);
      assert.ok(!/[\ud800-\udbff]$/.test(d) && !/^[\udc00-\udfff]/.test(d), `no surrogate pair cut: ${JSON.stringify(d)}`);
    }
    assert.ok(new Set(deltas.map((d) => d.length)).size > 5, 'chunk sizes vary');
    assert.equal(tokenPieces('A sentence, with words.').join(''), 'A sentence, with words.');
  });

  it('echoes only a short, single-line part of a message it has no demo reply for', async () => {
    const demo = createOfflineDemoUpstream({ chunkDelayMs: 0 });
    const long = `first line\nsecond ${'x'.repeat(500)}`;
    const { deltas } = await collect(demo.stream({ model: 'm', messages: [{ role: 'user', content: long }] }, { signal: new AbortController().signal, requestId: 'r' }));
    const text = deltas.join('');
    assert.ok(text.includes('first line second xxx'));
    assert.ok(!text.includes('x'.repeat(100)));
  });

  it('waits before the first words, then paces the chunks around the chunk delay', async () => {
    const demo = createOfflineDemoUpstream({ chunkDelayMs: 4, chunkSize: 100, firstTokenMs: 60 });
    const t0 = performance.now();
    const gen = demo.stream(REQ, { signal: new AbortController().signal, requestId: 'r' });
    const first = await gen.next();
    assert.equal(first.done, false);
    assert.ok(performance.now() - t0 >= 55, 'the first words come after firstTokenMs');
    const t1 = performance.now();
    const { deltas } = await collect(gen);
    // Each pause is 50 % to 150 % of the delay (timers may fire up to 1 ms early).
    assert.ok(performance.now() - t1 >= deltas.length * 1, 'each later chunk waits for its pause');
  });

  it('stops streaming as soon as the caller aborts', async () => {
    const demo = createOfflineDemoUpstream({ chunkDelayMs: 300 });
    const ac = new AbortController();
    const gen = demo.stream(REQ, { signal: ac.signal, requestId: 'r' });
    const first = await gen.next();
    assert.equal(first.done, false);
    const t0 = performance.now();
    ac.abort();
    await assert.rejects(gen.next(), (err) => isAbortError(err));
    assert.ok(performance.now() - t0 < 150, 'the abort ends the stream without waiting for the next chunk');
  });

  it('answers 422 like Mistral to a body with unknown fields', async () => {
    const res = await offlineDemoFetch(0, 8)('http://demo/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages: [], stream: true, max_completion_tokens: 3 }),
    });
    assert.equal(res.status, 422);
    const body = (await res.json()) as { message: { detail: { loc: string[] }[] } };
    assert.deepEqual(body.message.detail[0]?.loc, ['body', 'max_completion_tokens']);
  });

  it('speaks the recorded SSE wire format', async () => {
    const res = await offlineDemoFetch(0, 8)('http://demo/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const raw = await res.text();
    const frames = raw.split('\n\n').filter(Boolean);
    assert.equal(frames.at(-1), 'data: [DONE]');
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.replace(/^data: /, '')));
    assert.deepEqual(chunks[0].choices[0], { index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null });
    assert.equal(chunks[0].object, 'chat.completion.chunk');
    assert.equal(chunks[0].model, 'demo-model');
    assert.match(chunks[0].id, /^[0-9a-f]{32}$/);
    const last = chunks.at(-1);
    assert.equal(last.choices[0].finish_reason, 'stop');
    assert.equal(typeof last.usage.prompt_tokens, 'number');
    assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
  });
});
