import { expect } from '@open-wc/testing';
import { ChatClient, ChatError, parseRetryAfter } from '../../src/client/chat-client.ts';
import type { DoneEvent, StartEvent } from '../../src/protocol.ts';

const encoder = new TextEncoder();

function sse(events: Array<[string, unknown]>): string {
  return events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join('');
}

/** A real streamed body: the bytes cut at the given offsets, one chunk per pull. `open` leaves it unfinished. */
function streamOf(bytes: Uint8Array, cuts: number[] = [], open = false): ReadableStream<Uint8Array> {
  const bounds = [0, ...cuts, bytes.length];
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < bounds.length - 1) {
        controller.enqueue(bytes.slice(bounds[i], bounds[i + 1]));
        i++;
      } else if (!open) {
        controller.close();
      }
      // open: never close, like a server still thinking
    },
  });
}

interface Call {
  url: string;
  init: RequestInit;
}

function stubFetch(respond: (call: Call) => Response | Promise<Response>): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetchStub = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const call = { url: String(input), init };
    calls.push(call);
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    return respond(call);
  }) as typeof fetch;
  return { fetch: fetchStub, calls };
}

const sseHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_1' };
const start: StartEvent = { conversation_id: 'c1', message_id: 'm1' };
const done: DoneEvent = { message_id: 'm2', tokens_used: 12, response_time_ms: 340, finish_reason: 'stop' };
const body = { session_id: 'session_12345678', visitor_id: 'visitor_12345678', message: 'Bonjour' };

async function rejection(p: Promise<unknown>): Promise<ChatError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ChatError);
    return err as ChatError;
  }
  throw new Error('expected a rejection');
}

function record() {
  const log: string[] = [];
  return {
    log,
    handlers: {
      onStart: (e: StartEvent) => log.push(`start:${e.message_id}`),
      onDelta: (t: string) => log.push(`delta:${t}`),
      onDone: (e: DoneEvent) => log.push(`done:${e.message_id}`),
    },
  };
}

describe('ChatClient', () => {
  describe('chat', () => {
    it('streams start, deltas and done in order and resolves with done', async () => {
      const stream = sse([['start', start], ['delta', { text: 'Bon' }], ['delta', { text: 'jour' }], ['done', done]]);
      const { fetch, calls } = stubFetch(() => new Response(stream, { headers: sseHeaders }));
      const client = new ChatClient({ endpoint: 'https://proxy.example/base//', apiKey: 'mac_key', fetch });
      const { log, handlers } = record();

      const result = await client.chat(body, handlers);

      expect(result).to.deep.equal(done);
      expect(log).to.deep.equal(['start:m1', 'delta:Bon', 'delta:jour', 'done:m2']);
      expect(calls[0]?.url).to.equal('https://proxy.example/base/v1/chat');
      expect(calls[0]?.init.method).to.equal('POST');
      const headers = calls[0]?.init.headers as Record<string, string>;
      expect(headers['X-Api-Key']).to.equal('mac_key');
      expect(headers['Content-Type']).to.equal('application/json');
      expect(JSON.parse(String(calls[0]?.init.body))).to.deep.equal(body);
    });

    it('delivers the same text wherever the network splits the stream, even inside a UTF-8 character', async () => {
      const text = sse([['start', start], ['delta', { text: 'Ça marche 👍 — é' }], ['delta', { text: '\nfin' }], ['done', done]]);
      const bytes = encoder.encode(`: keep-alive\n\n${text}`);
      for (let cut = 1; cut < bytes.length; cut++) {
        const { fetch } = stubFetch(() => new Response(streamOf(bytes, [cut]), { headers: sseHeaders }));
        const { log, handlers } = record();
        await new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, handlers);
        expect(log, `cut at ${cut}`).to.deep.equal(['start:m1', 'delta:Ça marche 👍 — é', 'delta:\nfin', 'done:m2']);
      }
      const everyByte = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
      const { fetch } = stubFetch(() => new Response(streamOf(bytes, everyByte), { headers: sseHeaders }));
      const { log, handlers } = record();
      await new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, handlers);
      expect(log.join('')).to.equal('start:m1delta:Ça marche 👍 — édelta:\nfindone:m2');
    });

    it('accepts CRLF framing and ignores unknown events and fields', async () => {
      const raw = `event: start\r\ndata: ${JSON.stringify(start)}\r\n\r\nevent: future\r\ndata: {}\r\n\r\nfoo: bar\r\nevent: delta\r\ndata: {"text":"x"}\r\n\r\nevent: done\r\ndata: ${JSON.stringify(done)}\r\n\r\n`;
      const { fetch } = stubFetch(() => new Response(raw, { headers: sseHeaders }));
      const { log, handlers } = record();
      await new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, handlers);
      expect(log).to.deep.equal(['start:m1', 'delta:x', 'done:m2']);
    });

    it('rejects with the code, Retry-After and request id of an error answered before the stream', async () => {
      const { fetch } = stubFetch(
        () =>
          new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'Too many messages', request_id: 'req_9' } }), {
            status: 429,
            headers: { 'content-type': 'application/json', 'retry-after': '7' },
          }),
      );
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('rate_limited');
      expect(err.status).to.equal(429);
      expect(err.retryAfter).to.equal(7);
      expect(err.requestId).to.equal('req_9');
      expect(err.message).to.equal('Too many messages');
    });

    it('prefers retry_after from the body and reads the request id header when the body has none', async () => {
      const { fetch } = stubFetch(
        () =>
          new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'slow down', retry_after: 30 } }), {
            status: 429,
            headers: { 'retry-after': '7', 'x-request-id': 'req_h' },
          }),
      );
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.retryAfter).to.equal(30);
      expect(err.requestId).to.equal('req_h');
    });

    it('never surfaces the raw body of a non-JSON error page', async () => {
      const page = '<html><body><h1>502 Bad Gateway</h1><script>secret()</script></body></html>';
      const { fetch } = stubFetch(() => new Response(page, { status: 502, headers: { 'content-type': 'text/html' } }));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('upstream_error');
      expect(err.status).to.equal(502);
      expect(err.message).to.not.contain('<');
      expect(err.message).to.not.contain('secret');
    });

    it('rejects with the code of an error event after the deltas already shown', async () => {
      const stream = sse([
        ['start', start],
        ['delta', { text: 'Partial' }],
        ['error', { code: 'upstream_timeout', message: 'Mistral took too long', request_id: 'req_e' }],
      ]);
      const { fetch } = stubFetch(() => new Response(stream, { headers: sseHeaders }));
      const { log, handlers } = record();
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, handlers));
      expect(log).to.deep.equal(['start:m1', 'delta:Partial']);
      expect(err.code).to.equal('upstream_timeout');
      expect(err.message).to.equal('Mistral took too long');
      expect(err.requestId).to.equal('req_e');
      expect(err.status).to.equal(null);
    });

    it('carries the wait of a rate_limited error event (Mistral rate limiting mid-turn)', async () => {
      const stream = sse([
        ['start', start],
        ['error', { code: 'rate_limited', message: 'Too many requests', request_id: 'req_r', retry_after: 7 }],
      ]);
      const { fetch } = stubFetch(() => new Response(stream, { headers: sseHeaders }));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('rate_limited');
      expect(err.retryAfter).to.equal(7);
    });

    it('rejects as a network error when the stream closes without done', async () => {
      const stream = sse([['start', start], ['delta', { text: 'cut' }]]);
      const { fetch } = stubFetch(() => new Response(stream, { headers: sseHeaders }));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('network');
      expect(err.requestId).to.equal('req_1');
    });

    it('does not count a done event the stream cut in half', async () => {
      const stream = sse([['start', start], ['done', done]]).slice(0, -3);
      const { fetch } = stubFetch(() => new Response(stream, { headers: sseHeaders }));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('network');
    });

    /** A body that records how it ended: read to its end (`closed`) or cancelled by the reader. */
    function watchedBody(text: string, open = false) {
      const seen = { closed: false, cancelled: false };
      let sent = false;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent) return void ((sent = true), controller.enqueue(encoder.encode(text)));
          if (open) return new Promise<void>(() => {}); // a server that never hangs up
          seen.closed = true;
          controller.close();
        },
        cancel() {
          seen.cancelled = true;
        },
      }, { highWaterMark: 0 }); // pulled only when read, as bytes from a socket arrive
      return { stream, seen };
    }
    const settled = (check: () => boolean) =>
      new Promise<void>((resolve) => {
        const poll = () => (check() ? resolve() : setTimeout(poll, 5));
        poll();
      });

    it('reads a finished reply to the end of its stream, so the browser does not show it as cancelled', async () => {
      // The proxy closes the stream right after `done`; cancelling before reading that end is what Chromium
      // shows as net::ERR_ABORTED for a reply that arrived in full.
      const { stream, seen } = watchedBody(sse([['start', start], ['delta', { text: 'Hi' }], ['done', done]]));
      const { fetch } = stubFetch(() => new Response(stream, { headers: sseHeaders }));
      const result = await new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {});
      expect(result).to.deep.equal(done);
      await settled(() => seen.closed || seen.cancelled);
      expect(seen).to.deep.equal({ closed: true, cancelled: false });
    });

    it('reads an error event\'s stream to its end too', async () => {
      const { stream, seen } = watchedBody(sse([['start', start], ['error', { code: 'upstream_error', message: 'no' }]]));
      const { fetch } = stubFetch(() => new Response(stream, { headers: sseHeaders }));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('upstream_error');
      await settled(() => seen.closed || seen.cancelled);
      expect(seen).to.deep.equal({ closed: true, cancelled: false });
    });

    it('resolves at done at once, and lets go of a stream the server keeps open after it', async () => {
      const { stream, seen } = watchedBody(sse([['start', start], ['done', done]]), true);
      const { fetch } = stubFetch(() => new Response(stream, { headers: sseHeaders }));
      const result = await new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch, drainMs: 50 }).chat(body, {});
      expect(result).to.deep.equal(done);
      expect(seen.cancelled).to.equal(false);
      await settled(() => seen.cancelled);
      expect(seen.closed).to.equal(false);
    });

    it('stops reading and rejects as aborted when the visitor presses Stop mid-stream', async () => {
      const bytes = encoder.encode(sse([['start', start], ['delta', { text: 'Hel' }]]));
      const { fetch } = stubFetch(() => new Response(streamOf(bytes, [], true), { headers: sseHeaders }));
      const controller = new AbortController();
      const deltas: string[] = [];
      const pending = new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(
        body,
        { onDelta: (t) => (deltas.push(t), controller.abort()) },
        controller.signal,
      );
      const err = await rejection(pending);
      expect(err.code).to.equal('aborted');
      expect(deltas).to.deep.equal(['Hel']);
    });

    it('rejects as aborted without calling the server when the signal is already aborted', async () => {
      const { fetch, calls } = stubFetch(() => new Response('{}'));
      const err = await rejection(
        new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}, AbortSignal.abort()),
      );
      expect(err.code).to.equal('aborted');
      expect(calls.length).to.equal(0);
    });

    it('rejects as a network error when the server cannot be reached', async () => {
      const { fetch } = stubFetch(() => Promise.reject(new TypeError('Failed to fetch')));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('network');
      expect(err.status).to.equal(null);
    });

    it('rejects a 200 that is not an event stream as a bad response', async () => {
      const { fetch } = stubFetch(() => new Response('<html>captive portal</html>', { headers: { 'content-type': 'text/html' } }));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('bad_response');
      expect(err.message).to.not.contain('captive');
    });

    it('rejects an event whose payload is not what the protocol says as a bad response', async () => {
      const raw = `event: start\ndata: not json\n\n`;
      const { fetch } = stubFetch(() => new Response(raw, { headers: sseHeaders }));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).chat(body, {}));
      expect(err.code).to.equal('bad_response');
    });
  });

  describe('agent and history', () => {
    it('reads the agent display info with the key header', async () => {
      const { fetch, calls } = stubFetch(() => Response.json({ name: 'Ada', role: 'Support' }));
      const info = await new ChatClient({ endpoint: 'https://p.example/', apiKey: 'mac_k', fetch }).agent();
      expect(info).to.deep.equal({ name: 'Ada', role: 'Support' });
      expect(calls[0]?.url).to.equal('https://p.example/v1/agent');
      expect(calls[0]?.init.method).to.equal('GET');
      expect((calls[0]?.init.headers as Record<string, string>)['X-Api-Key']).to.equal('mac_k');
    });

    it('reads the history of a session with an encoded id and a limit', async () => {
      const messages = [
        { id: '1', role: 'user', content: 'Hi', created_at: '2025-01-01T00:00:00Z' },
        { id: '2', role: 'assistant', content: 'Hello', created_at: '2025-01-01T00:00:01Z' },
      ];
      const { fetch, calls } = stubFetch(() => Response.json({ messages }));
      const got = await new ChatClient({ endpoint: 'https://p.example', apiKey: 'k', fetch }).session('a/b c', 50);
      expect(got.messages).to.deep.equal(messages);
      expect(calls[0]?.url).to.equal('https://p.example/v1/sessions/a%2Fb%20c/messages?limit=50');
    });

    it('rejects history with an unexpected shape as a bad response', async () => {
      const { fetch } = stubFetch(() => Response.json({ messages: [{ id: 1 }] }));
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).session('session_1'));
      expect(err.code).to.equal('bad_response');
    });

    it('maps an invalid key to invalid_api_key with status 401', async () => {
      const { fetch } = stubFetch(() =>
        Response.json({ error: { code: 'invalid_api_key', message: 'Unknown key' } }, { status: 401 }),
      );
      const err = await rejection(new ChatClient({ endpoint: 'http://x', apiKey: 'k', fetch }).agent());
      expect(err.code).to.equal('invalid_api_key');
      expect(err.status).to.equal(401);
      expect(err.retryAfter).to.equal(null);
    });
  });

  describe('wave 2 calls', () => {
    const client = (f: typeof globalThis.fetch, userToken = 'tok.en.sig') => new ChatClient({ endpoint: 'https://p.example', apiKey: 'k', fetch: f, userToken: () => userToken });
    const headers = (c: Call | undefined) => c?.init.headers as Record<string, string>;

    it('reads pending, stopped and feedback from the history, keeping only well-formed marks', async () => {
      const { fetch, calls } = stubFetch(() =>
        Response.json({
          pending: true,
          messages: [
            { id: '1', role: 'user', content: 'Hi', created_at: 't' },
            { id: '2', role: 'assistant', content: 'Hel', created_at: 't', stopped: true, feedback: 'up' },
            { id: '3', role: 'assistant', content: 'x', created_at: 't', stopped: 'yes', feedback: 'meh' },
          ],
        }),
      );
      const got = await client(fetch).session('session_1', 200);
      expect(got.pending).to.equal(true);
      expect(got.messages.map((m) => [m.stopped, m.feedback])).to.deep.equal([
        [undefined, undefined],
        [true, 'up'],
        [undefined, undefined],
      ]);
      expect(headers(calls[0])['X-User-Token']).to.equal('tok.en.sig');
    });

    it('lists conversations, posts Stop and feedback with the token, and sends no token header when it is empty', async () => {
      const { fetch, calls } = stubFetch((c) =>
        c.url.endsWith('/v1/conversations')
          ? Response.json({ conversations: [{ session_id: 's1', title: 'Hi', updated_at: 't' }, { session_id: 2 }] })
          : new Response(null, { status: 204 }),
      );
      expect(await client(fetch).conversations()).to.deep.equal([{ session_id: 's1', title: 'Hi', updated_at: 't' }]);
      await client(fetch).stop('a/b');
      await client(fetch, '').feedback('m/1', { session_id: 's1', rating: null });
      expect(calls.map((c) => `${c.init.method} ${c.url}`)).to.deep.equal([
        'GET https://p.example/v1/conversations',
        'POST https://p.example/v1/sessions/a%2Fb/stop',
        'POST https://p.example/v1/messages/m%2F1/feedback',
      ]);
      expect(JSON.parse(String(calls[2]!.init.body))).to.deep.equal({ session_id: 's1', rating: null });
      expect(headers(calls[1])['X-User-Token']).to.equal('tok.en.sig');
      expect('X-User-Token' in headers(calls[2])).to.equal(false);
    });

    it('maps the identity refusals and reply_in_progress to their codes', async () => {
      for (const [code, status] of [['invalid_user_token', 401], ['identity_required', 401], ['reply_in_progress', 409]] as const) {
        const { fetch } = stubFetch(() => Response.json({ error: { code, message: 'no' } }, { status }));
        const err = await rejection(client(fetch).conversations());
        expect([err.code, err.status]).to.deep.equal([code, status]);
      }
    });
  });

  describe('parseRetryAfter', () => {
    it('reads delta-seconds and HTTP dates', () => {
      const now = Date.parse('2025-01-01T00:00:00Z');
      expect(parseRetryAfter('120', now)).to.equal(120);
      expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).to.equal(30);
      expect(parseRetryAfter('garbage', now)).to.equal(null);
      expect(parseRetryAfter(null, now)).to.equal(null);
    });
  });
});
