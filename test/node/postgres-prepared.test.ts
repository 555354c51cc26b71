/**
 * The turn's statements as named prepared statements on real PostgreSQL (src/server/db/postgres.ts): turns
 * work and reuse them, and a server session that does not keep them (what a transaction pooler does: the
 * statement is gone, or another of that name is there) costs nothing but a warning: the turn still runs once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openPostgres, statementName, type PostgresDb } from '../../src/server/db/postgres.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { migratedTestDatabase, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { seedAgent } from '../helpers/pglite.ts';

const skip = await pgSkip();

describe('prepared turn statements on PostgreSQL', { skip }, () => {
  let o: MigratedDb & { url: string };
  let apiKey: string;
  before(async () => {
    o = await migratedTestDatabase({ max: 2 });
    ({ apiKey } = await seedAgent(o.db));
  });
  after(() => o?.cleanup());

  /** One connection, so what the test does to the session is what the next turn meets. */
  function single(): { db: PostgresDb; warnings: string[] } {
    const warnings: string[] = [];
    return { db: openPostgres(o.url, { max: 1, statementTimeoutMs: 10_000, onWarning: (m) => warnings.push(m) }), warnings };
  }

  const turn = async (store: SqlStore, session: string, n: number) => {
    const begun = await store.beginTurn({
      apiKey, origin: null, clientIp: '127.0.0.1', sessionId: session, visitorId: 'v_prep', metadata: {},
      content: `question ${n}`, historyLimit: 20, historyChars: 24_000,
    });
    assert.ok(begun.ok, 'the turn is accepted');
    const sources = n % 2 ? [{ id: '1', title: 'Doc', url: 'https://example.com/doc' }] : null;
    await store.endTurn({
      conversationId: begun.conversationId, userMessageId: begun.userMessageId, content: `answer ${n}`,
      sources, promptTokens: 5, completionTokens: 7, responseTimeMs: 12,
    });
    return begun.conversationId;
  };

  const messages = async (conversationId: string) =>
    (await o.db.query<{ role: string; content: string }>(
      'select role, content from public.messages where conversation_id = $1 order by created_at, id', [conversationId],
    )).rows;

  it('stores turns through statements the connection keeps', async () => {
    const { db, warnings } = single();
    try {
      const store = new SqlStore(db);
      let id = '';
      for (let n = 0; n < 4; n++) id = await turn(store, 's_kept', n);
      const { rows } = await db.query<{ name: string }>('select name from pg_prepared_statements order by name');
      assert.deepEqual(rows.map((r) => r.name.replace(/_[0-9a-z]+$/, '')), ['begin_turn', 'end_turn'], 'named after the function, and the text');
      assert.equal((await messages(id)).length, 8);
      assert.deepEqual(warnings, []);
    } finally {
      await db.close();
    }
  });

  it('runs the turn once, unnamed, when the session lost its statements, and stays unnamed after', async () => {
    const { db, warnings } = single();
    try {
      const store = new SqlStore(db);
      await turn(store, 's_lost', 0);
      await db.query('deallocate all'); // the pooler handed us another server connection
      const id = await turn(store, 's_lost', 2);
      assert.deepEqual((await messages(id)).map((m) => m.content), ['question 0', 'answer 0', 'question 2', 'answer 2'], 'each message once');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] as string, /prepared statements/);
      await db.query('deallocate all');
      await turn(store, 's_lost', 4);
      const { rows } = await db.query('select name from pg_prepared_statements');
      assert.equal(rows.length, 0, 'no named statement any more');
      assert.equal(warnings.length, 1, 'said once');
    } finally {
      await db.close();
    }
  });

  it('runs the turn when the session already has a statement of that name', async () => {
    const { db, warnings } = single();
    try {
      // Another client's statement on a shared server connection, of that name (our name for this text).
      const begin = 'select public.begin_turn($1::text, $2::text, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text, $8::int, $9::int, $10::text, $11::int) as r';
      await db.query(`prepare ${statementName('begin_turn', begin)} as select 1`);
      const id = await turn(new SqlStore(db), 's_taken', 0);
      assert.equal((await messages(id)).length, 2);
      assert.equal(warnings.length, 1);
    } finally {
      await db.close();
    }
  });
});
