import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import type { BeginTurnInput } from '../../src/server/store/store.ts';
import { migratedPglite, seedAgent } from '../helpers/pglite.ts';

// The widget's Retry re-sends the visitor's last message after a failed turn. The database must not
// count those words twice: honest statistics, and a history sent to Mistral without the message doubled.
describe('a retried message is stored once', () => {
  let db: Db;
  let store: SqlStore;
  let apiKey: string;
  let n = 0;
  const turn = (content: string, sessionId: string): BeginTurnInput => ({
    apiKey,
    origin: null,
    clientIp: null,
    sessionId,
    visitorId: null,
    metadata: {},
    content,
    historyLimit: 20,
    historyChars: 10_000,
  });
  const session = () => `retry-session-${++n}`;
  const userRows = async (sessionId: string) =>
    (
      await db.query<{ content: string }>(
        `select m.content from public.messages m join public.conversations c on c.id = m.conversation_id
         where c.session_id = $1 and m.role = 'user' order by m.created_at`,
        [sessionId],
      )
    ).rows.map((r) => r.content);

  before(async () => {
    db = await migratedPglite();
    store = new SqlStore(db);
    ({ apiKey } = await seedAgent(db));
  });
  after(() => store.close());

  it('reuses the unanswered message when the same text is sent again', async () => {
    const s = session();
    const first = await store.beginTurn(turn('What are your opening hours?', s));
    const retry = await store.beginTurn(turn('What are your opening hours?', s));
    assert.ok(first.ok && retry.ok);
    assert.equal(retry.userMessageId, first.userMessageId);
    assert.deepEqual(retry.history, [{ role: 'user', content: 'What are your opening hours?' }]);
    assert.deepEqual(await userRows(s), ['What are your opening hours?']);
  });

  it('stores the same words again once they were answered', async () => {
    const s = session();
    const first = await store.beginTurn(turn('Thanks', s));
    assert.ok(first.ok);
    await store.endTurn({
      conversationId: first.conversationId,
      userMessageId: first.userMessageId,
      content: 'You are welcome.',
      promptTokens: 3,
      completionTokens: 4,
      responseTimeMs: 10,
    });
    const again = await store.beginTurn(turn('Thanks', s));
    assert.ok(again.ok);
    assert.notEqual(again.userMessageId, first.userMessageId);
    assert.deepEqual(await userRows(s), ['Thanks', 'Thanks']);
  });

  it('stores a different message as a new one', async () => {
    const s = session();
    await store.beginTurn(turn('first try', s));
    await store.beginTurn(turn('second, reworded', s));
    assert.deepEqual(await userRows(s), ['first try', 'second, reworded']);
  });

  it('does not reuse a message of another session', async () => {
    const a = session();
    const b = session();
    const ra = await store.beginTurn(turn('same words', a));
    const rb = await store.beginTurn(turn('same words', b));
    assert.ok(ra.ok && rb.ok);
    assert.notEqual(ra.userMessageId, rb.userMessageId);
  });
});
