/**
 * Maintenance off the visitor's path (migration 00005): run_maintenance prunes stale rate-limit buckets and
 * old token counters in batches, through indexes, one caller at a time; no chat turn prunes anything; the
 * Node timer runs it and survives failures; pg_cron gets a job where it exists; the pg pool's statement
 * timeout frees a connection whose query was abandoned.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { runMaintenance } from '../../src/server/data/maintenance.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { MaintenanceTimer } from '../../src/server/node/maintenance-timer.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { adminUrl, createTestDatabase, migratedTestDatabase, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb, seedAgent } from '../helpers/pglite.ts';

const pgSkipReason = await pgSkip();

/** Stale and live rows for one agent: 5 buckets idle 2 h, 2 used 10 min ago; counters 500, 399 and 0 days old. */
async function seedCounters(db: Pick<Db, 'query'>, agentId: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await db.query("insert into public.rate_limits values ($1, now() - interval '2 hours', 3)", [`s:${agentId}:stale_${i}`]);
  }
  for (let i = 0; i < 2; i++) {
    await db.query("insert into public.rate_limits values ($1, date_trunc('minute', now() - interval '10 minutes'), 3)", [`s:${agentId}:live_${i}`]);
  }
  for (const [age, shards] of [[500, 3], [399, 2], [0, 1]] as const) {
    for (let shard = 0; shard < shards; shard++) {
      await db.query(
        "insert into public.agent_token_usage values ($1, (now() at time zone 'utc')::date - $2::int, $3, 100)",
        [agentId, age, shard],
      );
    }
  }
}

async function counts(db: Pick<Db, 'query'>, agentId: string) {
  const { rows } = await db.query<{ stale: number; live: number; old: number; kept: number }>(
    `select (select count(*)::int from public.rate_limits where bucket like 's:' || $1 || ':stale_%') as stale,
            (select count(*)::int from public.rate_limits where bucket like 's:' || $1 || ':live_%') as live,
            (select count(*)::int from public.agent_token_usage where agent_id = $1::uuid
               and day < (now() at time zone 'utc')::date - 400) as old,
            (select count(*)::int from public.agent_token_usage where agent_id = $1::uuid
               and day >= (now() at time zone 'utc')::date - 400) as kept`,
    [agentId],
  );
  return rows[0]!;
}

function maintenanceSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    let db: Db;
    before(async () => {
      o = await open();
      db = o.db;
    });
    after(() => o?.cleanup());

    it('prunes buckets idle over an hour and counters over 400 days old, in batches, and keeps the rest', async () => {
      const { agentId } = await seedAgent(db);
      await seedCounters(db, agentId);
      const one = await runMaintenance(db, 2);
      assert.equal(one.batches, 1);
      // 00006's tasks (retention, statistics compaction) and 00009's (dead replies in flight) have nothing to do here
      const idle = { expired_conversations: 0, statistics_compaction: 0, inflight_replies: 0 };
      assert.deepEqual(one.removed, { rate_limits: 2, token_usage: 2, ...idle }, 'one call = at most one batch per task');
      const rest = await runMaintenance(db, 2, { untilDone: true });
      assert.deepEqual(rest.removed, { rate_limits: 3, token_usage: 1, ...idle });
      assert.equal(rest.batches, 2, 'stops once no task fills its batch');
      assert.deepEqual(rest.errors, {});
      assert.deepEqual(await counts(db, agentId), { stale: 0, live: 2, old: 0, kept: 3 });
    });

    it('prunes nothing inside a chat turn, whatever the number of turns', async () => {
      const agent = await seedAgent(db);
      await db.query('update public.agents set rate_limit_ip_per_minute = 1000, daily_token_budget = 1000000 where id = $1', [agent.agentId]);
      await seedCounters(db, agent.agentId);
      const store = new SqlStore(db);
      for (let i = 0; i < 30; i++) {
        const turn = await store.beginTurn({
          apiKey: agent.apiKey, origin: null, clientIp: '203.0.113.9', sessionId: `maint_session_${i}`, visitorId: null,
          metadata: {}, content: `hello ${i}`, historyLimit: 10, historyChars: 4000,
        });
        assert.ok(turn.ok);
        await store.endTurn({ conversationId: turn.conversationId, userMessageId: turn.userMessageId, content: 'hi', promptTokens: 3, completionTokens: 2, responseTimeMs: 5 });
      }
      const { kept, ...pruneable } = await counts(db, agent.agentId);
      assert.deepEqual(pruneable, { stale: 5, live: 2, old: 3 }, 'every stale row is still there');
      assert.ok(kept > 4, "today's counters grew");
      const { rows } = await db.query<{ src: string }>(
        "select string_agg(pg_get_functiondef(p.oid), ' ') as src from pg_proc p where p.proname in ('begin_turn', 'end_turn', 'hit_rate_limit')",
      );
      // (end_turn deletes its own row of inflight_replies by primary key since 00009: not a pruning)
      assert.doesNotMatch(rows[0]!.src, /delete\s+from\s+public\.(rate_limits|agent_token_usage)/i, 'no turn function prunes the counters');
      await runMaintenance(db, 1000, { untilDone: true });
      assert.deepEqual(await counts(db, agent.agentId), { stale: 0, live: 2, old: 0, kept });
    });

    it("deletes an agent's token counters with the agent (foreign key, on delete cascade)", async () => {
      const { agentId } = await seedAgent(db);
      await seedCounters(db, agentId);
      await db.query('delete from public.agents where id = $1', [agentId]);
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from public.agent_token_usage where agent_id = $1', [agentId]);
      assert.equal(rows[0]!.n, 0);
      await assert.rejects(
        db.query("insert into public.agent_token_usage values ('00000000-0000-4000-8000-000000000000', current_date, 0, 1)"),
        /foreign key/,
      );
      await runMaintenance(db, 1000, { untilDone: true }); // its rate-limit buckets (no foreign key: idle ones go)
    });

    it('reports a failing task and still runs the others; runs a task a later migration registers', async () => {
      const { agentId } = await seedAgent(db);
      await seedCounters(db, agentId);
      await db.exec(`
        create function public.maintenance_probe_fails(batch_size integer) returns integer
          language plpgsql set search_path = '' as $$ begin raise exception 'probe failure'; end; $$;
        create function public.maintenance_probe_counts(batch_size integer) returns integer
          language sql set search_path = '' as $$ select batch_size - 1 $$;
        insert into public.maintenance_tasks (name, function_name) values
          ('probe_fails', 'public.maintenance_probe_fails'), ('probe_counts', 'public.maintenance_probe_counts');`);
      try {
        const result = await runMaintenance(db, 50);
        assert.deepEqual(result.errors, { probe_fails: 'probe failure' });
        assert.equal(result.removed.probe_counts, 49);
        assert.equal(result.removed.rate_limits, 5, 'the built-in tasks ran too');
        assert.deepEqual(await counts(db, agentId), { stale: 0, live: 2, old: 0, kept: 3 });
      } finally {
        await db.exec(`
          delete from public.maintenance_tasks where name like 'probe_%';
          drop function public.maintenance_probe_fails(integer);
          drop function public.maintenance_probe_counts(integer);`);
      }
    });

    it('refuses a registration that is not a plain public function name, and a batch size below 1', async () => {
      await assert.rejects(
        db.query("insert into public.maintenance_tasks (name, function_name) values ('x', 'public.f(); drop table public.agents; --')"),
        /maintenance_tasks_function_name_check/,
      );
      await assert.rejects(db.query('select public.run_maintenance(0)'), /batch_size must be a positive integer/);
    });

    it('runs from the Node timer, logs what it pruned, and logs (never throws) a failure', async () => {
      const { agentId } = await seedAgent(db);
      await seedCounters(db, agentId);
      const log = memoryLogger();
      let fail = true;
      const timer = new MaintenanceTimer({
        log,
        intervalMs: 20,
        firstDelayMs: 0,
        run: async (stopped) => {
          if (fail) {
            fail = false;
            throw new Error('database hiccup');
          }
          return runMaintenance(db, 1000, { untilDone: true, stopped });
        },
      });
      timer.start();
      for (let i = 0; i < 500 && timer.runs < 2; i++) await new Promise((r) => setTimeout(r, 10));
      await timer.stop();
      assert.ok(timer.runs >= 2, `ran ${timer.runs} times`);
      assert.ok(log.lines.some((l) => l.level === 'warn' && /maintenance failed/.test(l.msg) && l.fields?.error === 'database hiccup'));
      assert.ok(log.lines.some((l) => l.msg === 'maintenance: pruned stale rows'), JSON.stringify(log.lines));
      assert.equal((await counts(db, agentId)).stale, 0);
      const runs = timer.runs;
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(timer.runs, runs, 'nothing runs after stop()');
    });
  });
}

maintenanceSuite('maintenance on PGlite', migratedPgliteDb);
maintenanceSuite('maintenance on PostgreSQL', () => migratedTestDatabase({ max: 4 }), pgSkipReason);

describe('maintenance on PostgreSQL: locks, plans, pg_cron', { skip: pgSkipReason }, () => {
  let o: MigratedDb & { url: string };
  before(async () => {
    o = await migratedTestDatabase({ max: 4 });
  });
  after(() => o?.cleanup());

  it('lets one caller at a time run it: a second one is told it was skipped', async () => {
    const held = await o.db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock(hashtext('mistral-agent-chat:maintenance'))");
      return runMaintenance(o.db, 100, { untilDone: true });
    });
    assert.deepEqual(held, { skipped: true, batches: 0, removed: {}, errors: {} });
    assert.equal((await runMaintenance(o.db, 100)).skipped, false, 'free again once the holder commits');
  });

  it('finds stale rows through the new indexes, not by scanning the tables', async () => {
    await o.db.exec(`
      insert into public.rate_limits
        select 'i:plan:' || g, now() - (g % 120) * interval '1 minute', 1 from generate_series(1, 50000) g;
      analyze public.rate_limits;`);
    const { agentId } = await seedAgent(o.db);
    await o.db.query(
      `insert into public.agent_token_usage
         select $1::uuid, current_date - d, s, 10 from generate_series(0, 999) d, generate_series(0, 15) s`,
      [agentId],
    );
    await o.db.exec('analyze public.agent_token_usage');
    const plan = async (sql: string) => (await o.db.query<{ 'QUERY PLAN': string }>(`explain ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    const buckets = await plan(
      "select bucket from public.rate_limits where window_start < now() - interval '1 hour' order by window_start limit 5000 for update skip locked",
    );
    assert.match(buckets, /Index Scan using idx_rate_limits_window_start/, buckets);
    const counters = await plan(
      "select agent_id, day, shard from public.agent_token_usage where day < current_date - 400 order by day limit 5000 for update skip locked",
    );
    assert.match(counters, /Index Scan using idx_agent_token_usage_day/, counters);
  });

  it('schedules the pg_cron job when pg_cron is installed (a stand-in cron.schedule records the call)', async () => {
    const test = await createTestDatabase();
    const db = openPostgres(test.url, { max: 1 });
    try {
      // pg_cron 1.4+'s named form: cron.schedule(job_name text, schedule text, command text) returns bigint
      await db.exec(`
        create schema cron;
        create table cron.scheduled (job_name text, schedule text, command text);
        create function cron.schedule(job_name text, schedule text, command text) returns bigint language sql
          as $$ insert into cron.scheduled values (job_name, schedule, command); select 1::bigint $$;`);
      await migrate(db);
      const { rows } = await db.query('select * from cron.scheduled');
      assert.deepEqual(rows, [
        { job_name: 'mistral-agent-chat-maintenance', schedule: '* * * * *', command: 'select public.run_maintenance(5000)' },
      ]);
    } finally {
      await db.close();
      await test.drop();
    }
  });
});

/**
 * A stand-in for a pooler that refuses start-up parameters (PgBouncer: "unsupported startup parameter"):
 * forwards bytes to PostgreSQL, except a start-up message carrying statement_timeout, answered with an error.
 */
async function startRefusingPooler(target: URL): Promise<{ url: string; refused: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { refused: 0 };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.once('data', (first) => {
      if (first.includes(Buffer.from('statement_timeout\0'))) {
        state.refused++;
        const fields = Buffer.from('SFATAL\0C08P01\0Munsupported startup parameter: statement_timeout\0\0');
        const head = Buffer.alloc(5);
        head.write('E', 0);
        head.writeInt32BE(fields.length + 4, 1);
        client.end(Buffer.concat([head, fields]));
        return;
      }
      const upstream = connect(Number(target.port || 5432), target.hostname);
      sockets.add(upstream);
      upstream.write(first);
      client.pipe(upstream).pipe(client);
      const end = () => (client.destroy(), upstream.destroy());
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: url.toString(),
    get refused() {
      return state.refused;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the pg pool gives an abandoned query its connection back', { skip: pgSkipReason }, () => {
  it('cancels a statement that outlives the timeout, and the one pooled connection serves the next query', async () => {
    const db = openPostgres(adminUrl, { max: 1, statementTimeoutMs: 300 });
    const sleeper = 'select pg_sleep(30) /* mac-statement-timeout */';
    try {
      await assert.rejects(db.query(sleeper), (err: Error & { code?: string }) => err.code === '57014', 'canceling statement due to statement timeout');
      // The pool's only slot is free at once, and the server is not still running the abandoned query.
      const { rows } = await db.query<{ running: number }>(
        "select count(*)::int as running from pg_stat_activity where query = $1 and state = 'active'",
        [sleeper],
      );
      assert.equal(rows[0]!.running, 0);
    } finally {
      await db.close();
    }
  });

  it("gives the proxy's pool the store call's timeout, and nothing else a statement timeout", async () => {
    const { createRuntime } = await import('../../src/server/runtime.ts');
    const { STORE_TIMEOUT_MS } = await import('../../src/server/http/store-call.ts');
    const rt = await createRuntime({ DATABASE_URL: adminUrl, MISTRAL_API_KEY: 'unused' }, { log: memoryLogger() });
    const plain = openPostgres(adminUrl, { max: 1 });
    try {
      const setting = "select current_setting('statement_timeout') as t";
      assert.equal((await rt.db!.query<{ t: string }>(setting)).rows[0]!.t, `${STORE_TIMEOUT_MS / 1000}s`);
      assert.equal((await plain.query<{ t: string }>(setting)).rows[0]!.t, '0', 'the CLI and migrations run unbounded');
    } finally {
      await rt.close();
      await plain.close();
    }
  });

  it('behind a pooler that refuses start-up parameters, warns once and works without the server-side limit', async () => {
    const pooler = await startRefusingPooler(new URL(adminUrl));
    const warnings: string[] = [];
    const db = openPostgres(pooler.url, { max: 2, statementTimeoutMs: 300, onWarning: (m) => warnings.push(m) });
    try {
      const results = await Promise.all([db.query<{ one: number }>('select 1 as one'), db.query<{ one: number }>('select 1 as one')]);
      assert.deepEqual(results.map((r) => r.rows[0]!.one), [1, 1]);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, /refuses the statement_timeout start-up parameter/);
      // Still bounded on our side: the client gives up 2 s after the timeout and drops the connection.
      const started = Date.now();
      await assert.rejects(db.query('select pg_sleep(30) /* mac-refusing-pooler */'), /Query read timeout/);
      assert.ok(Date.now() - started < 10_000);
      assert.deepEqual((await db.query<{ one: number }>('select 1 as one')).rows, [{ one: 1 }], 'the pool serves the next query');
    } finally {
      await db.close();
      await pooler.close();
      // the cancelled client's backend may still be sleeping: end it
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where query like '%mac-refusing-pooler */' and pid <> pg_backend_pid()");
      await admin.end();
    }
  });
});
