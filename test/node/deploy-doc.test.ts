/**
 * The SQL that docs/deploy-supabase.md tells owners to paste into Supabase's SQL editor, run verbatim
 * (bar the owner's email) on our migrated schema: it must create a working agent, set its allowed
 * origins, and read the statistics.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { API_KEY_PATTERN } from '../../src/server/keys.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { migratedPglite } from '../helpers/pglite.ts';

const doc = await readFile(new URL('../../docs/deploy-supabase.md', import.meta.url), 'utf8');
const sqlBlocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
const block = (needle: string) => {
  const found = sqlBlocks.filter((b) => b.includes(needle));
  assert.equal(found.length, 1, `exactly one sql block of the guide contains "${needle}"`);
  return found[0]!;
};

describe('The SQL of the Supabase deployment guide', () => {
  let db: Db;
  let store: SqlStore;
  before(async () => {
    db = await migratedPglite();
    store = new SqlStore(db);
    await db.query("insert into auth.users (id, email) values (gen_random_uuid(), 'you@example.com')");
  });
  after(() => db?.close());

  let agent: { id: string; api_key: string };

  it('creates an agent whose widget key has the format the CLI issues and works with the proxy', async () => {
    const { rows } = await db.query<{ id: string; api_key: string }>(block('insert into public.agents'));
    assert.equal(rows.length, 1);
    agent = rows[0]!;
    assert.match(agent.api_key, API_KEY_PATTERN);
    const found = await store.agentByKey(agent.api_key);
    assert.equal(found?.name, 'Support');
    assert.equal(found?.is_active, true);
  });

  it('restricts the agent to the listed sites', async () => {
    await db.query(block('set allowed_origins'));
    const found = await store.agentByKey(agent.api_key);
    assert.deepEqual(found?.allowed_origins, ['https://shop.example', 'https://*.shop.example']);
  });

  it('reads conversations, messages and billed tokens per agent', async () => {
    const r = await store.beginTurn({
      apiKey: agent.api_key,
      origin: 'https://shop.example',
      clientIp: null,
      sessionId: 'doc_stats_session',
      visitorId: null,
      metadata: {},
      content: 'Do you ship to Lyon?',
      historyLimit: 20,
      historyChars: 24000,
    });
    assert.ok(r.ok, JSON.stringify(r));
    await store.endTurn({
      conversationId: r.conversationId,
      userMessageId: r.userMessageId,
      content: 'Yes.',
      promptTokens: 40,
      completionTokens: 2,
      responseTimeMs: 300,
    });
    const { rows } = await db.query<Record<string, unknown>>(block('from public.agent_statistics'));
    const row = rows.find((s) => s.name === 'Support');
    assert.ok(row);
    assert.equal(Number(row.total_conversations), 1);
    assert.equal(Number(row.total_messages), 2);
    assert.equal(Number(row.total_tokens_used), 42);
    assert.equal(Number(row.avg_response_ms), 300);
  });
});
