/** createRuntime: which storage and which model an environment gets, and what it says about it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryLogger } from '../../src/server/log.ts';
import { createRuntime, storageMode } from '../../src/server/runtime.ts';

const SUPABASE = {
  SUPABASE_URL: 'http://127.0.0.1:9',
  SUPABASE_SECRET_KEYS: '{"default":"sb_secret_x"}',
  SUPABASE_DB_URL: 'postgres://postgres@127.0.0.1:9/postgres',
};

describe('Choosing the storage from the environment', () => {
  it('uses supabase-js on Supabase Edge, where SUPABASE_URL, the secret keys and SUPABASE_DB_URL are all set', () => {
    assert.equal(storageMode(SUPABASE), 'supabase');
  });

  it('accepts the legacy service-role key and the single secret key too', () => {
    assert.equal(storageMode({ SUPABASE_URL: 'https://x.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'eyJ…' }), 'supabase');
    assert.equal(storageMode({ SUPABASE_URL: 'https://x.supabase.co', SUPABASE_SECRET_KEY: 'sb_secret_y' }), 'supabase');
  });

  it('lets an explicit DATABASE_URL win over Supabase', () => {
    assert.equal(storageMode({ ...SUPABASE, DATABASE_URL: 'postgres://u@h:6543/postgres' }), 'postgres');
  });

  it('falls back to SUPABASE_DB_URL with pg when there is no key, and to PGlite with nothing', () => {
    assert.equal(storageMode({ SUPABASE_URL: 'https://x.supabase.co', SUPABASE_DB_URL: SUPABASE.SUPABASE_DB_URL }), 'postgres');
    assert.equal(storageMode({}), 'pglite');
  });
});

describe('createRuntime', () => {
  it('builds a SupabaseStore without touching the network, and no model when the offline demo is off', async () => {
    const log = memoryLogger();
    const rt = await createRuntime(SUPABASE, { log, offlineDemo: false });
    try {
      assert.equal(rt.store.kind, 'supabase');
      assert.equal(rt.db, null);
      assert.equal(rt.upstream, null);
      assert.ok(
        log.lines.some((l) => l.level === 'error' && /MISTRAL_API_KEY/.test(l.msg)),
        'says why chats will answer 503',
      );
    } finally {
      await rt.close();
    }
  });

  it('warns loudly when it answers from the offline demo model', async () => {
    const log = memoryLogger();
    const rt = await createRuntime(SUPABASE, { log });
    try {
      assert.equal(rt.upstream?.kind, 'offline-demo');
      assert.ok(log.lines.some((l) => l.level === 'warn' && /OFFLINE DEMO/.test(l.msg)));
    } finally {
      await rt.close();
    }
  });

  it('talks to Mistral when MISTRAL_API_KEY is set, without logging the key', async () => {
    const log = memoryLogger();
    const rt = await createRuntime({ ...SUPABASE, MISTRAL_API_KEY: 'sk-secret-value' }, { log, offlineDemo: false });
    try {
      assert.equal(rt.upstream?.kind, 'mistral');
      assert.ok(!JSON.stringify(log.lines).includes('sk-secret-value'));
      assert.ok(!JSON.stringify(log.lines).includes('sb_secret_x'));
    } finally {
      await rt.close();
    }
  });

  it('uses embedded PGlite in DATA_DIR when nothing else is configured', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'mac-runtime-'));
    const rt = await createRuntime({ DATA_DIR: dir }, { log: memoryLogger(), migrate: true });
    try {
      assert.equal(rt.store.kind, 'pglite');
      assert.ok(rt.db);
      assert.equal(await rt.store.agentByKey('mac_nobody'), null, 'the migrated functions answer');
    } finally {
      await rt.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
