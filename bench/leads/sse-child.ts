/**
 * Lead "SSE written without Hono's TransformStream pair": a Hono app on @hono/node-server (as the proxy runs)
 * that streams one reply per request the way the relay does (a `start` event, 40 `delta` events 20 ms apart,
 * `done`), written four ways: `hono-sse` (streamSSE, the relay before src/server/http/sse.ts), `writer` (sse.ts), `readable` (a ReadableStream we enqueue
 * into, returned as the Response), `raw` (straight to Node's ServerResponse, bypassing web streams).
 * The parent drives it and reads this process's CPU per stream from /proc.
 */
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { sseResponse } from '../../src/server/http/sse.ts';
import { serveParent } from '../lib/child.ts';

const CHUNKS = 40;
const GAP_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const delta = (i: number) => JSON.stringify({ text: `chunk ${String(i).padStart(2, '0')}` });
const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' };

const app = new Hono<{ Bindings: { outgoing: ServerResponse } }>();
app.post('/hono-sse', (c) =>
  streamSSE(c, async (s) => {
    await s.writeSSE({ event: 'start', data: '{"conversation_id":"c","message_id":"m"}' });
    for (let i = 0; i < CHUNKS; i++) {
      await sleep(GAP_MS);
      await s.writeSSE({ event: 'delta', data: delta(i) });
    }
    await s.writeSSE({ event: 'done', data: '{"message_id":"a"}' });
  }),
);
// The proxy's own writer (src/server/http/sse.ts), as the relay uses it.
app.post('/writer', (c) =>
  sseResponse(c, async (s) => {
    await s.writeSSE({ event: 'start', data: '{"conversation_id":"c","message_id":"m"}' });
    for (let i = 0; i < CHUNKS; i++) {
      await sleep(GAP_MS);
      await s.writeSSE({ event: 'delta', data: delta(i) });
    }
    await s.writeSSE({ event: 'done', data: '{"message_id":"a"}' });
  }),
);
app.post('/readable', () => {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(ctrl) {
      ctrl.enqueue(enc.encode('event: start\ndata: {"conversation_id":"c","message_id":"m"}\n\n'));
      for (let i = 0; i < CHUNKS; i++) {
        await sleep(GAP_MS);
        ctrl.enqueue(enc.encode(`event: delta\ndata: ${delta(i)}\n\n`));
      }
      ctrl.enqueue(enc.encode('event: done\ndata: {"message_id":"a"}\n\n'));
      ctrl.close();
    },
  });
  return new Response(body, { headers: HEADERS });
});
app.post('/raw', async (c) => {
  const res = c.env.outgoing;
  res.writeHead(200, HEADERS);
  res.write('event: start\ndata: {"conversation_id":"c","message_id":"m"}\n\n');
  void (async () => {
    for (let i = 0; i < CHUNKS; i++) {
      await sleep(GAP_MS);
      res.write(`event: delta\ndata: ${delta(i)}\n\n`);
    }
    res.end('event: done\ndata: {"message_id":"a"}\n\n');
  })();
  return RESPONSE_ALREADY_SENT;
});

const server = createAdaptorServer({ fetch: app.fetch });
server.listen(0, '127.0.0.1', () => {
  serveParent(async (m) => {
    if (m.type === 'stop') {
      setImmediate(() => process.exit(0));
      return {};
    }
    throw new Error(`unknown request ${String(m.type)}`);
  });
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});
