/** The relay's SSE writer (src/server/http/sse.ts): what a widget reading the stream sees. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { formatEvent, sseResponse, SseWriter } from '../../src/server/http/sse.ts';

async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  return text + decoder.decode();
}

describe('SSE writer', () => {
  it('writes named events, one data line per line of data', async () => {
    const s = new SseWriter();
    await s.writeSSE({ event: 'delta', data: '{"text":"Hé 😀"}' });
    await s.writeSSE({ data: 'one\ntwo\r\nthree' });
    s.close();
    assert.equal(await readAll(s.body), 'event: delta\ndata: {"text":"Hé 😀"}\n\ndata: one\ndata: two\ndata: three\n\n');
    assert.throws(() => formatEvent({ event: 'a\nb', data: 'x' }), /must not contain/);
  });

  it('makes a writer wait while nobody reads, and lets it go on once the reader catches up', async () => {
    const s = new SseWriter();
    let waited = 0;
    let last = -1;
    for (let i = 0; i < 300; i++) {
      last = i;
      let settled = false;
      const p = s.writeSSE({ event: 'delta', data: String(i) }).then(() => (settled = true));
      await new Promise((r) => setImmediate(r));
      if (!settled) {
        waited++;
        const reader = s.body.getReader();
        await reader.read();
        reader.releaseLock();
        await p; // resolves once there is room again
        break;
      }
    }
    assert.equal(waited, 1, 'a write had to wait for the reader');
    s.close();
    const text = await readAll(s.body);
    assert.ok(last > 100, `waits only with a long queue (at ${last})`);
    assert.equal(text, Array.from({ length: last }, (_, i) => `event: delta\ndata: ${i + 1}\n\n`).join(''), 'nothing written was lost');
  });

  it('tells its listeners when the reader goes away, and writes nothing after that', async () => {
    const s = new SseWriter();
    let told = 0;
    s.onAbort(() => void told++);
    await s.writeSSE({ event: 'start', data: '{}' });
    await s.body.cancel();
    assert.equal(told, 1);
    assert.equal(s.aborted, true);
    await s.writeSSE({ event: 'delta', data: 'late' }); // returns at once
    s.abort(); // once only
    assert.equal(told, 1);
  });

  it('abort() ends the response and wakes a writer waiting on a reader that does not read', async () => {
    const s = new SseWriter();
    let waiting: Promise<void> | undefined;
    for (let i = 0; i < 300 && !waiting; i++) {
      const p = s.writeSSE({ data: String(i) });
      let settled = false;
      void p.then(() => (settled = true));
      await new Promise((r) => setImmediate(r));
      if (!settled) waiting = p;
    }
    assert.ok(waiting, 'a write waits');
    s.abort();
    await waiting;
    const text = await readAll(s.body);
    assert.ok(text.startsWith('data: 0\n\n'), 'what was queued is still readable by a reader that is there');
  });

  it('answers as an event stream, keeps headers set on the context, and ends when the work ends', async () => {
    const app = new Hono();
    app.get('/', (c) => {
      c.header('X-Request-Id', 'r1');
      return sseResponse(c, async (s) => {
        await s.writeSSE({ event: 'start', data: '{}' });
        await new Promise((r) => setTimeout(r, 5));
        await s.writeSSE({ event: 'done', data: '{}' });
      });
    });
    const res = await app.request('/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-transform');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    assert.equal(res.headers.get('x-request-id'), 'r1');
    assert.equal(await res.text(), 'event: start\ndata: {}\n\nevent: done\ndata: {}\n\n');
  });

  it('ends the response and reports it when the work throws', async () => {
    const app = new Hono();
    const errors: unknown[] = [];
    app.get('/', (c) =>
      sseResponse(
        c,
        async (s) => {
          await s.writeSSE({ event: 'start', data: '{}' });
          throw new Error('boom');
        },
        (err) => errors.push(err),
      ),
    );
    const res = await app.request('/');
    assert.equal(await res.text(), 'event: start\ndata: {}\n\n');
    assert.equal((errors[0] as Error).message, 'boom');
  });
});
