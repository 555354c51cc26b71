/**
 * Widget protocol v1 over plain HTTP, against any running proxy (the Node server process, the Deno
 * Edge Function, …): only `fetch`, a base URL, an agent key and the Mistral stand-in the proxy talks to.
 * A third-party client would see exactly this.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { ConversationsResponse, ErrorBody, HistoryResponse, Source } from '../../src/protocol.ts';
import type { MistralStandIn } from '../helpers/mistral-stand-in.ts';
import { badTokens, userToken } from '../helpers/user-token.ts';

export interface ProtocolTarget {
  /** Base URL of the protocol, without a trailing slash (`http://127.0.0.1:PORT/mistral-agent-chat`). */
  baseUrl: string;
  /** An active agent's widget key. */
  apiKey: string;
  /** The key of an agent linked to a Mistral agent (`mistral_agent_id`): its turns use the Conversations API. */
  groundedApiKey?: string;
  /** The identity secret of the `apiKey` agent (visitor tokens are signed with it). */
  identitySecret: string;
  /** Another agent's identity secret: a token signed with it is not valid for the `apiKey` agent. */
  otherIdentitySecret: string;
  /** The Mistral stand-in this proxy calls (started with UPSTREAM_RETRIES=0). */
  standIn: MistralStandIn;
  close(): Promise<void>;
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads a whole SSE body into events (data parsed as JSON). */
export async function readSse(res: Response): Promise<SseEvent[]> {
  assert.ok(res.body, 'an SSE answer has a body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  const events: SseEvent[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    events.push({ event: value.event ?? 'message', data: JSON.parse(value.data) as Record<string, unknown> });
  }
}

const sessionId = () => `sess_${randomUUID().replaceAll('-', '')}`;
const ORIGIN = 'https://shop.example';

export function protocolSuite(name: string, start: () => Promise<ProtocolTarget>, opts: { skip?: string | false } = {}): void {
  describe(name, { skip: opts.skip ?? false }, () => {
    let t: ProtocolTarget;
    before(async () => {
      t = await start();
    });
    after(async () => {
      await t?.close();
    });

    const get = (path: string, key: string | null = t.apiKey) =>
      fetch(`${t.baseUrl}${path}`, { headers: key === null ? {} : { 'X-Api-Key': key } });
    const chat = (body: unknown, key: string | null = t.apiKey, signal?: AbortSignal) =>
      fetch(`${t.baseUrl}/v1/chat`, {
        method: 'POST',
        ...(signal ? { signal } : {}),
        headers: { 'Content-Type': 'application/json', Origin: ORIGIN, ...(key === null ? {} : { 'X-Api-Key': key }) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const expectError = async (res: Response, status: number, code: string) => {
      assert.equal(res.status, status);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(res.headers.get('x-request-id'), 'every answer carries X-Request-Id');
      const body = (await res.json()) as ErrorBody;
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      return body;
    };
    const historyOf = async (sid: string) => {
      const res = await get(`/v1/sessions/${sid}/messages?limit=50`);
      assert.equal(res.status, 200);
      return ((await res.json()) as HistoryResponse).messages;
    };

    it('answers the health check when the database is up', async () => {
      const res = await get('/healthz', null);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ok: true });
    });

    it('shows the agent’s name and role, and nothing else', async () => {
      const res = await get('/v1/agent');
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['name', 'role']);
      assert.equal(typeof body.name, 'string');
    });

    it('streams a reply start → deltas → done and keeps both messages in the session history', async () => {
      const sid = sessionId();
      t.standIn.script({ type: 'reply', text: 'Bonjour ! How can I help you today?', chunkSize: 6 });
      const res = await chat({ session_id: sid, visitor_id: 'visitor_123456', message: 'Hello from the protocol suite', metadata: { page: '/pricing' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.match(res.headers.get('cache-control') ?? '', /no-cache/);
      assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
      const events = await readSse(res);
      const names = events.map((e) => e.event);
      assert.equal(names[0], 'start');
      assert.equal(names.at(-1), 'done');
      assert.ok(names.slice(1, -1).length >= 2 && names.slice(1, -1).every((n) => n === 'delta'), `got ${names.join(',')}`);
      const text = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
      assert.equal(text, 'Bonjour ! How can I help you today?');
      const startData = events[0]!.data;
      const done = events.at(-1)!.data;
      assert.equal(done.finish_reason, 'stop');
      assert.equal(typeof done.tokens_used, 'number');
      assert.equal(typeof done.response_time_ms, 'number');

      const history = await historyOf(sid);
      assert.deepEqual(
        history.map((m) => [m.id, m.role, m.content]),
        [
          [startData.message_id, 'user', 'Hello from the protocol suite'],
          [done.message_id, 'assistant', 'Bonjour ! How can I help you today?'],
        ],
      );
      assert.ok(!Number.isNaN(Date.parse(history[0]!.created_at)), 'created_at is a timestamp');
    });

    it('sends the earlier turns of the session to Mistral with the new message', async () => {
      const sid = sessionId();
      t.standIn.script([{ type: 'reply', text: 'First answer' }, { type: 'reply', text: 'Second answer' }]);
      await readSse(await chat({ session_id: sid, message: 'First question' }));
      const seen = t.standIn.requests.length;
      await readSse(await chat({ session_id: sid, message: 'Second question' }));
      const body = t.standIn.requests[seen]!.body as { messages: { role: string; content: string }[] };
      assert.deepEqual(
        body.messages.filter((m) => m.role !== 'system').map((m) => [m.role, m.content]),
        [
          ['user', 'First question'],
          ['assistant', 'First answer'],
          ['user', 'Second question'],
        ],
      );
    });

    it('keeps the user message and ends with an error event when Mistral answers 500', async () => {
      const sid = sessionId();
      t.standIn.script({ type: 'error', status: 500 });
      const res = await chat({ session_id: sid, message: 'Are you there?' });
      assert.equal(res.status, 200, 'the stream had started: the failure travels as an SSE event');
      const events = await readSse(res);
      assert.deepEqual(
        events.map((e) => e.event),
        ['start', 'error'],
      );
      assert.equal(events[1]!.data.code, 'upstream_error');
      assert.equal(typeof events[1]!.data.message, 'string');
      const history = await historyOf(sid);
      assert.deepEqual(
        history.map((m) => [m.id, m.role, m.content]),
        [[events[0]!.data.message_id, 'user', 'Are you there?']],
      );
    });

    it('finishes and stores the whole reply when the visitor closes the connection mid-reply', async () => {
      const sid = sessionId();
      const full = 'One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten.';
      t.standIn.script({ type: 'reply', text: full, chunkSize: 5, chunkDelayMs: 40 });
      const controller = new AbortController();
      const res = await chat({ session_id: sid, message: 'Count slowly' }, t.apiKey, controller.signal);
      assert.equal(res.status, 200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let received = '';
      while (!received.includes('event: delta')) received += (await reader.read()).value ?? '';
      controller.abort();
      await reader.cancel().catch(() => {});
      // The proxy goes on reading Mistral and stores the reply when it ends: poll the history meanwhile.
      const res1 = await get(`/v1/sessions/${sid}/messages`);
      const first = (await res1.json()) as HistoryResponse;
      assert.equal(first.messages.at(-1)?.role, 'user');
      assert.equal(first.pending, true, 'the history says the answer is coming');
      let history = await historyOf(sid);
      for (let i = 0; i < 200 && history.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
        history = await historyOf(sid);
      }
      assert.deepEqual(history.map((m) => [m.role, m.content]), [['user', 'Count slowly'], ['assistant', full]]);
      assert.equal(await t.standIn.requests.at(-1)!.outcome, 'finished', 'the call to Mistral ran to its end');
    });

    it('answers 409 reply_in_progress while a reply streams, and Stop ends it with exactly the text relayed', async () => {
      const sid = sessionId();
      const full = 'Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu.';
      t.standIn.script({ type: 'reply', text: full, chunkSize: 4, chunkDelayMs: 120 });
      const res = await chat({ session_id: sid, message: 'Greek letters please' });
      assert.equal(res.status, 200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
      const events: SseEvent[] = [];
      while (!events.some((e) => e.event === 'delta')) {
        const { value } = await reader.read();
        events.push({ event: value!.event ?? 'message', data: JSON.parse(value!.data) as Record<string, unknown> });
      }
      await expectError(await chat({ session_id: sid, message: 'And another thing' }), 409, 'reply_in_progress');
      const t0 = performance.now();
      const stop = await fetch(`${t.baseUrl}/v1/sessions/${sid}/stop`, { method: 'POST', headers: { 'X-Api-Key': t.apiKey } });
      assert.equal(stop.status, 204);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        events.push({ event: value.event ?? 'message', data: JSON.parse(value.data) as Record<string, unknown> });
      }
      const elapsed = performance.now() - t0;
      assert.ok(elapsed < 1_000, `the reply ended ${Math.round(elapsed)} ms after Stop`);
      const done = events.at(-1)!;
      assert.equal(done.event, 'done');
      assert.equal(done.data.finish_reason, 'aborted');
      assert.equal(done.data.stopped, true);
      const shown = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
      assert.ok(shown.length > 0 && shown.length < full.length, shown);
      const res2 = await get(`/v1/sessions/${sid}/messages`);
      const after = (await res2.json()) as HistoryResponse;
      assert.equal(after.pending, false);
      assert.deepEqual(after.messages.map((m) => [m.role, m.content, m.stopped]), [
        ['user', 'Greek letters please', undefined],
        ['assistant', shown, true],
      ]);
      assert.equal(after.messages[1]!.id, done.data.message_id);
      const again = await fetch(`${t.baseUrl}/v1/sessions/${sid}/stop`, { method: 'POST', headers: { 'X-Api-Key': t.apiKey } });
      assert.equal(again.status, 204, 'Stop with nothing streaming is fine');
    });

    describe('visitor identity (X-User-Token)', () => {
      const withToken = (token: string | null): Record<string, string> => (token === null ? {} : { 'X-User-Token': token });
      const chatAs = (token: string | null, body: unknown) =>
        fetch(`${t.baseUrl}/v1/chat`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Origin: ORIGIN, 'X-Api-Key': t.apiKey, ...withToken(token) },
          body: JSON.stringify(body),
        });
      const getAs = (token: string | null, path: string) => fetch(`${t.baseUrl}${path}`, { headers: { 'X-Api-Key': t.apiKey, ...withToken(token) } });

      it('follows a signed-in user from one device to another, and keeps everyone else out', async () => {
        const user = `user_${randomUUID()}`;
        const token = userToken(t.identitySecret, user, { name: 'Ada' });
        // Device A: its own visitor id and session id (storage is per device).
        const sidA = sessionId();
        t.standIn.script({ type: 'reply', text: 'Your order ships tomorrow.' });
        const question = '  Where is my order #1234? '.repeat(5);
        const first = await chatAs(token, { session_id: sidA, visitor_id: 'visitor_device_a', message: question });
        assert.equal(first.status, 200);
        await readSse(first);

        // Device B: nothing shared but the token the site's backend signs.
        const list = await getAs(token, '/v1/conversations');
        assert.equal(list.status, 200);
        const { conversations } = (await list.json()) as ConversationsResponse;
        assert.equal(conversations.length, 1);
        assert.equal(conversations[0]!.session_id, sidA);
        assert.equal(conversations[0]!.title, question.trim().slice(0, 80).trim(), 'the first question, trimmed to 80 characters');
        assert.ok(!Number.isNaN(Date.parse(conversations[0]!.updated_at)));
        const history = await getAs(token, `/v1/sessions/${sidA}/messages`);
        assert.equal(history.status, 200);
        assert.deepEqual(((await history.json()) as HistoryResponse).messages.map((m) => m.role), ['user', 'assistant']);
        t.standIn.script({ type: 'reply', text: 'Yes, tomorrow.' });
        const fromB = await chatAs(token, { session_id: sidA, visitor_id: 'visitor_device_b', message: 'Tomorrow, really?' });
        assert.equal(fromB.status, 200);
        const doneB = (await readSse(fromB)).at(-1)!;
        assert.equal(doneB.event, 'done');
        const rate = (token: string | null) =>
          fetch(`${t.baseUrl}/v1/messages/${String(doneB.data.message_id)}/feedback`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Api-Key': t.apiKey, ...withToken(token) },
            body: JSON.stringify({ session_id: sidA, rating: 'up' }),
          });
        await expectError(await rate(null), 404, 'not_found');
        assert.equal((await rate(token)).status, 204, 'the user rates a reply of their conversation');

        // Anyone else: an anonymous visitor who learnt the session id, or another user.
        await expectError(await getAs(null, `/v1/sessions/${sidA}/messages`), 404, 'not_found');
        await expectError(await chatAs(null, { session_id: sidA, message: 'let me in' }), 404, 'not_found');
        const other = userToken(t.identitySecret, `other_${randomUUID()}`);
        await expectError(await getAs(other, `/v1/sessions/${sidA}/messages`), 404, 'not_found');
        await expectError(await chatAs(other, { session_id: sidA, message: 'let me in' }), 404, 'not_found');
        await expectError(await fetch(`${t.baseUrl}/v1/sessions/${sidA}/stop`, { method: 'POST', headers: { 'X-Api-Key': t.apiKey } }), 404, 'not_found');
        assert.deepEqual(((await (await getAs(other, '/v1/conversations')).json()) as ConversationsResponse).conversations, []);
        const after = (await (await getAs(token, `/v1/sessions/${sidA}/messages`)).json()) as HistoryResponse;
        assert.deepEqual(after.messages.map((m) => m.content).slice(2), ['Tomorrow, really?', 'Yes, tomorrow.'], 'nothing was written by the others');
      });

      it('binds an anonymous conversation to the user on their first signed turn', async () => {
        const sid = sessionId();
        await readSse(await chatAs(null, { session_id: sid, message: 'Hello before signing in' }));
        const token = userToken(t.identitySecret, `user_${randomUUID()}`);
        await readSse(await chatAs(token, { session_id: sid, message: 'Now signed in' }));
        const { conversations } = (await (await getAs(token, '/v1/conversations')).json()) as ConversationsResponse;
        assert.deepEqual(conversations.map((c) => [c.session_id, c.title]), [[sid, 'Hello before signing in']]);
        await expectError(await getAs(null, `/v1/sessions/${sid}/messages`), 404, 'not_found');
      });

      it('needs a token for the list of conversations', async () => {
        await expectError(await getAs(null, '/v1/conversations'), 401, 'identity_required');
      });

      it('refuses every bad token with 401 invalid_user_token, storing nothing', async () => {
        const sid = sessionId();
        const requests = t.standIn.requests.length;
        for (const [what, token] of Object.entries(badTokens(t.identitySecret, t.otherIdentitySecret))) {
          const body = await expectError(await chatAs(token, { session_id: sid, message: `with ${what}` }), 401, 'invalid_user_token');
          assert.match(body.error.message, /X-User-Token/, what);
          await expectError(await getAs(token, '/v1/conversations'), 401, 'invalid_user_token');
        }
        assert.equal(t.standIn.requests.length, requests, 'Mistral was never called');
        assert.deepEqual(await historyOf(sid), []);
      });

      it('allows X-User-Token in a CORS preflight', async () => {
        const res = await fetch(`${t.baseUrl}/v1/conversations`, {
          method: 'OPTIONS',
          headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-api-key,x-user-token' },
        });
        assert.match((res.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /x-user-token/);
      });
    });

    describe('feedback', () => {
      const feedback = (messageId: string, body: unknown) =>
        fetch(`${t.baseUrl}/v1/messages/${messageId}/feedback`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Api-Key': t.apiKey },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
      const turn = async (sid: string) => {
        const events = await readSse(await chat({ session_id: sid, message: 'Rate me' }));
        return { user: String(events[0]!.data.message_id), reply: String(events.at(-1)!.data.message_id) };
      };

      it('keeps the last rating of a reply, clears it with null, and shows it in the history', async () => {
        const sid = sessionId();
        const { reply } = await turn(sid);
        assert.equal((await feedback(reply, { session_id: sid, rating: 'up' })).status, 204);
        assert.equal((await historyOf(sid))[1]!.feedback, 'up');
        assert.equal((await feedback(reply, { session_id: sid, rating: 'down', comment: 'Too vague.' })).status, 204);
        assert.equal((await historyOf(sid))[1]!.feedback, 'down');
        assert.equal((await feedback(reply, { session_id: sid, rating: null })).status, 204);
        assert.equal((await historyOf(sid))[1]!.feedback, undefined);
      });

      it('answers 400 naming the field for a bad rating, an unknown field or a long comment', async () => {
        const sid = sessionId();
        const { reply } = await turn(sid);
        const cases: [unknown, string][] = [
          [{ session_id: sid, rating: 'meh' }, 'rating'],
          [{ session_id: sid }, 'rating'],
          [{ session_id: sid, rating: 'up', stars: 5 }, 'stars'],
          [{ session_id: sid, rating: 'up', comment: 'x'.repeat(1001) }, 'comment'],
          [{ session_id: 'bad id', rating: 'up' }, 'session_id'],
        ];
        for (const [body, field] of cases) {
          const error = await expectError(await feedback(reply, body), 400, 'invalid_request');
          assert.equal(error.error.field, field, JSON.stringify(body));
          assert.match(error.error.message, new RegExp(field));
        }
        await expectError(await feedback(reply, 'not json'), 400, 'invalid_request');
        await expectError(await feedback(reply, JSON.stringify({ session_id: sid, rating: 'up', comment: 'x'.repeat(20_000) })), 413, 'payload_too_large');
        assert.equal((await historyOf(sid))[1]!.feedback, undefined);
      });

      it('answers 404 for a user message, a reply of another session or an unknown id', async () => {
        const sid = sessionId();
        const { user, reply } = await turn(sid);
        await expectError(await feedback(user, { session_id: sid, rating: 'up' }), 404, 'not_found');
        await expectError(await feedback(reply, { session_id: sessionId(), rating: 'up' }), 404, 'not_found');
        await expectError(await feedback(randomUUID(), { session_id: sid, rating: 'up' }), 404, 'not_found');
        await expectError(await feedback('not-a-uuid', { session_id: sid, rating: 'up' }), 404, 'not_found');
      });
    });

    describe('with an agent linked to a Mistral agent (grounded answers)', () => {
      const grounded = (body: unknown) => chat(body, t.groundedApiKey!);
      const historyOfGrounded = async (sid: string) => {
        const res = await get(`/v1/sessions/${sid}/messages?limit=50`, t.groundedApiKey!);
        assert.equal(res.status, 200);
        return ((await res.json()) as HistoryResponse).messages;
      };

      it('streams tool activity, text and sources before done, and the history returns the sources', async (c) => {
        if (!t.groundedApiKey) return c.skip('no grounded agent on this target');
        const sid = sessionId();
        t.standIn.scriptConversation({
          type: 'reply',
          steps: [
            { type: 'started' },
            { type: 'tool', name: 'document_library', state: 'started' },
            { type: 'tool', name: 'document_library', state: 'done', info: {} },
            { type: 'text', text: 'Employees can claim up to €500 per year' },
            { type: 'reference', title: 'Remote-Work-Policy-2026.pdf', url: null },
            { type: 'text', text: ', see the pricing page.' },
            { type: 'reference', tool: 'web_search', title: '<b>Pricing</b>', url: 'https://shop.example/pricing', description: 'Plans', extra: { source: 'brave' } },
            { type: 'reference', title: 'Pricing again', url: 'https://shop.example/pricing' },
            { type: 'reference', title: 'Script link', url: 'javascript:alert(1)' },
            { type: 'raw', event: 'some.future.event', data: { type: 'some.future.event' } },
            { type: 'done', usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 129, connector_tokens: 100 } },
          ],
        });
        const res = await grounded({ session_id: sid, message: 'How much can I claim?' });
        assert.equal(res.status, 200);
        const events = await readSse(res);
        const names = events.map((e) => e.event);
        assert.equal(names[0], 'start');
        assert.equal(names.at(-1), 'done');
        assert.deepEqual(events.filter((e) => e.event === 'activity').map((e) => e.data), [
          { tool: 'document_library', state: 'started' },
          { tool: 'document_library', state: 'done' },
        ]);
        const expected: Source[] = [
          { id: '1', title: 'Remote-Work-Policy-2026.pdf' },
          { id: '2', title: '<b>Pricing</b>', url: 'https://shop.example/pricing', snippet: 'Plans' },
          { id: '3', title: 'Script link' },
        ];
        assert.deepEqual(events.filter((e) => e.event === 'sources').flatMap((e) => e.data.sources as Source[]), expected);
        assert.equal(events.filter((e) => e.event === 'delta').map((e) => e.data.text).join(''), 'Employees can claim up to €500 per year, see the pricing page.');
        assert.equal(events.at(-1)!.data.tokens_used, 9);
        const history = await historyOfGrounded(sid);
        assert.deepEqual(history.map((m) => [m.role, m.sources]), [
          ['user', undefined],
          ['assistant', expected],
        ]);
        assert.equal(history[1]!.id, events.at(-1)!.data.message_id);
      });

      it('sends Mistral the agent id and the conversation as message.input entries with store false, never the row’s settings', async (c) => {
        if (!t.groundedApiKey) return c.skip('no grounded agent on this target');
        const sid = sessionId();
        t.standIn.scriptConversation([{ type: 'reply' }, { type: 'reply' }]);
        await readSse(await grounded({ session_id: sid, message: 'First question' }));
        await readSse(await grounded({ session_id: sid, message: 'Second question' }));
        const sent = t.standIn.requests.at(-1)!;
        assert.equal(sent.path, '/v1/conversations');
        const body = sent.body as Record<string, unknown>;
        assert.deepEqual(Object.keys(body).sort(), ['agent_id', 'inputs', 'store', 'stream']);
        assert.equal(body.store, false);
        assert.equal(body.stream, true);
        assert.match(String(body.agent_id), /^ag_/);
        assert.deepEqual((body.inputs as { role: string; content: string; type: string }[]).map((e) => [e.type, e.role, e.content]), [
          ['message.input', 'user', 'First question'],
          ['message.input', 'assistant', 'Echo: First question'],
          ['message.input', 'user', 'Second question'],
        ]);
      });

      it('keeps the visitor’s message and the partial reply with its sources when Mistral reports an error mid-stream', async (c) => {
        if (!t.groundedApiKey) return c.skip('no grounded agent on this target');
        const sid = sessionId();
        t.standIn.scriptConversation({
          type: 'reply',
          steps: [{ type: 'started' }, { type: 'text', text: 'Half an answer' }, { type: 'reference', title: 'Doc A', url: 'https://docs.example/a' }, { type: 'error', message: 'agent failure', code: 3000 }],
        });
        const events = await readSse(await grounded({ session_id: sid, message: 'Tell me' }));
        assert.deepEqual([events[0]!.event, events.at(-1)!.event], ['start', 'error']);
        assert.equal(events.at(-1)!.data.code, 'upstream_error');
        let history = await historyOfGrounded(sid);
        for (let i = 0; i < 100 && history.length < 2; i++) {
          await new Promise((r) => setTimeout(r, 50));
          history = await historyOfGrounded(sid);
        }
        assert.deepEqual(history.map((m) => [m.role, m.content, m.sources]), [
          ['user', 'Tell me', undefined],
          ['assistant', 'Half an answer', [{ id: '1', title: 'Doc A', url: 'https://docs.example/a' }]],
        ]);
      });

      it('keeps the visitor’s message and ends with an error event when Mistral answers 404 for the agent', async (c) => {
        if (!t.groundedApiKey) return c.skip('no grounded agent on this target');
        const sid = sessionId();
        t.standIn.scriptConversation({ type: 'error', status: 404, body: { detail: 'Not Found' } });
        const events = await readSse(await grounded({ session_id: sid, message: 'Anyone?' }));
        assert.deepEqual(events.map((e) => e.event), ['start', 'error']);
        assert.equal(events[1]!.data.code, 'upstream_error');
        assert.deepEqual((await historyOfGrounded(sid)).map((m) => [m.role, m.content]), [['user', 'Anyone?']]);
      });
    });

    it('answers 400 invalid_request naming the field when the message is missing', async () => {
      const body = await expectError(await chat({ session_id: sessionId() }), 400, 'invalid_request');
      assert.equal(body.error.field, 'message');
    });

    it('answers 400 invalid_request for a body that is not JSON', async () => {
      await expectError(await chat('{not json'), 400, 'invalid_request');
    });

    it('answers 401 invalid_api_key for an unknown or missing key', async () => {
      await expectError(await get('/v1/agent', 'mac_unknown_key_unknown_key_unknown_key_1234'), 401, 'invalid_api_key');
      await expectError(await chat({ session_id: sessionId(), message: 'hi' }, null), 401, 'invalid_api_key');
    });

    it('answers 404 not_found as JSON for an unknown route', async () => {
      await expectError(await get('/v1/nothing-here'), 404, 'not_found');
    });

    it('answers a CORS preflight for the chat call from any site', async () => {
      const res = await fetch(`${t.baseUrl}/v1/chat`, {
        method: 'OPTIONS',
        headers: {
          Origin: ORIGIN,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-api-key',
        },
      });
      assert.ok(res.status === 204 || res.status === 200, `preflight status ${res.status}`);
      assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
      assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match((res.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /x-api-key/);
      assert.equal(res.headers.get('access-control-allow-credentials'), null, 'never credentials');
    });
  });
}
