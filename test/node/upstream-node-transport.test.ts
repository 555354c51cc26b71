/**
 * The Node server's Mistral client (src/server/node/upstream-transport.ts): the whole Mistral upstream suite
 * again over it (replies, errors, retries, time limits, aborts), then what is its own: reading ahead of a slow
 * consumer without losing or reordering text, cutting a running answer, reporting a dropped connection.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { nodeUpstreamTransport } from '../../src/server/node/upstream-transport.ts';

process.env.UPSTREAM_TEST_TRANSPORT = 'node';
await import('./upstream-mistral.test.ts');

describe('the Node upstream transport itself', () => {
  let server: Server;
  let base: string;
  let handle: (res: ServerResponse) => void = () => {};
  const closed: boolean[] = [];
  const transport = nodeUpstreamTransport();
  const req = () => ({ headers: { 'content-type': 'application/json' }, body: '{"x":"é"}', signal: new AbortController().signal });

  before(async () => {
    server = createServer((request, res) => {
      request.resume();
      res.on('close', () => closed.push(res.writableFinished));
      handle(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    transport.close();
    server.closeAllConnections();
    server.close();
  });

  it('gives every chunk in order to a consumer slower than the socket', async () => {
    const parts = Array.from({ length: 200 }, (_, i) => `part ${i};`);
    handle = (res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'X-Thing': 'yes' });
      for (const p of parts) res.write(p);
      res.end();
    };
    const res = await transport.post(`${base}/x`, req());
    assert.equal(res.status, 200);
    assert.equal(res.header('x-thing'), 'yes');
    assert.equal(res.header('X-Thing'), 'yes');
    assert.equal(res.header('missing'), null);
    let text = '';
    for (let c = await res.read(); c !== null; c = await res.read()) {
      text += c;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(text, parts.join(''));
    assert.equal(await res.read(), null, 'stays at its end');
    res.cancel(); // after the end: nothing to cut
  });

  it('cuts an answer still running when cancelled, and a pending read ends', async () => {
    closed.length = 0;
    handle = (res) => {
      res.writeHead(200);
      res.write('first');
    };
    const res = await transport.post(`${base}/x`, req());
    assert.equal(await res.read(), 'first');
    const pending = res.read();
    res.cancel();
    await assert.rejects(pending);
    for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closed, [false], 'the server saw the connection close before its end');
  });

  it('rejects a read when the server drops the connection mid-answer', async () => {
    handle = (res) => {
      res.writeHead(200);
      res.write('some');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const res = await transport.post(`${base}/x`, req());
    assert.equal(await res.read(), 'some');
    await assert.rejects(res.read());
  });

  it('rejects the request when its signal aborts before the answer', async () => {
    handle = () => {}; // never answers
    const ac = new AbortController();
    const pending = transport.post(`${base}/x`, { ...req(), signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
  });

  it('refuses a URL that is not http or https', async () => {
    await assert.rejects(transport.post('ftp://127.0.0.1/x', req()), /unsupported protocol/);
  });
});
