/**
 * Row level security as an owner's dashboard would meet it (Supabase `authenticated` with a JWT `sub`)
 * and as an anonymous visitor would (`anon`): owners see and change only their own data, anon sees
 * nothing, and nobody but the service role can call the proxy's functions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { pgSkip, migratedTestDatabase, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb, seedAgent, type SeededAgent } from '../helpers/pglite.ts';

const pgSkipReason = await pgSkip();

type Tx = Pick<Db, 'query' | 'exec'>;
type Who = { role: 'anon' } | { role: 'authenticated'; sub: string };

class Rollback<T> {
  constructor(readonly value: T) {}
}

/** Runs `fn` as a Supabase client role would, in a transaction that is always rolled back. */
async function as<T>(db: Db, who: Who, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    await db.transaction(async (tx) => {
      if (who.role === 'authenticated') {
        await tx.query("select set_config('request.jwt.claims', $1, true)", [
          JSON.stringify({ sub: who.sub, role: 'authenticated' }),
        ]);
      }
      await tx.exec(`set local role ${who.role}`);
      throw new Rollback(await fn(tx));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.value as T;
    throw err;
  }
  throw new Error('unreachable');
}

const ids = async (tx: Tx, sql: string, params: unknown[] = []) =>
  (await tx.query<{ id: string }>(sql, params)).rows.map((r) => r.id).sort();

function rlsSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    let db: Db;
    let A: SeededAgent & { conversationId: string; messageIds: string[] };
    let B: SeededAgent & { conversationId: string; messageIds: string[] };

    const withTurn = async (agent: SeededAgent) => {
      const store = new SqlStore(db);
      const r = await store.beginTurn({
        apiKey: agent.apiKey,
        origin: null,
        clientIp: null,
        sessionId: 'shared_session_id',
        visitorId: null,
        metadata: {},
        content: 'hello',
        historyLimit: 20,
        historyChars: 24000,
      });
      assert.ok(r.ok);
      const done = await store.endTurn({
        conversationId: r.conversationId,
        userMessageId: r.userMessageId,
        content: 'hi',
        promptTokens: 10,
        completionTokens: 3,
        responseTimeMs: 50,
      });
      return { ...agent, conversationId: r.conversationId, messageIds: [r.userMessageId, done.messageId].sort() };
    };

    before(async () => {
      o = await open();
      db = o.db;
      A = await withTurn(await seedAgent(db, { ownerEmail: 'owner-a@example.test', name: 'Agent A' }));
      B = await withTurn(await seedAgent(db, { ownerEmail: 'owner-b@example.test', name: 'Agent B' }));
    });
    after(() => o?.cleanup());

    const asA = <T>(fn: (tx: Tx) => Promise<T>) => as(db, { role: 'authenticated', sub: A.ownerId }, fn);

    it('shows an owner only their own agents, conversations, messages and statistics', async () => {
      const seen = await asA(async (tx) => ({
        agents: await ids(tx, 'select id from public.agents'),
        conversations: await ids(tx, 'select id from public.conversations'),
        messages: await ids(tx, 'select id from public.messages'),
        stats: (
          await tx.query<{ agent_id: string; total_messages: string | number; total_tokens_used: string | number }>(
            'select agent_id, total_messages, total_tokens_used from public.agent_statistics',
          )
        ).rows,
      }));
      assert.deepEqual(seen.agents, [A.agentId]);
      assert.deepEqual(seen.conversations, [A.conversationId]);
      assert.deepEqual(seen.messages, A.messageIds);
      assert.deepEqual(
        seen.stats.map((s) => [s.agent_id, Number(s.total_messages), Number(s.total_tokens_used)]),
        [[A.agentId, 2, 13]],
      );
    });

    it('lets an owner create, rename and delete their own agent', async () => {
      const created = await asA((tx) =>
        ids(tx, "insert into public.agents (user_id, name, api_key) values ($1, 'New', 'mac_new_key_a') returning id", [
          A.ownerId,
        ]),
      );
      assert.equal(created.length, 1);
      const renamed = await asA((tx) => ids(tx, "update public.agents set name = 'Renamed' where id = $1 returning id", [A.agentId]));
      assert.deepEqual(renamed, [A.agentId]);
      const deleted = await asA((tx) => ids(tx, 'delete from public.agents where id = $1 returning id', [A.agentId]));
      assert.deepEqual(deleted, [A.agentId]);
    });

    it('refuses an agent created for another owner', async () => {
      await assert.rejects(
        asA((tx) =>
          tx.query("insert into public.agents (user_id, name, api_key) values ($1, 'Sneaky', 'mac_sneaky_key')", [B.ownerId]),
        ),
        /row-level security/,
      );
    });

    it('leaves another owner’s agent untouched by update and delete', async () => {
      const updated = await asA((tx) =>
        ids(tx, "update public.agents set name = 'Pwned', is_active = false where id = $1 returning id", [B.agentId]),
      );
      const deleted = await asA((tx) => ids(tx, 'delete from public.agents where id = $1 returning id', [B.agentId]));
      assert.deepEqual(updated, []);
      assert.deepEqual(deleted, []);
      const { rows } = await db.query<{ name: string; is_active: boolean }>('select name, is_active from public.agents where id = $1', [
        B.agentId,
      ]);
      assert.deepEqual(rows, [{ name: 'Agent B', is_active: true }]);
    });

    it('refuses handing an agent over to another owner', async () => {
      await assert.rejects(
        asA((tx) => tx.query('update public.agents set user_id = $1 where id = $2', [B.ownerId, A.agentId])),
        /row-level security/,
      );
    });

    it('refuses owners writing conversations or messages directly (the proxy writes them)', async () => {
      await assert.rejects(
        asA((tx) =>
          tx.query("insert into public.conversations (agent_id, session_id) values ($1, 'direct_session')", [A.agentId]),
        ),
        /row-level security/,
      );
      const edited = await asA((tx) => ids(tx, "update public.messages set content = 'edited' returning id"));
      assert.deepEqual(edited, []);
    });

    it('shows nothing to a signed-in user who owns no agent', async () => {
      const stranger = '11111111-2222-4333-8444-555555555555';
      const seen = await as(db, { role: 'authenticated', sub: stranger }, async (tx) => [
        await ids(tx, 'select id from public.agents'),
        await ids(tx, 'select id from public.conversations'),
        await ids(tx, 'select id from public.messages'),
        await ids(tx, 'select agent_id as id from public.agent_statistics'),
      ]);
      assert.deepEqual(seen, [[], [], [], []]);
    });

    it('shows anon nothing in any table and refuses it the statistics view', async () => {
      const seen = await as(db, { role: 'anon' }, async (tx) => [
        await ids(tx, 'select id from public.agents'),
        await ids(tx, 'select id from public.conversations'),
        await ids(tx, 'select id from public.messages'),
      ]);
      assert.deepEqual(seen, [[], [], []]);
      await assert.rejects(
        as(db, { role: 'anon' }, (tx) => tx.query('select * from public.agent_statistics')),
        /permission denied/,
      );
    });

    it('shows an owner the feedback on their own agents’ replies only, and lets only the proxy write it', async () => {
      // the assistant reply of each seeded turn gets a rating, written as the proxy does (service role)
      const replyOf = async (agent: typeof A) =>
        (
          await db.query<{ id: string }>(
            "select id from public.messages where conversation_id = $1 and role = 'assistant'",
            [agent.conversationId],
          )
        ).rows[0]!.id;
      const [replyA, replyB] = [await replyOf(A), await replyOf(B)];
      await db.query("insert into public.message_feedback (message_id, rating) values ($1, 'up'), ($2, 'down')", [replyA, replyB]);
      try {
        const seen = await asA((tx) => ids(tx, 'select message_id as id from public.message_feedback'));
        assert.deepEqual(seen, [replyA]);
        await assert.rejects(
          asA((tx) => tx.query("insert into public.message_feedback (message_id, rating) values ($1, 'down')", [A.messageIds[0]])),
          /permission denied/,
        );
        const changed = await asA(async (tx) => {
          try {
            return await ids(tx, "update public.message_feedback set rating = 'down' returning message_id as id");
          } catch (err) {
            return String(err);
          }
        });
        assert.match(String(changed), /permission denied/);
        const anon = await as(db, { role: 'anon' }, async (tx) => {
          try {
            return await ids(tx, 'select message_id as id from public.message_feedback');
          } catch (err) {
            return String(err);
          }
        });
        assert.match(String(anon), /permission denied/);
      } finally {
        await db.query('delete from public.message_feedback where message_id in ($1, $2)', [replyA, replyB]);
      }
    });

    it('shows an owner only their own agents’ statistics counters and daily series, and lets no client write them', async () => {
      const seen = await asA(async (tx) => ({
        counters: [...new Set((await tx.query<{ agent_id: string }>('select agent_id from public.agent_statistics_counters')).rows.map((r) => r.agent_id))],
        daily: [...new Set((await tx.query<{ agent_id: string }>('select agent_id from public.agent_daily_statistics')).rows.map((r) => r.agent_id))],
      }));
      assert.deepEqual(seen, { counters: [A.agentId], daily: [A.agentId] });
      const write = await asA((tx) => tx.query('update public.agent_statistics_counters set conversations = 99').then(() => 'wrote', (e: Error) => e.message));
      assert.match(write, /permission denied/);
      for (const table of ['agent_statistics_counters', 'agent_daily_statistics']) {
        const anon = await as(db, { role: 'anon' }, (tx) => tx.query(`select * from public.${table}`).then(() => 'read', (e: Error) => e.message));
        assert.match(anon, /permission denied/, table);
      }
    });

    it('lets an owner delete their own agents’ conversations only', async () => {
      const mine = await withTurn(await seedAgent(db, { ownerEmail: 'owner-a@example.test', name: 'Agent A2' }));
      const other = await asA((tx) => ids(tx, 'delete from public.conversations where id = $1 returning id', [B.conversationId]));
      assert.deepEqual(other, []);
      const own = await asA((tx) => ids(tx, 'delete from public.conversations where id = $1 returning id', [mine.conversationId]));
      assert.deepEqual(own, [mine.conversationId]);
      const left = await db.query('select 1 from public.conversations where id = $1', [B.conversationId]);
      assert.equal(left.rows.length, 1, 'the other owner’s conversation is still there');
    });

    for (const role of ['anon', 'authenticated'] as const) {
      it(`refuses ${role} the proxy functions`, async () => {
        const who: Who = role === 'anon' ? { role } : { role, sub: A.ownerId };
        const calls = [
          ['agent_by_key', 'select public.agent_by_key($1)', [A.apiKey]],
          [
            'begin_turn',
            'select public.begin_turn($1, null, null, $2, null, $3::jsonb, $4, 20, 24000)',
            [A.apiKey, 'rls_session', '{}', 'hi'],
          ],
          [
            'end_turn',
            'select public.end_turn($1, $2, $3, 1, 1, 1)',
            [A.conversationId, A.messageIds[0], 'forged'],
          ],
          ['session_history', 'select public.session_history($1, $2, 10)', [A.agentId, 'shared_session_id']],
          ['purge_expired_conversations', 'select public.purge_expired_conversations(10)', []],
          ['erase_visitor', 'select public.erase_visitor($1, $2)', [A.agentId, 'v']],
          ['rebuild_agent_statistics', 'select public.rebuild_agent_statistics()', []],
          ['compact_agent_statistics', 'select public.compact_agent_statistics(10)', []],
        ] as const;
        for (const [fn, sql, params] of calls) {
          await assert.rejects(as(db, who, (tx) => tx.query(sql, [...params])), /permission denied for function/, fn);
        }
      });
    }
  });
}

rlsSuite('row level security on PostgreSQL', () => migratedTestDatabase(), pgSkipReason);

rlsSuite('row level security on PGlite', migratedPgliteDb);
