/**
 * Behaviour every Store adapter must share (SqlStore on PGlite and pg, SupabaseStore through an RPC
 * double). Only the Store interface and the caller's `seed` are used; checks that need to look at
 * rows directly (tokens, metadata) use `db` when the caller provides one.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import type { BeginTurnInput, BeginTurnResult, Store } from '../../src/server/store/store.ts';

export interface SeedOptions {
  name?: string;
  instructions?: string | null;
  isActive?: boolean;
  temperature?: number | null;
}

export interface StoreFixture {
  store: Store;
  seed: (opts?: SeedOptions) => Promise<{ agentId: string; apiKey: string }>;
  /** The database behind the store, for row-level checks (tokens, metadata). */
  db?: Pick<Db, 'query'>;
  cleanup(): Promise<void>;
}

export interface StoreSuiteOptions {
  /** A reason to skip the whole suite (e.g. PostgreSQL unreachable), or false. */
  skip?: string | false;
}

const session = () => `sess_${randomUUID().replaceAll('-', '')}`;

type Ok = Extract<BeginTurnResult, { ok: true }>;

export function storeSuite(name: string, makeStore: () => Promise<StoreFixture>, options: StoreSuiteOptions = {}): void {
  describe(name, { skip: options.skip ?? false }, () => {
    let fx: StoreFixture;
    let store: Store;
    before(async () => {
      fx = await makeStore();
      store = fx.store;
    });
    after(async () => {
      await fx?.cleanup();
    });

    const input = (apiKey: string, over: Partial<BeginTurnInput> = {}): BeginTurnInput => ({
      apiKey,
      origin: null,
      clientIp: null,
      sessionId: session(),
      visitorId: null,
      metadata: {},
      content: 'Hello',
      historyLimit: 20,
      historyChars: 24000,
      ...over,
    });
    const begin = async (apiKey: string, over: Partial<BeginTurnInput> = {}): Promise<Ok> => {
      const r = await store.beginTurn(input(apiKey, over));
      assert.equal(r.ok, true, `beginTurn refused: ${JSON.stringify(r)}`);
      return r as Ok;
    };
    /** One full turn: the visitor's message and the agent's reply. */
    const turn = async (apiKey: string, sessionId: string, user: string, reply: string) => {
      const r = await begin(apiKey, { sessionId, content: user });
      await store.endTurn({
        conversationId: r.conversationId,
        userMessageId: r.userMessageId,
        content: reply,
        promptTokens: 1,
        completionTokens: 1,
        responseTimeMs: 1,
      });
      return r;
    };

    it('answers the health check', async () => {
      await assert.doesNotReject(store.ping());
    });

    it('finds an agent by its key, with display info only', async () => {
      const a = await fx.seed({ name: 'Support bot' });
      const found = await store.agentByKey(a.apiKey);
      assert.ok(found);
      assert.equal(found.id, a.agentId);
      assert.equal(found.name, 'Support bot');
      assert.equal(found.role, 'assistant');
      assert.equal(found.is_active, true);
      assert.ok(found.allowed_origins === null || found.allowed_origins.length === 0, 'a new agent accepts any origin');
      assert.equal(await store.agentByKey('mac_nobody_has_this_key'), null);
    });

    it('refuses an unknown key and stores nothing', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const r = await store.beginTurn(input(`${a.apiKey}x`, { sessionId }));
      assert.deepEqual(r, { ok: false, code: 'invalid_api_key' });
      assert.deepEqual(await store.history(a.agentId, sessionId, 50), []);
      if (fx.db) {
        const { rows } = await fx.db.query<{ n: number }>(
          'select count(*)::int as n from public.conversations where session_id = $1',
          [sessionId],
        );
        assert.equal(rows[0]?.n, 0);
      }
    });

    it('refuses a disabled agent and stores nothing', async () => {
      const a = await fx.seed({ isActive: false });
      const sessionId = session();
      const r = await store.beginTurn(input(a.apiKey, { sessionId }));
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'agent_inactive');
      assert.deepEqual(await store.history(a.agentId, sessionId, 50), []);
      const info = await store.agentByKey(a.apiKey);
      assert.equal(info?.is_active, false);
    });

    it('returns the agent settings the proxy sends to Mistral', async () => {
      const a = await fx.seed({ name: 'Chef', instructions: 'Talk about food.', temperature: 0.3 });
      const r = await begin(a.apiKey);
      assert.equal(r.agent.id, a.agentId);
      assert.equal(r.agent.name, 'Chef');
      assert.equal(r.agent.instructions, 'Talk about food.');
      assert.equal(r.agent.model, 'mistral-small-latest');
      assert.equal(r.agent.temperature, 0.3);
      assert.equal(typeof r.agent.top_p, 'number');
      assert.equal(typeof r.agent.max_tokens, 'number');
    });

    it('keeps one conversation per session and a new one for another session', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const first = await begin(a.apiKey, { sessionId, content: 'one' });
      const second = await begin(a.apiKey, { sessionId, content: 'two' });
      const other = await begin(a.apiKey, { content: 'three' });
      assert.equal(second.conversationId, first.conversationId);
      assert.notEqual(other.conversationId, first.conversationId);
      assert.notEqual(second.userMessageId, first.userMessageId);
    });

    it('stores the visitor message before the reply exists', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const r = await begin(a.apiKey, { sessionId, content: 'Are you there?' });
      const stored = await store.history(a.agentId, sessionId, 50);
      assert.equal(stored.length, 1);
      assert.equal(stored[0]?.id, r.userMessageId);
      assert.equal(stored[0]?.role, 'user');
      assert.equal(stored[0]?.content, 'Are you there?');
      assert.deepEqual(r.history, [{ role: 'user', content: 'Are you there?' }]);
    });

    it('stores the reply after the visitor message, with ISO timestamps', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const r = await begin(a.apiKey, { sessionId, content: 'Hi' });
      const done = await store.endTurn({
        conversationId: r.conversationId,
        userMessageId: r.userMessageId,
        content: 'Hello! How can I help?',
        promptTokens: 42,
        completionTokens: 7,
        responseTimeMs: 321,
      });
      const stored = await store.history(a.agentId, sessionId, 50);
      assert.deepEqual(
        stored.map((m) => [m.id, m.role, m.content]),
        [
          [r.userMessageId, 'user', 'Hi'],
          [done.messageId, 'assistant', 'Hello! How can I help?'],
        ],
      );
      for (const m of stored) {
        assert.match(m.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
        assert.ok(Number.isFinite(Date.parse(m.created_at)));
      }
      if (fx.db) {
        const { rows } = await fx.db.query<{ id: string; tokens_used: number | null; response_time_ms: number | null }>(
          'select id, tokens_used, response_time_ms from public.messages where conversation_id = $1',
          [r.conversationId],
        );
        const byId = new Map(rows.map((row) => [row.id, row]));
        assert.equal(byId.get(r.userMessageId)?.tokens_used, 42, 'prompt tokens on the user message');
        assert.equal(byId.get(done.messageId)?.tokens_used, 7, 'completion tokens on the reply');
        assert.equal(byId.get(done.messageId)?.response_time_ms, 321);
      }
    });

    it('stores a partial reply with no token counts (Stop pressed)', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const r = await begin(a.apiKey, { sessionId });
      await store.endTurn({
        conversationId: r.conversationId,
        userMessageId: r.userMessageId,
        content: 'Half a sen',
        promptTokens: null,
        completionTokens: null,
        responseTimeMs: 90,
      });
      const stored = await store.history(a.agentId, sessionId, 50);
      assert.equal(stored.at(-1)?.content, 'Half a sen');
    });

    it('stores the sources a reply cites and returns them with the history, only on messages that have any', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const sources = [
        { id: '1', title: 'Remote-Work-Policy-2026.pdf' },
        { id: '2', title: 'Pricing — Example “Shop” 👋', url: 'https://shop.example/pricing#plans', snippet: 'Plans & prices <b>not HTML</b>' },
      ];
      const r = await begin(a.apiKey, { sessionId, content: 'What is the allowance?' });
      const done = await store.endTurn({
        conversationId: r.conversationId,
        userMessageId: r.userMessageId,
        content: 'Up to €500 a year.',
        sources,
        promptTokens: 3,
        completionTokens: 2,
        responseTimeMs: 10,
      });
      await turn(a.apiKey, sessionId, 'Thanks', 'You are welcome.');
      const stored = await store.history(a.agentId, sessionId, 50);
      assert.deepEqual(stored.find((m) => m.id === done.messageId)?.sources, sources);
      for (const m of stored.filter((m) => m.id !== done.messageId)) assert.equal('sources' in m, false, `no sources key on ${m.content}`);
      // The next turn replays the text only.
      const next = await begin(a.apiKey, { sessionId, content: 'And next year?' });
      assert.deepEqual(next.history.map((h) => Object.keys(h).sort()), next.history.map(() => ['content', 'role']));
    });

    it('stores an empty list of sources as none', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const r = await begin(a.apiKey, { sessionId });
      await store.endTurn({
        conversationId: r.conversationId,
        userMessageId: r.userMessageId,
        content: 'No citation here.',
        sources: [],
        promptTokens: 1,
        completionTokens: 1,
        responseTimeMs: 1,
      });
      const stored = await store.history(a.agentId, sessionId, 50);
      assert.equal(stored.at(-1)?.sources, undefined);
    });

    it('refuses sources of the wrong shape and stores no half turn', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const r = await begin(a.apiKey, { sessionId });
      for (const bad of [
        [{ id: '1', title: 'x', url: 'javascript:alert(1)' }],
        [{ id: '1', title: 'x', url: '//evil.example/x' }],
        [{ id: '1' }],
        [{ id: '1', title: 'x' }, { id: '1', title: 'y' }],
        [{ id: '1', title: 'x', extra: true }],
      ]) {
        await assert.rejects(
          store.endTurn({
            conversationId: r.conversationId,
            userMessageId: r.userMessageId,
            content: 'reply',
            sources: bad as never,
            promptTokens: 1,
            completionTokens: 1,
            responseTimeMs: 1,
          }),
          /sources|check|p_sources/,
          JSON.stringify(bad),
        );
      }
      const stored = await store.history(a.agentId, sessionId, 50);
      assert.deepEqual(stored.map((m) => m.role), ['user'], 'only the visitor message');
    });

    it('returns the last messages of a session, oldest first', async () => {
      const a = await fx.seed();
      const sessionId = session();
      for (let i = 1; i <= 3; i++) await turn(a.apiKey, sessionId, `q${i}`, `a${i}`);
      const last3 = await store.history(a.agentId, sessionId, 3);
      assert.deepEqual(last3.map((m) => m.content), ['a2', 'q3', 'a3']);
      assert.deepEqual(await store.history(a.agentId, session(), 10), [], 'unknown session');
    });

    it('bounds the history sent to Mistral by count, newest kept', async () => {
      const a = await fx.seed();
      const sessionId = session();
      for (let i = 1; i <= 5; i++) await turn(a.apiKey, sessionId, `q${i}`, `a${i}`);
      const r = await begin(a.apiKey, { sessionId, content: 'q6', historyLimit: 4 });
      assert.deepEqual(r.history, [
        { role: 'assistant', content: 'a4' },
        { role: 'user', content: 'q5' },
        { role: 'assistant', content: 'a5' },
        { role: 'user', content: 'q6' },
      ]);
      const one = await begin(a.apiKey, { sessionId, content: 'q7', historyLimit: 1 });
      assert.deepEqual(one.history, [{ role: 'user', content: 'q7' }]);
    });

    it('bounds the history by characters, and always keeps the new message', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const ten = (c: string) => c.repeat(10);
      await turn(a.apiKey, sessionId, ten('a'), ten('b'));
      await turn(a.apiKey, sessionId, ten('c'), ten('d'));
      // 25 characters: the new message (10) and one earlier (20); a second earlier one would make 30
      const r = await begin(a.apiKey, { sessionId, content: ten('e'), historyChars: 25 });
      assert.deepEqual(r.history, [
        { role: 'assistant', content: ten('d') },
        { role: 'user', content: ten('e') },
      ]);
      // a message longer than the whole budget still goes through, alone
      const long = ten('f').repeat(3);
      const alone = await begin(a.apiKey, { sessionId, content: long, historyChars: 5 });
      assert.deepEqual(alone.history, [{ role: 'user', content: long }]);
    });

    it('keeps sessions of different agents apart, even with the same session id', async () => {
      const a = await fx.seed();
      const b = await fx.seed();
      const sessionId = session();
      const ra = await turn(a.apiKey, sessionId, 'secret of A', 'reply to A');
      const rb = await begin(b.apiKey, { sessionId, content: 'hello from B' });
      assert.notEqual(rb.conversationId, ra.conversationId);
      assert.deepEqual(rb.history, [{ role: 'user', content: 'hello from B' }]);
      assert.deepEqual((await store.history(b.agentId, sessionId, 50)).map((m) => m.content), ['hello from B']);
      assert.deepEqual((await store.history(a.agentId, sessionId, 50)).map((m) => m.content), ['secret of A', 'reply to A']);
    });

    it('stores 40 simultaneous first turns on 40 sessions exactly once each', async () => {
      const a = await fx.seed();
      const sessions = Array.from({ length: 40 }, session);
      const results = await Promise.all(sessions.map((s, i) => begin(a.apiKey, { sessionId: s, content: `m${i}` })));
      assert.equal(new Set(results.map((r) => r.conversationId)).size, 40);
      const histories = await Promise.all(sessions.map((s) => store.history(a.agentId, s, 50)));
      histories.forEach((h, i) => assert.deepEqual(h.map((m) => m.content), [`m${i}`]));
    });

    it('stores 20 simultaneous turns on one new session exactly once each, in one conversation', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => begin(a.apiKey, { sessionId, content: `m${i}` })),
      );
      assert.equal(new Set(results.map((r) => r.conversationId)).size, 1);
      for (const [i, r] of results.entries()) assert.equal(r.history.at(-1)?.content, `m${i}`);
      const stored = await store.history(a.agentId, sessionId, 100);
      assert.equal(stored.length, 20);
      assert.deepEqual(stored.map((m) => m.content).sort(), Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    });

    it('stores the visitor id and merges metadata across turns', async (t) => {
      if (!fx.db) return t.skip('this fixture gives no db handle to read conversations');
      const a = await fx.seed();
      const sessionId = session();
      await begin(a.apiKey, { sessionId, metadata: { url: 'https://shop.example/a', lang: 'fr' } });
      await begin(a.apiKey, { sessionId, visitorId: 'visitor_123', metadata: { url: 'https://shop.example/b' } });
      await begin(a.apiKey, { sessionId, visitorId: null, metadata: {} });
      const { rows } = await fx.db.query<{ visitor_id: string | null; metadata: Record<string, unknown> }>(
        'select visitor_id, metadata from public.conversations where agent_id = $1 and session_id = $2',
        [a.agentId, sessionId],
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.visitor_id, 'visitor_123', 'a later turn without visitor id keeps it');
      assert.deepEqual(rows[0]?.metadata, { url: 'https://shop.example/b', lang: 'fr' });
    });

    it('round-trips unicode and emoji byte for byte', async () => {
      const a = await fx.seed();
      const sessionId = session();
      const text = 'Ça va? 👋🏽 👨‍👩‍👧 中文 العربية ｆｕｌｌ e\u0301 \u{1D54F} "quotes" \'single\' \\ back\\slash $$ dollars $$\n\ttab';
      const r = await begin(a.apiKey, { sessionId, content: text });
      assert.equal(r.history.at(-1)?.content, text);
      await store.endTurn({
        conversationId: r.conversationId,
        userMessageId: r.userMessageId,
        content: `${text} ✅`,
        promptTokens: 1,
        completionTokens: 1,
        responseTimeMs: 1,
      });
      const stored = await store.history(a.agentId, sessionId, 10);
      assert.equal(stored[0]?.content, text);
      assert.equal(stored[1]?.content, `${text} ✅`);
      assert.equal(Buffer.compare(Buffer.from(stored[0]!.content), Buffer.from(text)), 0);
    });
  });
}
