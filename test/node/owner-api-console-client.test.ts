/**
 * The console's own API client (src/console/api.ts) and form model (agent-fields.ts) against the real owner
 * API over HTTP (PGlite, local auth): what the console sends is accepted, what it reads is what the server
 * answers, and a refusal names a field of the console's form. The browser tests use a fake API
 * (test/browser/fake-owner-api.ts); this keeps the two honest.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import { NEW_AGENT, changes, draftOf, fieldOf, inputOf, validate } from '../../src/console/agent-fields.ts';
import { OwnerApi, OwnerApiError } from '../../src/console/api.ts';
import { createApp } from '../../src/server/app.ts';
import { loadConfig } from '../../src/server/config.ts';
import type { Db } from '../../src/server/db/db.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { createOwnerApi } from '../../src/server/owner/owner-api.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { insertOwner, type TestOwner } from '../helpers/owners.ts';
import { migratedPglite } from '../helpers/pglite.ts';

describe('the console’s API client against the real owner API (PGlite, local auth)', () => {
  let db: Db;
  let server: Server;
  let endpoint: string;
  let owner: TestOwner;
  let token: string | null = null;
  let api: OwnerApi;

  before(async () => {
    db = await migratedPglite();
    owner = await insertOwner(db, 'console@example.test', 'console password 1');
    const config = loadConfig({});
    const { app } = createApp({ store: new SqlStore(db), upstream: null, config, log: memoryLogger(), owner: createOwnerApi({ config, storage: { db } }) });
    server = createAdaptorServer({ fetch: app.fetch }) as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    api = new OwnerApi(endpoint, async () => token);
  });
  after(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await db?.close();
  });

  it('signs in, and is refused alike for a wrong password', async () => {
    assert.deepEqual(await api.config(), { auth: 'local' });
    const wrong = await api.signIn(owner.email, 'nope').catch((e: unknown) => e);
    assert.ok(wrong instanceof OwnerApiError);
    assert.equal(wrong.code, 'invalid_credentials');
    const t = await api.signIn(owner.email, owner.password);
    assert.equal(t.token_type, 'bearer');
    token = t.access_token;
    assert.deepEqual(await api.me(), { id: owner.id, email: owner.email });
  });

  it('creates with every field of the form, edits with the form’s changes, and reads back the same draft', async () => {
    const draft = {
      ...NEW_AGENT,
      name: 'Console agent',
      instructions: 'Answer in French.',
      temperature: '0.35',
      top_p: '0.9',
      max_tokens: '300',
      allowed_origins: 'https://shop.example\nhttps://*.shop.example',
      rate_limit_session_per_minute: '10',
      rate_limit_ip_per_minute: '0',
      daily_token_budget: '100000',
      retention_days: '90',
      identity_required: true,
      mistral_agent_id: 'ag_0123456789',
    };
    assert.deepEqual(validate(draft), []);
    const created = await api.createAgent(inputOf(draft));
    assert.deepEqual(draftOf(created), draft, 'what the form sent is what the server keeps');
    const edited = { ...draftOf(created), name: 'Renamed', instructions: '', daily_token_budget: '', is_active: false };
    const body = changes(edited, created);
    assert.deepEqual(Object.keys(body).sort(), ['daily_token_budget', 'instructions', 'is_active', 'name']);
    const updated = await api.updateAgent(created.id, body);
    assert.deepEqual(draftOf(updated), edited);
    assert.deepEqual((await api.agents()).map((a) => a.id), [created.id]);

    const rotated = await api.rotateKey(created.id);
    assert.notEqual(rotated.api_key, created.api_key);
    const secret = await api.identitySecret(created.id);
    assert.ok(secret.identity_secret.length >= 32);
    assert.equal((await api.agent(created.id)).has_identity_secret, true);
  });

  it('a server refusal names a field of the form', async () => {
    const [agent] = await api.agents();
    const err = await api.updateAgent(agent!.id, { temperature: 7 }).catch((e: unknown) => e);
    assert.ok(err instanceof OwnerApiError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_request');
    assert.equal(fieldOf(err.field), 'temperature');
    const gone = await api.agent('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    assert.ok(gone instanceof OwnerApiError);
    assert.equal(gone.code, 'not_found');
  });

  it('reads the inbox, a transcript, statistics and the daily series; erases a conversation', async () => {
    const [found] = await api.agents();
    // the edit above switched it off and required visitor identity: open it to anonymous visitors again
    const agent = await api.updateAgent(found!.id, { is_active: true, identity_required: false });
    const store = new SqlStore(db);
    const begun = await store.beginTurn({
      apiKey: agent!.api_key,
      origin: null,
      clientIp: null,
      sessionId: 'console-session-1',
      visitorId: 'console-visitor-1',
      metadata: {},
      content: 'Bonjour ?',
      historyLimit: 20,
      historyChars: 24_000,
    });
    assert.ok(begun.ok);
    await store.endTurn({ conversationId: begun.conversationId, userMessageId: begun.userMessageId, content: 'Bonjour !', promptTokens: 3, completionTokens: 4, responseTimeMs: 50 });
    const inbox = await api.conversations(agent!.id, { limit: 10, q: 'bonjour' });
    assert.deepEqual(inbox.conversations.map((c) => c.id), [begun.conversationId]);
    assert.equal(inbox.next, null);
    const transcript = await api.conversation(begun.conversationId);
    assert.deepEqual(transcript.messages.map((m) => m.content), ['Bonjour ?', 'Bonjour !']);
    const stats = await api.statistics();
    assert.equal(Number(stats.find((s) => s.agent_id === agent!.id)!.total_messages), 2);
    const days = await api.daily(agent!.id, 14);
    assert.equal(days.length, 14);
    assert.equal(days.at(-1)!.assistant_messages, 1);
    await api.deleteConversation(begun.conversationId);
    assert.equal(Number((await api.statistics()).find((s) => s.agent_id === agent!.id)!.total_messages), 0);
    await api.deleteAgent(agent!.id);
    assert.deepEqual(await api.agents(), []);
  });

  it('an expired or missing session answers unauthorized', async () => {
    token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const err = await api.agents().catch((e: unknown) => e);
    assert.ok(err instanceof OwnerApiError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'unauthorized');
  });
});
