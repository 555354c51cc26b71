/**
 * Retention (purge_expired_conversations) and erasure (erase_visitor): what they delete, what they keep,
 * that statistics stay equal to the seed query over what remains, that only the service role may call
 * them, and (PostgreSQL) that a purge skips rows a turn holds instead of waiting for it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runMaintenance } from '../../src/server/data/maintenance.ts';
import type { Db } from '../../src/server/db/db.ts';
import { as, owner } from '../helpers/as-role.ts';
import { migratedTestDatabase, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb, seedAgent, type SeededAgent } from '../helpers/pglite.ts';
import { assertStatisticsExact } from '../helpers/statistics.ts';

const pgSkipReason = await pgSkip();

/** A conversation with two messages and a rating, last active `idleDays` ago. */
async function conversation(db: Db, agent: SeededAgent, sessionId: string, idleDays: number, visitorId: string | null = null): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into public.conversations (agent_id, session_id, visitor_id, created_at, updated_at)
     values ($1, $2, $3, now() - ($4 + 1) * interval '1 day', now() - $4 * interval '1 day') returning id`,
    [agent.agentId, sessionId, visitorId, idleDays],
  );
  const id = rows[0]!.id;
  const m = await db.query<{ id: string }>(
    `insert into public.messages (conversation_id, role, content, tokens_used, response_time_ms, created_at)
     values ($1, 'user', 'hello', 12, null, now() - ($2 + 1) * interval '1 day'),
            ($1, 'assistant', 'hi', 30, 800, now() - ($2 + 1) * interval '1 day') returning id`,
    [id, idleDays],
  );
  await db.query("insert into public.message_feedback (message_id, rating) values ($1, 'up')", [m.rows[1]!.id]);
  return id;
}

const existing = async (db: Db, ids: string[]) =>
  (await db.query<{ id: string }>('select id from public.conversations where id = any($1::uuid[]) order by id', [ids])).rows.map((r) => r.id);

function retentionSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    let db: Db;
    before(async () => {
      o = await open();
      db = o.db;
    });
    after(() => o?.cleanup());

    it('purges conversations idle longer than their agent’s retention, in batches, and keeps the rest', async () => {
      const kept30 = await seedAgent(db);
      const forever = await seedAgent(db);
      await db.query('update public.agents set retention_days = 30 where id = $1', [kept30.agentId]);
      const old = [];
      for (let i = 0; i < 5; i++) old.push(await conversation(db, kept30, `old-${i}`, 31 + i));
      const recent = await conversation(db, kept30, 'recent', 29);
      const ancient = await conversation(db, forever, 'ancient', 900);
      await assertStatisticsExact(db, 'before the purge');

      const purge = (n: number) => db.query<{ n: number }>('select public.purge_expired_conversations($1) as n', [n]).then((r) => r.rows[0]!.n);
      assert.equal(await purge(2), 2, 'at most batch_size');
      await assertStatisticsExact(db, 'after one batch');
      assert.equal(await purge(2), 2);
      assert.equal(await purge(2), 1, 'less than batch_size: done');
      assert.equal(await purge(2), 0);
      assert.deepEqual(await existing(db, [...old, recent, ancient]), [recent, ancient].sort());
      assert.equal((await db.query('select 1 from public.messages m join public.conversations c on c.id = m.conversation_id where c.id = any($1::uuid[])', [old])).rows.length, 0);
      await assertStatisticsExact(db, 'after the purge');
    });

    it('runs as a scheduled maintenance task (the Node server’s timer, pg_cron, `mistral-agent-chat maintenance`)', async () => {
      const a = await seedAgent(db);
      await db.query('update public.agents set retention_days = 3 where id = $1', [a.agentId]);
      const expired = [await conversation(db, a, 'task-1', 4), await conversation(db, a, 'task-2', 5), await conversation(db, a, 'task-3', 6)];
      const result = await runMaintenance(db, 2, { untilDone: true });
      assert.deepEqual(result.errors, {});
      assert.equal(result.removed.expired_conversations, 3);
      assert.ok('statistics_compaction' in result.removed);
      assert.deepEqual(await existing(db, expired), []);
      await assertStatisticsExact(db, 'after the scheduled purge');
    });

    it('counts idleness from the last turn: a turn on an old conversation keeps it', async () => {
      const a = await seedAgent(db);
      await db.query('update public.agents set retention_days = 7 where id = $1', [a.agentId]);
      const c = await conversation(db, a, 'revived', 10);
      // begin_turn's upsert bumps updated_at (the update trigger), as end_turn does
      const r = await db.query<{ r: { ok: boolean } }>(
        "select public.begin_turn($1, null, null, 'revived', null, '{}'::jsonb, 'back again', 20, 24000) as r",
        [a.apiKey],
      );
      assert.equal(r.rows[0]!.r.ok, true);
      await db.query('select public.purge_expired_conversations(100)');
      assert.deepEqual(await existing(db, [c]), [c]);
    });

    it('erases one visitor’s conversations with one agent, and nothing else', async () => {
      const a = await seedAgent(db);
      const other = await seedAgent(db);
      const mine = [await conversation(db, a, 'erase-1', 0, 'visitor-42'), await conversation(db, a, 'erase-2', 3, 'visitor-42')];
      const keep = [await conversation(db, a, 'erase-3', 0, 'visitor-7'), await conversation(db, other, 'erase-4', 0, 'visitor-42')];
      const n = await db.query<{ n: number }>('select public.erase_visitor($1, $2) as n', [a.agentId, 'visitor-42']);
      assert.equal(n.rows[0]!.n, 2);
      assert.deepEqual(await existing(db, [...mine, ...keep]), [...keep].sort());
      await assertStatisticsExact(db, 'after erasure');
      const again = await db.query<{ n: number }>('select public.erase_visitor($1, $2) as n', [a.agentId, 'visitor-42']);
      assert.equal(again.rows[0]!.n, 0);
    });

    it('lets only the service role purge and erase', async () => {
      const a = await seedAgent(db);
      for (const who of [{ role: 'anon' } as const, owner(a.ownerId)]) {
        for (const sql of ['select public.purge_expired_conversations(10)', `select public.erase_visitor('${a.agentId}', 'v')`]) {
          await assert.rejects(as(db, who, (tx) => tx.query(sql)), /permission denied for function/);
        }
      }
      const ran = await as(db, { role: 'service_role' }, async (tx) => {
        await tx.query('select public.purge_expired_conversations(10)');
        await tx.query('select public.erase_visitor($1, $2)', [a.agentId, 'v']);
        return true;
      });
      assert.equal(ran, true);
      await assert.rejects(db.query('select public.purge_expired_conversations(0)'), /batch_size/);
    });
  });
}

retentionSuite('retention and erasure on PGlite', migratedPgliteDb);
retentionSuite('retention and erasure on PostgreSQL', () => migratedTestDatabase(), pgSkipReason);

describe('retention purge beside live turns on PostgreSQL', { skip: pgSkipReason }, () => {
  let o: MigratedDb & { url: string };
  before(async () => {
    o = await migratedTestDatabase();
  });
  after(() => o?.cleanup());

  it('skips a conversation a transaction holds instead of waiting, and takes it on a later call', async () => {
    const a = await seedAgent(o.db);
    await o.db.query('update public.agents set retention_days = 1 where id = $1', [a.agentId]);
    const held = await conversation(o.db, a, 'held', 5);
    const free = await conversation(o.db, a, 'free', 5);
    const turn = new pg.Client({ connectionString: o.url });
    await turn.connect();
    try {
      await turn.query('begin');
      await turn.query('select 1 from public.conversations where id = $1 for update', [held]);
      // a purge that waited would hit this timeout instead of answering
      const purged = await o.db.transaction(async (tx) => {
        await tx.query("set local lock_timeout = '2s'");
        return (await tx.query<{ n: number }>('select public.purge_expired_conversations(10) as n')).rows[0]!.n;
      });
      assert.equal(purged, 1);
      assert.deepEqual(await existing(o.db, [held, free]), [held]);
      await turn.query('commit');
      const later = await o.db.query<{ n: number }>('select public.purge_expired_conversations(10) as n');
      assert.equal(later.rows[0]!.n, 1);
      await assertStatisticsExact(o.db, 'after purging around a held row');
    } finally {
      await turn.end();
    }
  });
});
