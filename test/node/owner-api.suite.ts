/**
 * The owner API v1 contract (DESIGN.md "Owner API v1"), run against each target (owner-api.test.ts): two
 * owners, every endpoint, isolation (the other owner's ids answer 404 and change nothing), bad input (the
 * field named, nothing stored), tokens (missing, forged, `alg: none`, expired, other algorithms, wrong
 * secret → 401), the rotated key refused within 5 s, and statistics following an erased conversation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { insertOwner, type TestOwner } from '../helpers/owners.ts';

export interface OwnerRequest extends RequestInit {
  /** Bearer token; null or absent: no Authorization header. */
  token?: string | null;
  /** Sent as X-Forwarded-For (the targets trust one proxy). */
  ip?: string;
  json?: unknown;
}

export interface OwnerTarget {
  auth: 'local' | 'supabase';
  /** The database behind (seeding conversations as the proxy does, checking what was stored). */
  db: Db;
  /** A request to the app (path from `/v1/...`). */
  fetch(path: string, init?: OwnerRequest): Promise<Response>;
  /** The same to a second instance of the app on the same database (its own agent cache). */
  fetchOtherInstance(path: string, init?: OwnerRequest): Promise<Response>;
  /** A valid access token for this owner, obtained as the console obtains one. */
  signIn(owner: TestOwner): Promise<string>;
  /** Tokens for this owner that must be refused, by what is wrong with them. */
  badTokens(owner: TestOwner): Promise<Record<string, string>>;
  cleanup(): Promise<void>;
}

interface Agent {
  id: string;
  user_id: string;
  name: string;
  api_key: string;
  instructions: string | null;
  temperature: number | null;
  max_tokens: number | null;
  allowed_origins: string[] | null;
  has_identity_secret: boolean;
  is_active: boolean;
  [k: string]: unknown;
}

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOBODY = '00000000-0000-4000-8000-00000000dead';

export function ownerApiSuite(name: string, open: () => Promise<OwnerTarget>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let t: OwnerTarget;
    let ada: TestOwner;
    let bob: TestOwner;
    let adaToken: string;
    let bobToken: string;
    const tag = Math.random().toString(36).slice(2, 8);

    before(async () => {
      t = await open();
      ada = await insertOwner(t.db, `ada-${tag}@example.test`);
      bob = await insertOwner(t.db, `bob-${tag}@example.test`);
      adaToken = await t.signIn(ada);
      bobToken = await t.signIn(bob);
    });
    after(() => t?.cleanup());

    const as = (token: string, path: string, init: OwnerRequest = {}) => t.fetch(path, { ...init, token });
    async function ok<T>(res: Response | Promise<Response>, status = 200): Promise<T> {
      const r = await res;
      const text = await r.text();
      assert.equal(r.status, status, `status of ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    }
    async function refused(res: Response | Promise<Response>, status: number, code: string, field?: string): Promise<ErrorBody['error']> {
      const r = await res;
      const body = (await r.json()) as ErrorBody;
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(body.error.code, code, JSON.stringify(body));
      if (field !== undefined) {
        assert.equal(body.error.field, field, JSON.stringify(body));
        assert.match(body.error.message, new RegExp(field), 'the message names the field');
      }
      return body.error;
    }
    const createAgent = (token: string, fields: Record<string, unknown> = {}) =>
      ok<Agent>(as(token, '/v1/owner/agents', { method: 'POST', json: { name: 'Support', ...fields } }), 201);

    /** A visitor's turn through the proxy's own SQL (service role), as the widget makes one. */
    async function visitorTurn(agent: Agent, session: string, question: string, answer: string) {
      const store = new SqlStore(t.db);
      const begun = await store.beginTurn({
        apiKey: agent.api_key,
        origin: null,
        clientIp: null,
        sessionId: session,
        visitorId: `visitor-${session}`,
        metadata: { page_url: 'https://shop.example/pricing' },
        content: question,
        historyLimit: 20,
        historyChars: 24_000,
      });
      assert.ok(begun.ok, 'turn accepted');
      await store.endTurn({
        conversationId: begun.conversationId,
        userMessageId: begun.userMessageId,
        content: answer,
        sources: [{ id: 'doc1', title: 'Pricing', url: 'https://shop.example/pricing' }],
        promptTokens: 11,
        completionTokens: 22,
        responseTimeMs: 345,
      });
      return begun.conversationId;
    }

    it('GET /v1/owner/config says how owners sign in, without a token', async () => {
      const config = await ok<Record<string, string>>(t.fetch('/v1/owner/config'));
      if (t.auth === 'local') assert.deepEqual(config, { auth: 'local' });
      else {
        assert.equal(config.auth, 'supabase');
        assert.match(config.supabase_url!, /^http/);
        assert.ok(config.supabase_anon_key, 'the anon/publishable key for supabase-js');
      }
    });

    it('GET /v1/owner/me answers who the token belongs to', async () => {
      assert.deepEqual(await ok(as(adaToken, '/v1/owner/me')), { id: ada.id, email: ada.email });
      assert.deepEqual(await ok(as(bobToken, '/v1/owner/me')), { id: bob.id, email: bob.email });
    });

    it('creates an agent owned by the caller, with a key made by the server and no secret shown', async () => {
      const agent = await createAgent(adaToken, { name: 'Shop help', temperature: 0.3, allowed_origins: ['https://shop.example'] });
      assert.match(agent.id, UUID);
      assert.equal(agent.user_id, ada.id);
      assert.equal(agent.name, 'Shop help');
      assert.equal(agent.temperature, 0.3);
      assert.deepEqual(agent.allowed_origins, ['https://shop.example']);
      assert.match(agent.api_key, /^mac_[A-Za-z0-9_-]{43}$/);
      assert.equal(agent.has_identity_secret, false);
      assert.ok(!('identity_secret' in agent), 'identity_secret never shown');
      // the columns' defaults, and every column of agents
      assert.equal(agent.model, 'mistral-small-latest');
      assert.equal(agent.max_tokens, 1024);
      for (const k of ['role', 'instructions', 'top_p', 'is_active', 'rate_limit_session_per_minute', 'rate_limit_ip_per_minute', 'daily_token_budget', 'mistral_agent_id', 'identity_required', 'retention_days', 'created_at', 'updated_at']) {
        assert.ok(k in agent, `Agent has ${k}`);
      }
      // the widget key works at once
      const info = await t.fetch('/v1/agent', { headers: { 'X-Api-Key': agent.api_key } });
      assert.deepEqual(await ok(info), { name: 'Shop help', role: 'assistant' });
    });

    it('never trusts user_id (or id, api_key, created_at) from a body: refused, naming it, nothing stored', async () => {
      const before = (await ok<{ agents: Agent[] }>(as(adaToken, '/v1/owner/agents'))).agents.length;
      for (const field of ['user_id', 'id', 'api_key', 'created_at', 'identity_secret']) {
        await refused(as(adaToken, '/v1/owner/agents', { method: 'POST', json: { name: 'x', [field]: field === 'user_id' ? bob.id : 'x' } }), 400, 'invalid_request', field);
      }
      assert.equal((await ok<{ agents: Agent[] }>(as(adaToken, '/v1/owner/agents'))).agents.length, before);
      assert.equal((await ok<{ agents: Agent[] }>(as(bobToken, '/v1/owner/agents'))).agents.filter((a) => a.name === 'x').length, 0);
      const mine = await createAgent(adaToken);
      await refused(as(adaToken, `/v1/owner/agents/${mine.id}`, { method: 'PATCH', json: { user_id: bob.id } }), 400, 'invalid_request', 'user_id');
      await refused(as(adaToken, `/v1/owner/agents/${mine.id}`, { method: 'PATCH', json: { api_key: 'mac_' + 'a'.repeat(43) } }), 400, 'invalid_request', 'api_key');
      const still = await ok<Agent>(as(adaToken, `/v1/owner/agents/${mine.id}`));
      assert.equal(still.user_id, ada.id);
      assert.equal(still.api_key, mine.api_key);
    });

    it('refuses bad input naming the field: unknown fields, wrong types, values out of range', async () => {
      await refused(as(adaToken, '/v1/owner/agents', { method: 'POST', json: {} }), 400, 'invalid_request', 'name');
      await refused(as(adaToken, '/v1/owner/agents', { method: 'POST', json: { name: 'ok', colour: 'red' } }), 400, 'invalid_request', 'colour');
      const agent = await createAgent(adaToken);
      const cases: [Record<string, unknown>, string][] = [
        [{ name: '' }, 'name'],
        [{ name: null }, 'name'],
        [{ name: 'n'.repeat(256) }, 'name'],
        [{ temperature: 'hot' }, 'temperature'],
        [{ temperature: 1.5 }, 'temperature'],
        [{ top_p: -0.1 }, 'top_p'],
        [{ max_tokens: 0 }, 'max_tokens'],
        [{ max_tokens: 1.5 }, 'max_tokens'],
        [{ is_active: 'yes' }, 'is_active'],
        [{ allowed_origins: ['not an origin'] }, 'allowed_origins'],
        [{ allowed_origins: 'https://a.example' }, 'allowed_origins'],
        [{ rate_limit_ip_per_minute: -1 }, 'rate_limit_ip_per_minute'],
        [{ daily_token_budget: 0 }, 'daily_token_budget'],
        [{ retention_days: 0 }, 'retention_days'],
        [{ mistral_agent_id: 'has spaces' }, 'mistral_agent_id'],
        [{ model: 'bad model!' }, 'model'],
        [{ instructions: 'nul \u0000 byte' }, 'instructions'],
      ];
      for (const [body, field] of cases) {
        await refused(as(adaToken, `/v1/owner/agents/${agent.id}`, { method: 'PATCH', json: body }), 400, 'invalid_request', field);
      }
      const bad = await t.fetch(`/v1/owner/agents/${agent.id}`, { method: 'PATCH', token: adaToken, body: '{not json', headers: { 'Content-Type': 'application/json' } });
      await refused(bad, 400, 'invalid_request');
      assert.deepEqual(await ok<Agent>(as(adaToken, `/v1/owner/agents/${agent.id}`)), agent, 'nothing changed');
    });

    it('lists only the caller’s agents; another owner’s or a malformed id answers 404', async () => {
      const a = await createAgent(adaToken, { name: 'Ada only' });
      const b = await createAgent(bobToken, { name: 'Bob only' });
      const adas = (await ok<{ agents: Agent[] }>(as(adaToken, '/v1/owner/agents'))).agents;
      const bobs = (await ok<{ agents: Agent[] }>(as(bobToken, '/v1/owner/agents'))).agents;
      assert.ok(adas.some((x) => x.id === a.id) && !adas.some((x) => x.id === b.id));
      assert.ok(bobs.every((x) => x.user_id === bob.id) && bobs.some((x) => x.id === b.id));
      assert.deepEqual(await ok(as(adaToken, `/v1/owner/agents/${a.id}`)), a);
      for (const path of [`/v1/owner/agents/${b.id}`, `/v1/owner/agents/${NOBODY}`, '/v1/owner/agents/not-a-uuid', `/v1/owner/agents/${b.id}/conversations`, `/v1/owner/agents/${b.id}/daily`]) {
        await refused(as(adaToken, path), 404, 'not_found');
      }
    });

    it('PATCH changes only the fields given; null clears a nullable one; another owner’s agent is untouched', async () => {
      const a = await createAgent(adaToken, { instructions: 'Be brief.', daily_token_budget: 5000 });
      const changed = await ok<Agent>(
        as(adaToken, `/v1/owner/agents/${a.id}`, {
          method: 'PATCH',
          json: { name: 'Renamed', instructions: null, daily_token_budget: null, max_tokens: 200, is_active: false, allowed_origins: ['https://*.shop.example', 'http://localhost:3000'] },
        }),
      );
      assert.equal(changed.name, 'Renamed');
      assert.equal(changed.instructions, null);
      assert.equal(changed.daily_token_budget, null);
      assert.equal(changed.max_tokens, 200);
      assert.equal(changed.is_active, false);
      assert.deepEqual(changed.allowed_origins, ['https://*.shop.example', 'http://localhost:3000']);
      assert.equal(changed.temperature, a.temperature, 'untouched');
      assert.equal(changed.api_key, a.api_key);
      assert.deepEqual(await ok(as(adaToken, `/v1/owner/agents/${a.id}`)), changed);
      assert.deepEqual(await ok(as(adaToken, `/v1/owner/agents/${a.id}`, { method: 'PATCH', json: {} })), changed, 'an empty PATCH changes nothing');
      await refused(as(bobToken, `/v1/owner/agents/${a.id}`, { method: 'PATCH', json: { name: 'Hijacked' } }), 404, 'not_found');
      await refused(as(bobToken, `/v1/owner/agents/${a.id}`, { method: 'PATCH', json: {} }), 404, 'not_found');
      assert.equal((await ok<Agent>(as(adaToken, `/v1/owner/agents/${a.id}`))).name, 'Renamed');
    });

    it('rotate-key: a new key works at once, the old one is refused at once here and within 5 s by other instances', async () => {
      const a = await createAgent(adaToken, { name: 'Rotating' });
      const widget = (fetch: OwnerTarget['fetch'], key: string) => fetch('/v1/agent', { headers: { 'X-Api-Key': key } });
      // the old key is in both instances' agent caches
      await ok(widget(t.fetch, a.api_key));
      await ok(widget(t.fetchOtherInstance, a.api_key));
      await refused(as(bobToken, `/v1/owner/agents/${a.id}/rotate-key`, { method: 'POST' }), 404, 'not_found');
      await ok(widget(t.fetch, a.api_key));
      const rotatedAt = Date.now();
      const rotated = await ok<Agent>(as(adaToken, `/v1/owner/agents/${a.id}/rotate-key`, { method: 'POST' }));
      assert.notEqual(rotated.api_key, a.api_key);
      assert.match(rotated.api_key, /^mac_[A-Za-z0-9_-]{43}$/);
      assert.equal(rotated.id, a.id);
      await refused(widget(t.fetch, a.api_key), 401, 'invalid_api_key');
      await ok(widget(t.fetch, rotated.api_key));
      await ok(widget(t.fetchOtherInstance, rotated.api_key));
      // the other instance: poll until refused; the old key's last acceptance must be under 5 s after the rotation
      let lastAccepted = 0;
      let refusedAt = -1;
      while (Date.now() - rotatedAt < 8_000) {
        const sent = Date.now();
        const res = await widget(t.fetchOtherInstance, a.api_key);
        await res.body?.cancel();
        if (res.status === 401) {
          refusedAt = Date.now() - rotatedAt;
          break;
        }
        lastAccepted = sent - rotatedAt;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(refusedAt >= 0, 'refused in the end');
      assert.ok(lastAccepted < 5_000, `the old key was still accepted ${lastAccepted} ms after the rotation`);
    });

    it('identity-secret: a new secret returned once, then only has_identity_secret; not for another owner', async () => {
      const a = await createAgent(adaToken);
      await refused(as(bobToken, `/v1/owner/agents/${a.id}/identity-secret`, { method: 'POST' }), 404, 'not_found');
      const made = await ok<Agent & { identity_secret: string }>(as(adaToken, `/v1/owner/agents/${a.id}/identity-secret`, { method: 'POST' }));
      assert.ok(made.identity_secret.length >= 32 && !/\s/.test(made.identity_secret));
      assert.equal(made.has_identity_secret, true);
      const again = await ok<Agent & { identity_secret: string }>(as(adaToken, `/v1/owner/agents/${a.id}/identity-secret`, { method: 'POST' }));
      assert.notEqual(again.identity_secret, made.identity_secret, 'a new one each time');
      const read = await ok<Agent>(as(adaToken, `/v1/owner/agents/${a.id}`));
      assert.equal(read.has_identity_secret, true);
      assert.ok(!('identity_secret' in read));
      const list = await ok<{ agents: Agent[] }>(as(adaToken, '/v1/owner/agents'));
      assert.ok(!JSON.stringify(list).includes(again.identity_secret), 'never shown again');
      const stored = await t.db.query<{ s: string }>('select identity_secret as s from public.agents where id = $1', [a.id]);
      assert.equal(stored.rows[0]!.s, again.identity_secret);
    });

    it('inbox, transcript (sources, feedback), search, paging; statistics and daily figures; erasing follows', async () => {
      const a = await createAgent(adaToken, { name: 'Inbox agent' });
      const first = await visitorTurn(a, `sess-${tag}-1`, 'Where is my parcel?', 'It ships tomorrow.');
      const second = await visitorTurn(a, `sess-${tag}-2`, 'Do you sell gift cards?', 'Yes, from 10 euros.');
      const { rows } = await t.db.query<{ id: string }>("select id from public.messages where conversation_id = $1 and role = 'assistant'", [second]);
      await t.db.query("insert into public.message_feedback (message_id, rating, comment) values ($1, 'up', 'helpful')", [rows[0]!.id]);

      const inbox = await ok<{ conversations: { id: string; message_count: number; last_message: { content: string } }[]; next: string | null }>(
        as(adaToken, `/v1/owner/agents/${a.id}/conversations`),
      );
      assert.deepEqual(inbox.conversations.map((c) => c.id), [second, first], 'latest activity first');
      assert.equal(inbox.conversations[0]!.message_count, 2);
      assert.equal(inbox.conversations[0]!.last_message.content, 'Yes, from 10 euros.');
      assert.equal(inbox.next, null);
      for (const k of ['id', 'session_id', 'visitor_id', 'user_ref', 'metadata', 'created_at', 'updated_at', 'message_count', 'last_message']) {
        assert.ok(k in inbox.conversations[0]!, `inbox item has ${k}`);
      }
      const found = await ok<{ conversations: { id: string }[] }>(as(adaToken, `/v1/owner/agents/${a.id}/conversations?q=${encodeURIComponent('PARCEL')}`));
      assert.deepEqual(found.conversations.map((c) => c.id), [first]);
      const page1 = await ok<{ conversations: { id: string }[]; next: string }>(as(adaToken, `/v1/owner/agents/${a.id}/conversations?limit=1`));
      assert.deepEqual(page1.conversations.map((c) => c.id), [second]);
      const page2 = await ok<{ conversations: { id: string }[]; next: string | null }>(
        as(adaToken, `/v1/owner/agents/${a.id}/conversations?limit=1&before=${encodeURIComponent(page1.next)}`),
      );
      assert.deepEqual(page2.conversations.map((c) => c.id), [first]);
      await refused(as(adaToken, `/v1/owner/agents/${a.id}/conversations?limit=0`), 400, 'invalid_request', 'limit');
      await refused(as(adaToken, `/v1/owner/agents/${a.id}/conversations?limit=abc`), 400, 'invalid_request', 'limit');
      await refused(as(adaToken, `/v1/owner/agents/${a.id}/conversations?before=yesterday`), 400, 'invalid_request', 'before');
      await refused(as(adaToken, `/v1/owner/agents/${a.id}/conversations?q=${'q'.repeat(201)}`), 400, 'invalid_request', 'q');

      type Transcript = {
        conversation: { id: string; session_id: string; agent_id: string };
        messages: { id: string; role: string; content: string; sources: unknown; tokens_used: number; response_time_ms: number | null; created_at: string; feedback: unknown }[];
      };
      const transcript = await ok<Transcript>(as(adaToken, `/v1/owner/conversations/${second}`));
      assert.equal(transcript.conversation.id, second);
      assert.equal(transcript.conversation.session_id, `sess-${tag}-2`);
      assert.deepEqual(transcript.messages.map((m) => [m.role, m.content]), [
        ['user', 'Do you sell gift cards?'],
        ['assistant', 'Yes, from 10 euros.'],
      ]);
      const reply = transcript.messages[1]!;
      assert.deepEqual(reply.sources, [{ id: 'doc1', title: 'Pricing', url: 'https://shop.example/pricing' }]);
      assert.equal(reply.tokens_used, 22);
      assert.equal(reply.response_time_ms, 345);
      assert.deepEqual(reply.feedback, { rating: 'up', comment: 'helpful' });
      assert.equal(transcript.messages[0]!.feedback, null);
      await refused(as(bobToken, `/v1/owner/conversations/${second}`), 404, 'not_found');
      await refused(as(adaToken, `/v1/owner/conversations/${NOBODY}`), 404, 'not_found');
      await refused(as(adaToken, '/v1/owner/conversations/42'), 404, 'not_found');

      type Stats = { agents: { agent_id: string; total_conversations: number; total_messages: number; total_tokens_used: number; positive_feedback: number }[] };
      const stats = await ok<Stats>(as(adaToken, '/v1/owner/statistics'));
      const mine = stats.agents.find((s) => s.agent_id === a.id)!;
      assert.equal(Number(mine.total_conversations), 2);
      assert.equal(Number(mine.total_messages), 4);
      assert.equal(Number(mine.total_tokens_used), 66);
      assert.equal(Number(mine.positive_feedback), 1);
      const bobStats = await ok<Stats>(as(bobToken, '/v1/owner/statistics'));
      assert.ok(!bobStats.agents.some((s) => s.agent_id === a.id), 'another owner never sees these figures');

      const daily = await ok<{ days: { day: string; conversations: number; user_messages: number; tokens_used: number }[] }>(as(adaToken, `/v1/owner/agents/${a.id}/daily?days=7`));
      assert.equal(daily.days.length, 7);
      assert.equal(daily.days.at(-1)!.conversations, 2, 'today');
      assert.equal(daily.days.at(-1)!.user_messages, 2);
      assert.equal(daily.days.at(-1)!.tokens_used, 66);
      assert.equal((await ok<{ days: unknown[] }>(as(adaToken, `/v1/owner/agents/${a.id}/daily`))).days.length, 30, 'default 30 days');
      await refused(as(adaToken, `/v1/owner/agents/${a.id}/daily?days=0`), 400, 'invalid_request', 'days');

      // erasing: not by another owner; then gone, with the statistics following
      await refused(as(bobToken, `/v1/owner/conversations/${second}`, { method: 'DELETE' }), 404, 'not_found');
      assert.equal((await ok<Transcript>(as(adaToken, `/v1/owner/conversations/${second}`))).messages.length, 2, 'still there');
      const erased = await as(adaToken, `/v1/owner/conversations/${second}`, { method: 'DELETE' });
      assert.equal(erased.status, 204);
      await refused(as(adaToken, `/v1/owner/conversations/${second}`), 404, 'not_found');
      await refused(as(adaToken, `/v1/owner/conversations/${second}`, { method: 'DELETE' }), 404, 'not_found');
      const gone = await t.db.query<{ n: number }>('select count(*)::int as n from public.messages where conversation_id = $1', [second]);
      assert.equal(gone.rows[0]!.n, 0, 'its messages erased');
      const after = (await ok<Stats>(as(adaToken, '/v1/owner/statistics'))).agents.find((s) => s.agent_id === a.id)!;
      assert.equal(Number(after.total_conversations), 1);
      assert.equal(Number(after.total_messages), 2);
      assert.equal(Number(after.total_tokens_used), 33);
      assert.equal(Number(after.positive_feedback), 0);
      assert.deepEqual((await ok<{ conversations: { id: string }[] }>(as(adaToken, `/v1/owner/agents/${a.id}/conversations`))).conversations.map((c) => c.id), [first]);
    });

    it('DELETE an agent: 204, then 404; another owner cannot; its key stops', async () => {
      const a = await createAgent(adaToken, { name: 'Doomed' });
      await refused(as(bobToken, `/v1/owner/agents/${a.id}`, { method: 'DELETE' }), 404, 'not_found');
      await ok(as(adaToken, `/v1/owner/agents/${a.id}`));
      const res = await as(adaToken, `/v1/owner/agents/${a.id}`, { method: 'DELETE' });
      assert.equal(res.status, 204);
      await refused(as(adaToken, `/v1/owner/agents/${a.id}`), 404, 'not_found');
      await refused(as(adaToken, `/v1/owner/agents/${a.id}`, { method: 'DELETE' }), 404, 'not_found');
      await refused(t.fetch('/v1/agent', { headers: { 'X-Api-Key': a.api_key } }), 401, 'invalid_api_key');
    });

    it('missing, forged, alg none, expired, other-algorithm and wrong-secret tokens: 401 unauthorized everywhere', async () => {
      const a = await createAgent(adaToken);
      const paths: [string, string][] = [
        ['GET', '/v1/owner/me'],
        ['GET', '/v1/owner/agents'],
        ['POST', '/v1/owner/agents'],
        ['GET', `/v1/owner/agents/${a.id}`],
        ['PATCH', `/v1/owner/agents/${a.id}`],
        ['DELETE', `/v1/owner/agents/${a.id}`],
        ['POST', `/v1/owner/agents/${a.id}/rotate-key`],
        ['GET', '/v1/owner/statistics'],
      ];
      const bad = { missing: null, malformed: 'not.a.jwt', ...(await t.badTokens(ada)) } as Record<string, string | null>;
      for (const [kind, token] of Object.entries(bad)) {
        for (const [method, path] of paths) {
          const res = await t.fetch(path, { method, token, json: method === 'POST' || method === 'PATCH' ? { name: 'Forged' } : undefined });
          await refused(res, 401, 'unauthorized').catch((err: Error) => {
            throw new Error(`${kind} token on ${method} ${path}: ${err.message}`);
          });
        }
      }
      const still = await ok<Agent>(as(adaToken, `/v1/owner/agents/${a.id}`));
      assert.equal(still.api_key, a.api_key, 'nothing changed');
      assert.ok(!(await ok<{ agents: Agent[] }>(as(adaToken, '/v1/owner/agents'))).agents.some((x) => x.name === 'Forged'));
    });

    it('CORS: owner routes allow Authorization and PATCH/DELETE from any origin; widget routes keep theirs', async () => {
      const pre = await t.fetch('/v1/owner/agents/x', {
        method: 'OPTIONS',
        headers: { Origin: 'https://console.example', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'authorization, content-type' },
      });
      assert.ok(pre.status === 204 || pre.status === 200);
      assert.equal(pre.headers.get('Access-Control-Allow-Origin'), 'https://console.example');
      assert.match(pre.headers.get('Access-Control-Allow-Methods') ?? '', /PATCH/);
      assert.match(pre.headers.get('Access-Control-Allow-Methods') ?? '', /DELETE/);
      assert.match(pre.headers.get('Access-Control-Allow-Headers') ?? '', /Authorization/i);
      assert.equal(pre.headers.get('Access-Control-Allow-Credentials'), null);
      const widget = await t.fetch('/v1/chat', {
        method: 'OPTIONS',
        headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key, content-type' },
      });
      assert.doesNotMatch(widget.headers.get('Access-Control-Allow-Methods') ?? '', /PATCH|DELETE/);
      assert.doesNotMatch(widget.headers.get('Access-Control-Allow-Headers') ?? '', /Authorization/i);
      const real = await as(adaToken, '/v1/owner/me', { headers: { Origin: 'https://console.example' } });
      assert.equal(real.headers.get('Access-Control-Allow-Origin'), 'https://console.example');
    });
  });
}
