/**
 * The owner API's SQL reads, called as the owner under RLS (the way the owner API runs them):
 * owner_agent_conversations (the inbox: latest activity first, message count, last message, keyset pages,
 * text search with a bounded scan), owner_agent_daily (the charts' series) and owner_statistics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { as, owner, type Tx } from '../helpers/as-role.ts';
import { migratedTestDatabase, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb, seedAgent, type SeededAgent } from '../helpers/pglite.ts';

const pgSkipReason = await pgSkip();

interface InboxItem {
  id: string;
  session_id: string;
  visitor_id: string | null;
  user_ref: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  message_count: number;
  last_message: { id: string; role: string; content: string; created_at: string } | null;
}
interface Inbox {
  conversations: InboxItem[];
  next: string | null;
}

const inbox = (tx: Tx, agentId: string, limit?: number, before?: string | null, q?: string | null) =>
  tx
    .query<{ r: Inbox | null }>('select public.owner_agent_conversations($1, $2, $3, $4) as r', [agentId, limit ?? null, before ?? null, q ?? null])
    .then((x) => x.rows[0]!.r);

function ownerReadsSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    let db: Db;
    let a: SeededAgent;
    let b: SeededAgent;
    before(async () => {
      o = await open();
      db = o.db;
      a = await seedAgent(db, { ownerEmail: 'inbox-a@example.test' });
      b = await seedAgent(db, { ownerEmail: 'inbox-b@example.test' });
    });
    after(() => o?.cleanup());

    const asA = <T>(fn: (tx: Tx) => Promise<T>) => as(db, owner(a.ownerId), fn);

    async function turn(agent: SeededAgent, sessionId: string, content: string, reply: string | null = 'the reply') {
      const store = new SqlStore(db);
      const begun = await store.beginTurn({
        apiKey: agent.apiKey,
        origin: null,
        clientIp: null,
        sessionId,
        visitorId: `v-${sessionId}`,
        metadata: { page: `/p/${sessionId}` },
        content,
        historyLimit: 20,
        historyChars: 24_000,
      });
      assert.ok(begun.ok);
      if (reply !== null) {
        await store.endTurn({ conversationId: begun.conversationId, userMessageId: begun.userMessageId, content: reply, promptTokens: 5, completionTokens: 6, responseTimeMs: 70 });
      }
      return begun.conversationId;
    }

    it('lists an agent’s conversations, latest activity first, with message count and last message', async () => {
      const first = await turn(a, 'inbox-1', 'first question');
      const second = await turn(a, 'inbox-2', 'second question', null);
      await turn(a, 'inbox-1', 'a follow-up', 'x'.repeat(500)); // activity moves inbox-1 back to the top
      const got = await asA((tx) => inbox(tx, a.agentId));
      assert.deepEqual(got!.conversations.map((c) => c.id), [first, second]);
      const top = got!.conversations[0]!;
      assert.equal(top.session_id, 'inbox-1');
      assert.equal(top.visitor_id, 'v-inbox-1');
      assert.deepEqual(top.metadata, { page: '/p/inbox-1' });
      assert.equal(top.message_count, 4);
      assert.equal(top.last_message!.role, 'assistant');
      assert.equal(top.last_message!.content, 'x'.repeat(200), 'a 200-character preview');
      assert.match(top.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(got!.conversations[1]!.last_message!.content, 'second question');
      assert.equal(got!.conversations[1]!.message_count, 1);
      assert.equal(got!.next, null);
    });

    it('pages through every conversation once with the next cursor', async () => {
      for (let i = 0; i < 7; i++) await turn(a, `page-${i}`, `page question ${i}`);
      const all = await asA((tx) => inbox(tx, a.agentId, 100));
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const page: Inbox = (await asA((tx) => inbox(tx, a.agentId, 3, cursor)))!;
        seen.push(...page.conversations.map((c) => c.id));
        cursor = page.next;
        if (!cursor) break;
      }
      assert.deepEqual(seen, all!.conversations.map((c) => c.id));
    });

    it('finds conversations by a text in any of their messages, case-insensitively, literally', async () => {
      const hit = await turn(a, 'search-1', 'Where is order #A-1234_x?', 'It ships 100% tomorrow');
      await turn(a, 'search-2', 'nothing to see');
      const byUser = await asA((tx) => inbox(tx, a.agentId, 20, null, 'ORDER #a-1234_X'));
      assert.deepEqual(byUser!.conversations.map((c) => c.id), [hit]);
      const byReply = await asA((tx) => inbox(tx, a.agentId, 20, null, '100%'));
      assert.deepEqual(byReply!.conversations.map((c) => c.id), [hit]);
      const wildcard = await asA((tx) => inbox(tx, a.agentId, 20, null, '_'));
      assert.deepEqual(wildcard!.conversations.map((c) => c.id), [hit], '_ and % match themselves only');
      const none = await asA((tx) => inbox(tx, a.agentId, 20, null, 'absent text'));
      assert.deepEqual(none, { conversations: [], next: null });
    });

    it('bounds a search’s work per call and goes on from where it stopped', async () => {
      const c = await seedAgent(db, { ownerEmail: 'inbox-a@example.test' });
      // 1,100 quiet conversations, the only match the oldest: the first call examines 1,000 and says where to go on
      await db.query(
        `with conv as (
           insert into public.conversations (agent_id, session_id, created_at, updated_at)
           select $1, 'bulk-' || i, now() - i * interval '1 minute', now() - i * interval '1 minute'
           from generate_series(1, 1100) i returning id, session_id)
         insert into public.messages (conversation_id, role, content)
         select id, 'user', case when session_id = 'bulk-1100' then 'the needle' else 'hay' end from conv`,
        [c.agentId],
      );
      const first = await asA((tx) => inbox(tx, c.agentId, 20, null, 'needle'));
      assert.deepEqual(first!.conversations, []);
      assert.ok(first!.next, 'a cursor to go on from');
      const second = await asA((tx) => inbox(tx, c.agentId, 20, first!.next, 'needle'));
      assert.deepEqual(second!.conversations.map((x) => x.session_id), ['bulk-1100']);
      assert.equal(second!.next, null);
    });

    it('answers null for an agent the caller cannot see, and refuses bad parameters naming them', async () => {
      await turn(b, 'other-owner', 'private');
      assert.equal(await asA((tx) => inbox(tx, b.agentId)), null);
      assert.equal(await asA((tx) => tx.query<{ r: unknown }>('select public.owner_agent_daily($1, 30) as r', [b.agentId]).then((x) => x.rows[0]!.r)), null);
      for (const [args, field] of [
        [[a.agentId, 0, null, null], 'limit'],
        [[a.agentId, 101, null, null], 'limit'],
        [[a.agentId, 10, 'not-a-cursor', null], 'before'],
        [[a.agentId, 10, null, 'q'.repeat(201)], 'q'],
      ] as const) {
        await assert.rejects(
          asA((tx) => tx.query('select public.owner_agent_conversations($1, $2, $3, $4)', [...args])),
          (err: { code?: string; message?: string }) => err.code === '22023' && (err.message ?? '').startsWith(field),
        );
      }
      await assert.rejects(
        asA((tx) => tx.query('select public.owner_agent_daily($1, 0)', [a.agentId])),
        (err: { code?: string; message?: string }) => err.code === '22023' && (err.message ?? '').startsWith('days'),
      );
    });

    it('gives the daily series for the last N UTC days, oldest first, zeros on quiet days', async () => {
      const d = await seedAgent(db, { ownerEmail: 'inbox-a@example.test' });
      const conv = await turn(d, 'daily-1', 'hello');
      await db.query(
        `insert into public.messages (conversation_id, role, content, tokens_used, response_time_ms, created_at)
         values ($1, 'assistant', 'old reply', 40, 1000, now() - interval '2 days'),
                ($1, 'assistant', 'older reply', 60, 2001, now() - interval '2 days')`,
        [conv],
      );
      const reply = await db.query<{ id: string }>("select id from public.messages where conversation_id = $1 and content = 'the reply'", [conv]);
      await db.query("insert into public.message_feedback (message_id, rating) values ($1, 'down')", [reply.rows[0]!.id]);
      const r = await asA((tx) => tx.query<{ r: { days: Record<string, unknown>[] } }>('select public.owner_agent_daily($1, 5) as r', [d.agentId]));
      const days = r.rows[0]!.r.days;
      const today = new Date().toISOString().slice(0, 10);
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
      assert.equal(days.length, 5);
      assert.equal(days[4]!.day, today);
      assert.deepEqual(days[4], {
        day: today,
        conversations: 1,
        user_messages: 1,
        assistant_messages: 1,
        tokens_used: 11,
        avg_response_time_ms: 70,
        positive_feedback: 0,
        negative_feedback: 1,
      });
      assert.deepEqual(days[2], {
        day: twoDaysAgo,
        conversations: 0,
        user_messages: 0,
        assistant_messages: 2,
        tokens_used: 100,
        avg_response_time_ms: 1500.5,
        positive_feedback: 0,
        negative_feedback: 0,
      });
      assert.deepEqual(days[0], { day: days[0]!.day, conversations: 0, user_messages: 0, assistant_messages: 0, tokens_used: 0, avg_response_time_ms: null, positive_feedback: 0, negative_feedback: 0 });
    });

    it('gives the caller’s statistics as JSON numbers, their agents only', async () => {
      const r = await asA((tx) => tx.query<{ r: { agents: Record<string, unknown>[] } }>('select public.owner_statistics() as r'));
      const agents = r.rows[0]!.r.agents;
      assert.ok(agents.length >= 1);
      assert.ok(agents.every((x) => x.user_id === a.ownerId));
      const mine = agents.find((x) => x.agent_id === a.agentId)!;
      assert.equal(typeof mine.total_messages, 'number');
      assert.ok((mine.total_messages as number) > 0);
      const refused = await as(db, { role: 'anon' }, (tx) => tx.query('select public.owner_statistics()').then(() => 'ran', (e: Error) => e.message));
      assert.match(refused, /permission denied/);
    });
  });
}

ownerReadsSuite('owner reads on PGlite', migratedPgliteDb);
ownerReadsSuite('owner reads on PostgreSQL', () => migratedTestDatabase(), pgSkipReason);
