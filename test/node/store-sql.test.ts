/** SqlStore on embedded PGlite and on real PostgreSQL: the shared Store behaviour plus SQL-level checks. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { migratedTestDatabase, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb, seedAgent } from '../helpers/pglite.ts';
import { storeSuite, type StoreFixture } from './store.suite.ts';

const pgSkipReason = await pgSkip();

const openRealPg = () => migratedTestDatabase({ max: 20 });

function fixture(open: () => Promise<MigratedDb>): () => Promise<StoreFixture> {
  return async () => {
    const { db, cleanup } = await open();
    return {
      store: new SqlStore(db),
      seed: (opts = {}) => seedAgent(db, opts),
      db,
      cleanup,
    };
  };
}

storeSuite('SqlStore on PGlite', fixture(migratedPgliteDb));
storeSuite('SqlStore on PostgreSQL', fixture(openRealPg), { skip: pgSkipReason });

function sqlChecks(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    let store: SqlStore;
    before(async () => {
      o = await open();
      store = new SqlStore(o.db);
    });
    after(() => o?.cleanup());

    it('reports which database it runs on', () => {
      assert.equal(store.kind, o.db.kind);
    });

    it('counts billed tokens in agent_statistics: prompt plus completion', async () => {
      const a = await seedAgent(o.db);
      for (const [prompt, completion, ms] of [
        [100, 20, 300],
        [150, 30, 500],
      ] as const) {
        const r = await store.beginTurn({
          apiKey: a.apiKey,
          origin: 'https://shop.example',
          clientIp: '203.0.113.9',
          sessionId: 'stats_session_1',
          visitorId: null,
          metadata: {},
          content: 'How much?',
          historyLimit: 20,
          historyChars: 24000,
        });
        assert.ok(r.ok);
        await store.endTurn({
          conversationId: r.conversationId,
          userMessageId: r.userMessageId,
          content: 'This much.',
          promptTokens: prompt,
          completionTokens: completion,
          responseTimeMs: ms,
        });
      }
      const { rows } = await o.db.query<Record<string, unknown>>(
        'select * from public.agent_statistics where agent_id = $1',
        [a.agentId],
      );
      const s = rows[0]!;
      assert.equal(Number(s.total_conversations), 1);
      assert.equal(Number(s.total_messages), 4);
      assert.equal(Number(s.user_messages), 2);
      assert.equal(Number(s.assistant_messages), 2);
      assert.equal(Number(s.total_tokens_used), 100 + 20 + 150 + 30);
      assert.equal(Number(s.avg_response_time_ms), 400, 'the average over replies (user messages carry none)');
    });

    it('deletes an owner’s agents, conversations and messages with the owner', async () => {
      const a = await seedAgent(o.db);
      const r = await store.beginTurn({
        apiKey: a.apiKey,
        origin: null,
        clientIp: null,
        sessionId: 'cascade_session',
        visitorId: null,
        metadata: {},
        content: 'bye',
        historyLimit: 20,
        historyChars: 24000,
      });
      assert.ok(r.ok);
      await o.db.query('delete from auth.users where id = $1', [a.ownerId]);
      const { rows } = await o.db.query<{ n: number }>(
        `select (select count(*) from public.agents where id = $1)
              + (select count(*) from public.conversations where id = $2)
              + (select count(*) from public.messages where id = $3) as n`,
        [a.agentId, r.conversationId, r.userMessageId],
      );
      assert.equal(Number(rows[0]?.n), 0);
    });

    it('rejects a second agent with the same key and a message role other than user/assistant', async () => {
      const a = await seedAgent(o.db);
      await assert.rejects(seedAgent(o.db, { apiKey: a.apiKey }), /duplicate key|unique/);
      const r = await store.beginTurn({
        apiKey: a.apiKey,
        origin: null,
        clientIp: null,
        sessionId: 'role_check_session',
        visitorId: null,
        metadata: {},
        content: 'x',
        historyLimit: 20,
        historyChars: 24000,
      });
      assert.ok(r.ok);
      await assert.rejects(
        o.db.query("insert into public.messages (conversation_id, role, content) values ($1, 'system', 'x')", [
          r.conversationId,
        ]),
        /messages_role_check/,
      );
    });
  });
}

sqlChecks('SQL rows behind SqlStore on PGlite', migratedPgliteDb);
sqlChecks('SQL rows behind SqlStore on PostgreSQL', openRealPg, pgSkipReason);
