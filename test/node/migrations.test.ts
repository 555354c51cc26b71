/**
 * supabase/migrations applied by our migrate(): idempotent, safe when two processes start at once,
 * recorded like the Supabase CLI, and the resulting catalog matches the given schema document.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { listMigrations, migrate, splitStatements } from '../../src/server/db/migrate.ts';
import { openDb } from '../../src/server/db/open.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { createTestDatabase, pgSkip, migratedTestDatabase, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb, seedAgent } from '../helpers/pglite.ts';

const pgSkipReason = await pgSkip();
const versions = (await listMigrations()).map((m) => m.version);

type Col = [name: string, type: string, nullable: 'YES' | 'NO', defaultPattern?: RegExp];

// The seed document's columns, in order, with the types and defaults it implies.
const TABLES: Record<string, Col[]> = {
  agents: [
    ['id', 'uuid', 'NO', /gen_random_uuid\(\)/],
    ['user_id', 'uuid', 'NO'],
    ['name', 'character varying(255)', 'NO'],
    ['role', 'character varying(255)', 'NO', /'assistant'/],
    ['instructions', 'text', 'YES'],
    ['model', 'character varying(100)', 'NO', /'mistral-small-latest'/],
    ['temperature', 'numeric(3,2)', 'YES', /0\.7/],
    ['max_tokens', 'integer', 'YES', /^\d+$/],
    ['top_p', 'numeric(3,2)', 'YES', /^1(\.0+)?$/],
    ['api_key', 'character varying(500)', 'NO'],
    ['is_active', 'boolean', 'NO', /true/],
    ['created_at', 'timestamp with time zone', 'NO', /now\(\)/],
    ['updated_at', 'timestamp with time zone', 'NO', /now\(\)/],
  ],
  conversations: [
    ['id', 'uuid', 'NO', /gen_random_uuid\(\)/],
    ['agent_id', 'uuid', 'NO'],
    ['session_id', 'character varying(255)', 'NO'],
    ['visitor_id', 'character varying(255)', 'YES'],
    ['metadata', 'jsonb', 'NO', /'\{\}'::jsonb/],
    ['created_at', 'timestamp with time zone', 'NO', /now\(\)/],
    ['updated_at', 'timestamp with time zone', 'NO', /now\(\)/],
  ],
  messages: [
    ['id', 'uuid', 'NO', /gen_random_uuid\(\)/],
    ['conversation_id', 'uuid', 'NO'],
    ['role', 'character varying(50)', 'NO'],
    ['content', 'text', 'NO'],
    ['tokens_used', 'integer', 'YES'],
    ['response_time_ms', 'integer', 'YES'],
    ['created_at', 'timestamp with time zone', 'NO', /now\(\)/],
  ],
};

const SEED_INDEXES = [
  'idx_agents_user_id',
  'idx_agents_api_key',
  'idx_conversations_agent_id',
  'idx_conversations_session_id',
  'idx_messages_conversation_id',
  'idx_messages_created_at',
];

// Seed indexes no query uses, dropped by 00006 (README "Operations" has the numbers), and what serves
// those tables' queries instead.
const DROPPED_SEED_INDEXES = [
  'idx_conversations_agent_id',
  'idx_conversations_session_id',
  'idx_messages_conversation_id',
  'idx_messages_created_at',
];
const SERVING_INDEXES = [
  'conversations_agent_id_session_id_key',
  'idx_conversations_agent_id_updated_at',
  'idx_conversations_agent_id_created_at',
  'idx_messages_conversation_id_created_at',
];

const VIEW_COLUMNS = [
  'agent_id',
  'user_id',
  'name',
  'total_conversations',
  'total_messages',
  'user_messages',
  'assistant_messages',
  'total_tokens_used',
  'avg_response_time_ms',
  'last_conversation_date',
  // wave 2 (00006)
  'positive_feedback',
  'negative_feedback',
];

const PROXY_FUNCTIONS = ['agent_by_key', 'begin_turn', 'end_turn', 'session_history'];
/** Migration 00005: what schedulers (the Node timer, pg_cron) call. */
const MAINTENANCE_FUNCTIONS = ['run_maintenance', 'prune_rate_limits', 'prune_token_usage'];

function catalogSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    let db: Db;
    before(async () => {
      o = await open();
      db = o.db;
    });
    after(() => o?.cleanup());

    it('records every migration like the Supabase CLI, and a second run applies nothing', async () => {
      const { rows } = await db.query<{ version: string; name: string; statements: string[] }>(
        'select version, name, statements from supabase_migrations.schema_migrations order by version',
      );
      assert.deepEqual(
        rows.map((r) => r.version),
        versions,
      );
      assert.deepEqual(rows.slice(0, 2).map((r) => r.name), ['initial_schema', 'proxy_functions']);
      for (const r of rows) assert.ok(r.statements.length > 0, `statements recorded for ${r.version}`);
      assert.ok(rows[0]!.statements.some((s) => s.includes('create table public.agents (')));
      assert.deepEqual(await migrate(db), { applied: [] });
    });

    for (const [table, cols] of Object.entries(TABLES)) {
      it(`creates public.${table} with the documented columns and types`, async () => {
        const { rows } = await db.query<{ column_name: string; type: string; is_nullable: string; column_default: string | null }>(
          `select column_name, is_nullable, column_default,
                  case when data_type = 'character varying' then data_type || '(' || character_maximum_length || ')'
                       when data_type = 'numeric' then data_type || '(' || numeric_precision || ',' || numeric_scale || ')'
                       else data_type end as type
           from information_schema.columns
           where table_schema = 'public' and table_name = $1
           order by ordinal_position`,
          [table],
        );
        const byName = new Map(rows.map((r) => [r.column_name, r]));
        for (const [col, type, nullable, def] of cols) {
          const actual = byName.get(col);
          assert.ok(actual, `${table}.${col} exists`);
          assert.equal(actual.type, type, `${table}.${col} type`);
          assert.equal(actual.is_nullable, nullable, `${table}.${col} nullability`);
          if (def) assert.match(actual.column_default ?? '', def, `${table}.${col} default`);
        }
        assert.deepEqual(
          rows.slice(0, cols.length).map((r) => r.column_name),
          cols.map((c) => c[0]),
          'documented columns come first, in order',
        );
      });
    }

    it('creates every index of the document, the api key one unique, and later drops only the unused ones', async () => {
      const { rows } = await db.query<{ indexname: string; indexdef: string }>(
        "select indexname, indexdef from pg_indexes where schemaname = 'public'",
      );
      const names = new Map(rows.map((r) => [r.indexname, r.indexdef]));
      const recorded = await db.query<{ statements: string[] }>(
        "select statements from supabase_migrations.schema_migrations where version = '00001'",
      );
      const initial = recorded.rows[0]!.statements.join('\n');
      for (const idx of SEED_INDEXES) assert.ok(initial.includes(`create index ${idx} `), `00001 creates ${idx}`);
      for (const idx of SEED_INDEXES) assert.equal(names.has(idx), !DROPPED_SEED_INDEXES.includes(idx), `index ${idx}`);
      for (const idx of SERVING_INDEXES) assert.ok(names.has(idx), `index ${idx}`);
      assert.match(names.get('idx_agents_api_key')!, /^CREATE UNIQUE INDEX/);
      const unique = await db.query<{ def: string }>(
        `select pg_get_constraintdef(oid) as def from pg_constraint
         where conrelid = 'public.conversations'::regclass and contype = 'u'`,
      );
      assert.ok(unique.rows.some((r) => r.def === 'UNIQUE (agent_id, session_id)'), 'one conversation per session');
    });

    it('links auth.users → agents → conversations → messages (and agents → token counters) with cascading deletes', async () => {
      const { rows } = await db.query<{ child: string; parent: string; on_delete: string }>(
        `select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent, c.confdeltype::text as on_delete
         from pg_constraint c where c.contype = 'f' and c.connamespace = 'public'::regnamespace order by 1`,
      );
      assert.deepEqual(
        rows.map((r) => [r.child.replace(/^public\./, ''), r.parent.replace(/^public\./, ''), r.on_delete]),
        [
          ['agent_token_usage', 'agents', 'c'],
          ['agents', 'auth.users', 'c'],
          ['conversations', 'agents', 'c'],
          // a reply in flight goes with its conversation (00009)
          ['inflight_replies', 'conversations', 'c'],
          ['message_feedback', 'messages', 'c'],
          ['messages', 'conversations', 'c'],
        ],
      );
    });

    it('sets updated_at on every update of agents and conversations', async () => {
      const a = await seedAgent(db);
      const agent = await db.query<{ updated_at: Date }>(
        "update public.agents set name = 'Renamed', updated_at = '2000-01-01' where id = $1 returning updated_at",
        [a.agentId],
      );
      assert.ok(new Date(agent.rows[0]!.updated_at).getFullYear() > 2000, 'agents.updated_at set by the trigger');
      const conv = await db.query<{ id: string }>(
        "insert into public.conversations (agent_id, session_id) values ($1, 'trigger_session') returning id",
        [a.agentId],
      );
      const updated = await db.query<{ updated_at: Date }>(
        "update public.conversations set visitor_id = 'v', updated_at = '2000-01-01' where id = $1 returning updated_at",
        [conv.rows[0]!.id],
      );
      assert.ok(new Date(updated.rows[0]!.updated_at).getFullYear() > 2000, 'conversations.updated_at set by the trigger');
      const triggers = await db.query<{ tgrelid: string }>(
        `select tgrelid::regclass::text as tgrelid from pg_trigger
         where not tgisinternal and tgfoid = 'public.update_updated_at_column'::regproc order by 1`,
      );
      assert.deepEqual(triggers.rows.map((r) => r.tgrelid.replace(/^public\./, '')), ['agents', 'conversations', 'message_feedback']);
    });

    it('creates agent_statistics with the documented columns, as a security_invoker view', async () => {
      const { rows } = await db.query<{ column_name: string }>(
        `select column_name from information_schema.columns
         where table_schema = 'public' and table_name = 'agent_statistics' order by ordinal_position`,
      );
      assert.deepEqual(rows.map((r) => r.column_name), VIEW_COLUMNS);
      const rel = await db.query<{ relkind: string; reloptions: string[] | null }>(
        "select relkind::text, reloptions from pg_class where oid = 'public.agent_statistics'::regclass",
      );
      assert.equal(rel.rows[0]?.relkind, 'v');
      assert.ok(rel.rows[0]?.reloptions?.includes('security_invoker=true'), 'RLS of the tables applies through the view');
    });

    it('enables row level security on every public table, with owner policies', async () => {
      const { rows } = await db.query<{ relname: string; relrowsecurity: boolean }>(
        "select relname, relrowsecurity from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'",
      );
      assert.ok(rows.length >= 3);
      for (const r of rows) assert.equal(r.relrowsecurity, true, `RLS on ${r.relname}`);
      const policies = await db.query<{ tablename: string; cmd: string; roles: string }>(
        "select tablename, cmd, roles::text as roles from pg_policies where schemaname = 'public' order by 1, 2",
      );
      const seen = policies.rows.map((p) => `${p.tablename}:${p.cmd}:${p.roles}`);
      for (const expected of [
        'agents:SELECT:{authenticated}',
        'agents:INSERT:{authenticated}',
        'agents:UPDATE:{authenticated}',
        'agents:DELETE:{authenticated}',
        'conversations:SELECT:{authenticated}',
        'messages:SELECT:{authenticated}',
      ]) {
        assert.ok(seen.includes(expected), `policy ${expected}`);
      }
    });

    it('pins search_path on every public function and lets only the service role run them', async () => {
      const { rows } = await db.query<{
        proname: string;
        proconfig: string[] | null;
        prosecdef: boolean;
        is_trigger: boolean;
        anon: boolean;
        authenticated: boolean;
        service_role: boolean;
      }>(
        `select p.proname, p.proconfig, p.prosecdef, p.prorettype = 'trigger'::regtype as is_trigger,
                has_function_privilege('anon', p.oid, 'execute') as anon,
                has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
                has_function_privilege('service_role', p.oid, 'execute') as service_role
         from pg_proc p where p.pronamespace = 'public'::regnamespace`,
      );
      const names = rows.map((r) => r.proname);
      for (const fn of [...PROXY_FUNCTIONS, ...MAINTENANCE_FUNCTIONS, 'update_updated_at_column']) assert.ok(names.includes(fn), `function ${fn}`);
      for (const r of rows) {
        assert.ok(r.proconfig?.includes('search_path=""'), `${r.proname} pins search_path`);
        assert.equal(r.prosecdef, false, `${r.proname} is security invoker`);
        if (!r.is_trigger) {
          assert.equal(r.anon, false, `anon cannot execute ${r.proname}`);
          // the owner API's reads run as the owner, under RLS
          assert.equal(r.authenticated, r.proname.startsWith('owner_'), `authenticated may execute ${r.proname}`);
        }
      }
      for (const fn of [...PROXY_FUNCTIONS, ...MAINTENANCE_FUNCTIONS]) {
        assert.equal(rows.find((r) => r.proname === fn)?.service_role, true, `service_role runs ${fn}`);
      }
    });

    it('gives auth.uid() null when claims are unset or empty, and the subject otherwise', async () => {
      const sub = '6f1f4c2e-8d3a-4b8e-9a56-0c2b1e7d9f10';
      const out = await db.transaction(async (tx) => {
        const unset = await tx.query<{ uid: string | null }>('select auth.uid() as uid');
        await tx.query("select set_config('request.jwt.claims', '', true)");
        const empty = await tx.query<{ uid: string | null }>('select auth.uid() as uid');
        await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub, role: 'authenticated' })]);
        const set = await tx.query<{ uid: string | null; role: string | null }>('select auth.uid() as uid, auth.role() as role');
        return { unset: unset.rows[0]?.uid, empty: empty.rows[0]?.uid, set: set.rows[0] };
      });
      assert.equal(out.unset, null);
      assert.equal(out.empty, null);
      assert.deepEqual(out.set, { uid: sub, role: 'authenticated' });
      const roles = await db.query<{ rolname: string; rolbypassrls: boolean; rolcanlogin: boolean }>(
        "select rolname, rolbypassrls, rolcanlogin from pg_roles where rolname in ('anon', 'authenticated', 'service_role') order by 1",
      );
      assert.deepEqual(
        roles.rows.map((r) => [r.rolname, r.rolbypassrls, r.rolcanlogin]),
        [
          ['anon', false, false],
          ['authenticated', false, false],
          ['service_role', true, false],
        ],
      );
    });
  });
}

catalogSuite('migrated schema on PGlite', migratedPgliteDb);
catalogSuite('migrated schema on PostgreSQL', () => migratedTestDatabase(), pgSkipReason);

/** Both calls succeed, each migration is applied by exactly one of them, and recorded once. */
async function assertConcurrentMigrateAppliesOnce(a: Db, b: Db) {
  const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
  assert.deepEqual([...ra.applied, ...rb.applied].sort(), versions);
  const { rows } = await a.query<{ version: string }>('select version from supabase_migrations.schema_migrations order by 1');
  assert.deepEqual(rows.map((r) => r.version), versions);
  assert.deepEqual(await migrate(a), { applied: [] });
}

describe('migrate on a fresh PGlite data directory', () => {
  it('applies each migration once when two migrate() calls start together, and keeps data across restarts', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mac-pglite-'));
    const dataDir = join(root, 'nested', 'data');
    try {
      const first = await openDb({ dataDir });
      let agentId: string;
      try {
        await assertConcurrentMigrateAppliesOnce(first, first);
        agentId = (await seedAgent(first)).agentId;
      } finally {
        await first.close();
      }
      const reopened = await openDb({ dataDir });
      try {
        assert.deepEqual(await migrate(reopened), { applied: [] });
        const { rows } = await reopened.query('select 1 from public.agents where id = $1', [agentId]);
        assert.equal(rows.length, 1);
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('migrate on a fresh PostgreSQL database', { skip: pgSkipReason }, () => {
  it('applies each migration once when two processes migrate at the same moment', async () => {
    const test = await createTestDatabase();
    const a = openPostgres(test.url);
    const b = openPostgres(test.url);
    try {
      await assertConcurrentMigrateAppliesOnce(a, b);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await test.drop();
    }
  });

  it('leaves an existing auth schema (Supabase) alone', async () => {
    const test = await createTestDatabase();
    const db = openPostgres(test.url);
    try {
      await db.exec(`
        create schema auth;
        create table auth.users (id uuid primary key default gen_random_uuid(), email text unique);
        create function auth.uid() returns uuid language sql stable as $$ select '00000000-0000-0000-0000-000000000001'::uuid $$;
      `);
      assert.deepEqual(await migrate(db), { applied: versions });
      const { rows } = await db.query<{ uid: string }>('select auth.uid()::text as uid');
      assert.equal(rows[0]?.uid, '00000000-0000-0000-0000-000000000001');
    } finally {
      await db.close();
      await test.drop();
    }
  });

  it('rolls a failing migration back entirely and keeps the ones before it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mac-migrations-'));
    const test = await createTestDatabase();
    const db = openPostgres(test.url);
    try {
      await writeFile(join(dir, '00001_first.sql'), 'create table public.first_table (id int);\n');
      await writeFile(join(dir, '00002_broken.sql'), 'create table public.second_table (id int);\nselect 1 / 0;\n');
      await assert.rejects(migrate(db, { dir }), /division by zero/);
      const { rows } = await db.query<{ first: string | null; second: string | null; versions: string[] }>(
        `select to_regclass('public.first_table')::text as first, to_regclass('public.second_table')::text as second,
                array(select version from supabase_migrations.schema_migrations order by 1) as versions`,
      );
      assert.deepEqual(rows[0], { first: 'first_table', second: null, versions: ['00001'] });
    } finally {
      await db.close();
      await test.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('splitStatements', () => {
  it('splits at top-level semicolons only, like the CLI records statements', () => {
    const sql = `-- header; comment
create table t (a text default 'x;y');
create function f() returns int language sql as $$ select 1; $$;
/* block; comment */
select 'it''s; fine';`;
    assert.deepEqual(splitStatements(sql), [
      "-- header; comment\ncreate table t (a text default 'x;y');",
      'create function f() returns int language sql as $$ select 1; $$;',
      "/* block; comment */\nselect 'it''s; fine';",
    ]);
  });

  // The old comment-only check backtracked 2^lines times: with it, this test never finishes.
  it('splits a file with a long header comment (a 40-line header used to hang the migration)', () => {
    const header = Array.from({ length: 200 }, (_, i) => `-- line ${i} of a long header; with words`).join('\n');
    assert.deepEqual(splitStatements(`${header}\ncreate table t (a int);\n-- only a comment;\n`), [`${header}\ncreate table t (a int);`]);
  });
});
