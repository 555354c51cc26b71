/**
 * SupabaseStore → supabase-js → the PostgREST RPC double → the real SQL functions on a fresh database
 * (real PostgreSQL when reachable, else PGlite behind the double). The shared Store suite, then what is
 * specific to going through PostgREST: keys, named parameters, one HTTP call per step, failures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { SupabaseStore } from '../../src/server/store/supabase-store.ts';
import { createTestDatabase, pgAvailable } from '../helpers/pg.ts';
import { migratedPglite, seedAgent } from '../helpers/pglite.ts';
import { startRpcDouble, type RpcDouble } from '../helpers/rpc-double.ts';
import { storeSuite, type StoreFixture } from './store.suite.ts';

const realPg = await pgAvailable();
const dbLabel = realPg ? 'real PostgreSQL' : 'PGlite (PostgreSQL unreachable)';

interface Backend {
  db: Db;
  double: RpcDouble;
  cleanup(): Promise<void>;
}

async function openBackend(): Promise<Backend> {
  let db: Db;
  let drop = async () => {};
  if (realPg) {
    const test = await createTestDatabase();
    db = openPostgres(test.url, { max: 10 });
    drop = test.drop;
    try {
      await migrate(db);
    } catch (err) {
      await db.close();
      await drop();
      throw err;
    }
  } else {
    db = await migratedPglite();
  }
  const double = await startRpcDouble({ db });
  return {
    db,
    double,
    cleanup: async () => {
      await double.close();
      await db.close();
      await drop();
    },
  };
}

storeSuite(`SupabaseStore through the PostgREST RPC double on ${dbLabel}`, async (): Promise<StoreFixture> => {
  const b = await openBackend();
  return {
    store: new SupabaseStore({ url: b.double.url, key: b.double.serviceKey }),
    seed: (opts = {}) => seedAgent(b.db, opts),
    db: b.db,
    cleanup: b.cleanup,
  };
});

describe(`SupabaseStore over PostgREST specifics on ${dbLabel}`, () => {
  let b: Backend;
  let store: SupabaseStore;
  before(async () => {
    b = await openBackend();
    store = new SupabaseStore({ url: b.double.url, key: b.double.serviceKey });
  });
  after(() => b?.cleanup());

  const turnInput = (apiKey: string, sessionId: string) => ({
    apiKey,
    origin: 'https://shop.example',
    clientIp: '203.0.113.7',
    sessionId,
    visitorId: 'visitor_12345678',
    metadata: { page: '/pricing' },
    content: 'Hello there',
    historyLimit: 20,
    historyChars: 24000,
  });

  it('makes exactly one HTTP call per step of a chat turn', async () => {
    const a = await seedAgent(b.db);
    const before = b.double.calls.length;
    const r = await store.beginTurn(turnInput(a.apiKey, 'one_call_session'));
    assert.ok(r.ok);
    await store.endTurn({
      conversationId: r.conversationId,
      userMessageId: r.userMessageId,
      content: 'Hi!',
      promptTokens: 12,
      completionTokens: 3,
      responseTimeMs: 41.6,
    });
    const history = await store.history(a.agentId, 'one_call_session', 50);
    assert.deepEqual(
      history.map((m) => [m.role, m.content]),
      [
        ['user', 'Hello there'],
        ['assistant', 'Hi!'],
      ],
    );
    assert.deepEqual(
      b.double.calls.slice(before).map((c) => [c.fn, c.status]),
      [
        ['begin_turn', 200],
        ['end_turn', 200],
        ['session_history', 200],
      ],
    );
  });

  it('sends every argument by the name the SQL function declares', async () => {
    const a = await seedAgent(b.db);
    const before = b.double.calls.length;
    await store.beginTurn(turnInput(a.apiKey, 'named_args_session'));
    const call = b.double.calls[before]!;
    assert.deepEqual(Object.keys(call.args).sort(), [
      'p_api_key',
      'p_client_ip',
      'p_content',
      'p_history_chars',
      'p_history_limit',
      'p_metadata',
      'p_origin',
      'p_reply_limit_ms',
      'p_session_id',
      'p_user_ref',
      'p_visitor_id',
    ]);
    assert.deepEqual(call.args.p_metadata, { page: '/pricing' }, 'metadata travels as JSON, not as a string');
  });

  it('stores billed tokens and the response time as integers', async () => {
    const a = await seedAgent(b.db);
    const r = await store.beginTurn(turnInput(a.apiKey, 'tokens_session'));
    assert.ok(r.ok);
    const { messageId } = await store.endTurn({
      conversationId: r.conversationId,
      userMessageId: r.userMessageId,
      content: 'Reply',
      promptTokens: 120,
      completionTokens: 30,
      responseTimeMs: 812.4,
    });
    const { rows } = await b.db.query<{ id: string; tokens_used: number; response_time_ms: number | null }>(
      'select id, tokens_used, response_time_ms from public.messages where id = any($1::uuid[]) order by created_at, id',
      [[r.userMessageId, messageId]],
    );
    assert.deepEqual(
      rows.map((m) => [m.id, m.tokens_used, m.response_time_ms]),
      [
        [r.userMessageId, 120, null],
        [messageId, 30, 812],
      ],
    );
  });

  it('refuses to work with a wrong service key, as PostgREST does', async () => {
    const wrong = new SupabaseStore({ url: b.double.url, key: 'sb_secret_wrong' });
    await assert.rejects(wrong.agentByKey('mac_whatever'), /PGRST301|Invalid API key/);
    await assert.rejects(wrong.ping(), /Invalid API key/);
  });

  it('fails the health check and every step when the database is unreachable', async () => {
    b.double.setDown(true);
    try {
      await assert.rejects(store.ping(), /PGRST000/);
      await assert.rejects(store.beginTurn(turnInput('mac_x', 'down_session')), /PGRST000/);
    } finally {
      b.double.setDown(false);
    }
    await assert.doesNotReject(store.ping());
  });

  it('throws when nothing listens at SUPABASE_URL', async () => {
    const nowhere = new SupabaseStore({ url: 'http://127.0.0.1:9', key: b.double.serviceKey });
    await assert.rejects(nowhere.ping());
  });
});

describe(`The PostgREST RPC double itself on ${dbLabel}`, () => {
  let b: Backend;
  before(async () => {
    b = await openBackend();
  });
  after(() => b?.cleanup());

  const post = (fn: string, body: unknown, key = b.double.serviceKey) =>
    fetch(`${b.double.url}/rest/v1/rpc/${fn}`, {
      method: 'POST',
      headers: { apikey: key, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers 404 PGRST202 for a renamed parameter, like PostgREST', async () => {
    const res = await post('agent_by_key', { api_key: 'mac_x' });
    assert.equal(res.status, 404);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.code, 'PGRST202');
    assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'hint', 'message']);
  });

  it('answers 404 PGRST202 for an unknown function', async () => {
    const res = await post('no_such_function', {});
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'PGRST202');
  });

  it('answers 401 without the service key', async () => {
    const res = await post('agent_by_key', { p_api_key: 'mac_x' }, 'not-the-key');
    assert.equal(res.status, 401);
  });

  it('maps SQL errors to PostgREST statuses with the SQLSTATE as code', async () => {
    const res = await post('end_turn', {
      p_conversation_id: 'not-a-uuid',
      p_user_message_id: 'also-not',
      p_content: 'x',
      p_prompt_tokens: 1,
      p_completion_tokens: 1,
      p_response_time_ms: 1,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, '22P02');
  });

  it('runs the functions as service_role: another role is refused with 403', async () => {
    const anon = await startRpcDouble({ db: b.db, role: 'anon' });
    try {
      const res = await fetch(`${anon.url}/rest/v1/rpc/agent_by_key`, {
        method: 'POST',
        headers: { apikey: anon.serviceKey, authorization: `Bearer ${anon.serviceKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ p_api_key: 'mac_x' }),
      });
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { code: string }).code, '42501');
    } finally {
      await anon.close();
    }
  });
});
