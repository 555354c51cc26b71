/**
 * Part "data" (issue 11): the database at 10 M messages in PostgreSQL.
 *   data.statistics_ms   one owner's `select * from agent_statistics` as that owner (RLS on), p50/p99
 *   data.inbox_ms        an agent's first inbox page (owner_agent_conversations, 50 rows) as its owner
 *   data.http_statistics_ms, data.http_inbox_ms  the same two through the real app (GET /v1/owner/…), biggest owner
 *   data.turn_cost_ratio PostgreSQL CPU per turn on the 10 M database over an empty one (same schema)
 *   data.purge_rows_per_s rows (conversations, messages, ratings) a retention purge removes per second
 * and beside them: the seed view's cost for the same owner (the "before"), exactness against the seed
 * query over all 10 M messages, a search page, the daily series, the cost of 00006 on a turn (empty
 * databases with and without it, the "within 10 % of today's" figure), and exactness after the purge.
 * The databases are dropped at the end (--keep-data keeps them); BENCH_DATA_MESSAGES sets the size.
 */
import { mkdtemp, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { listMigrations, migrate } from '../../src/server/db/migrate.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../../test/helpers/pg.ts';
import { seedAgent } from '../../test/helpers/pglite.ts';
import { REFERENCE_STATISTICS_SQL, SEED_STATISTICS_QUERY, VIEW_STATISTICS_SQL } from '../../test/helpers/statistics.ts';
import type { BenchContext, Part } from '../lib/part.ts';
import { quantiles, round } from '../lib/stats.ts';
import { generateData } from './data-generate.ts';
import { ownerHttpTimes } from './data-http.ts';
import { compareTurnsTwice, type TurnTarget } from './data-turns.ts';

const STATISTICS_VERSION = '00006';

/** Migrates `url` with every migration, or only those whose version `only` accepts. */
async function migrateTo(url: string, only?: (version: string) => boolean): Promise<void> {
  const db = openPostgres(url, { max: 2 });
  let dir: string | undefined;
  try {
    if (only) {
      dir = await mkdtemp(join(tmpdir(), 'mac-bench-migrations-'));
      for (const m of await listMigrations()) if (only(m.version)) await copyFile(m.path, join(dir, `${m.version}_${m.name}.sql`));
    }
    await migrate(db, dir ? { dir } : {});
  } finally {
    await db.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** A key for turns with the limits on but high, as the proxy bench sets them. */
async function turnAgent(url: string, label: string): Promise<TurnTarget> {
  const db = openPostgres(url, { max: 1 });
  try {
    const agent = await seedAgent(db, { name: `turns ${label}` });
    await db.query(
      'update public.agents set rate_limit_session_per_minute = 1000000, rate_limit_ip_per_minute = 1000000, daily_token_budget = 2000000000 where id = $1',
      [agent.agentId],
    );
    return { label, url, apiKey: agent.apiKey };
  } finally {
    await db.close();
  }
}

/** Times `sql` as `ownerId` (authenticated, RLS on), `times` times; ms of the statement alone. */
async function asOwner(client: pg.Client, ownerId: string, sql: string, params: unknown[], times = 1): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    await client.query('begin');
    try {
      await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: ownerId, role: 'authenticated' })]);
      await client.query('set local role authenticated');
      const t0 = performance.now();
      await client.query(sql, params);
      out.push(performance.now() - t0);
    } finally {
      await client.query('rollback');
    }
  }
  return out;
}

const q = (xs: number[]) => {
  const x = quantiles(xs);
  return { p50: round(x.p50, 2), p99: round(x.p99, 2), n: x.n };
};
const fmt = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);

async function run(ctx: BenchContext): Promise<void> {
  if (!(await pgAvailable())) throw new Error('PostgreSQL unreachable at 127.0.0.1:5432 (set TEST_PG_URL): the data part needs it');
  const n = Number(process.env.BENCH_DATA_MESSAGES ?? (ctx.short ? 300_000 : 10_000_000));
  const keep = ctx.args.includes('--keep-data');
  const samples = ctx.short ? 3 : 6;
  const dbs: TestDatabase[] = [];
  const out: Record<string, unknown> = {};
  ctx.results.data = out;
  let c: pg.Client | undefined;
  try {
    const big = await createTestDatabase();
    dbs.push(big);
    await migrateTo(big.url);
    c = new pg.Client({ connectionString: big.url });
    await c.connect();
    await c.query("set work_mem = '256MB'");

    ctx.say(`  generating ${n.toLocaleString('en')} messages`);
    const gen = await generateData(c, n);
    out.dataset = gen;
    out.messages = gen.messages;
    ctx.say(`  ${gen.messages} messages, ${gen.conversations} conversations, ${gen.agents} agents, ${gen.owners} owners, ${gen.ratings} ratings in ${gen.seconds} s (${(gen.bytes / 2 ** 30).toFixed(1)} GiB)`);

    // exact: the view equals the seed's query over everything
    let t0 = performance.now();
    const expected = (await c.query(REFERENCE_STATISTICS_SQL)).rows;
    const seedAllMs = performance.now() - t0;
    const actual = (await c.query(VIEW_STATISTICS_SQL)).rows;
    out.exact = JSON.stringify(expected) === JSON.stringify(actual);
    out.seed_query_all_ms = round(seedAllMs, 0);
    ctx.say(`  agent_statistics equals the seed query over all ${gen.agents} agents: ${out.exact} (the seed query: ${fmt(seedAllMs)})`);
    if (!out.exact) throw new Error('agent_statistics differs from the seed query at scale');

    // whom to ask: the biggest agent and its owner, and random others
    const biggest = (
      await c.query<{ agent_id: string; user_id: string }>(
        `select a.id as agent_id, a.user_id from public.agents a join public.conversations c on c.agent_id = a.id
         group by a.id order by count(*) desc limit 1`,
      )
    ).rows[0]!;
    const owners = [biggest.user_id, ...(await c.query<{ id: string }>('select user_id as id from public.agents order by random() limit 40')).rows.map((r) => r.id)];
    const agents = [
      biggest,
      ...(
        await c.query<{ agent_id: string; user_id: string }>(
          `select a.id as agent_id, a.user_id from public.agents a
           where exists (select 1 from public.conversations c where c.agent_id = a.id) order by random() limit 40`,
        )
      ).rows,
    ];

    const stats: number[] = [];
    for (const o of owners) stats.push(...(await asOwner(c, o, 'select * from public.agent_statistics', [], samples)));
    out.statistics_ms = q(stats);
    const biggestStats = q(await asOwner(c, biggest.user_id, 'select * from public.agent_statistics', [], samples * 3));
    out.statistics_biggest_owner_ms = biggestStats;

    // the "before": the seed view and the seed's messages policy, for the biggest owner
    const policy = (
      await c.query<{ qual: string }>(
        "select pg_get_expr(polqual, polrelid) as qual from pg_policy where polname = 'Owners can view messages of their agents'",
      )
    ).rows[0]!.qual;
    await c.query(`create view public.bench_seed_statistics with (security_invoker = true) as ${SEED_STATISTICS_QUERY}`);
    await c.query('grant select on public.bench_seed_statistics to authenticated');
    await c.query(`drop policy "Owners can view messages of their agents" on public.messages;
      create policy "Owners can view messages of their agents" on public.messages for select to authenticated
      using (conversation_id in (select c.id from public.conversations c join public.agents a on a.id = c.agent_id where a.user_id = (select auth.uid())))`);
    const seedOwner = q(await asOwner(c, biggest.user_id, 'select * from public.bench_seed_statistics', [], 2));
    await c.query(`drop policy "Owners can view messages of their agents" on public.messages;
      create policy "Owners can view messages of their agents" on public.messages for select to authenticated using (${policy});
      drop view public.bench_seed_statistics`);
    out.seed_statistics_biggest_owner_ms = seedOwner;
    ctx.say(`  statistics as the owner: p50 ${fmt(q(stats).p50)}, p99 ${fmt(q(stats).p99)}; biggest owner ${fmt(biggestStats.p50)} (the seed's view and policy: ${fmt(seedOwner.p50)})`);

    const inbox: number[] = [];
    const daily: number[] = [];
    for (const a of agents) {
      inbox.push(...(await asOwner(c, a.user_id, 'select public.owner_agent_conversations($1, 50)', [a.agent_id], samples)));
      daily.push(...(await asOwner(c, a.user_id, 'select public.owner_agent_daily($1, 30)', [a.agent_id], samples)));
    }
    out.inbox_ms = q(inbox);
    out.daily_ms = q(daily);
    out.inbox_biggest_agent_ms = q(await asOwner(c, biggest.user_id, 'select public.owner_agent_conversations($1, 50)', [biggest.agent_id], samples * 3));
    // a search page for a text no message has: the bounded scan's worst case (1,000 conversations examined)
    out.inbox_search_ms = q(await asOwner(c, biggest.user_id, 'select public.owner_agent_conversations($1, 50, null, $2)', [biggest.agent_id, 'no message says this'], samples * 2));
    ctx.say(`  inbox first page: p50 ${fmt(q(inbox).p50)}, p99 ${fmt(q(inbox).p99)}; a search page on the biggest agent ${fmt((out.inbox_search_ms as { p50: number }).p50)}; daily ${fmt(q(daily).p50)}`);

    // the same answers as the console gets them: through the real app, for the biggest owner and agent
    const http = await ownerHttpTimes(big.url, biggest, samples * 5);
    out.http_statistics_ms = q(http.statistics);
    out.http_inbox_ms = q(http.inbox);
    ctx.say(`  through the owner API (biggest owner): GET /v1/owner/statistics p50 ${fmt(q(http.statistics).p50)}, p99 ${fmt(q(http.statistics).p99)}; inbox first page p50 ${fmt(q(http.inbox).p50)}, p99 ${fmt(q(http.inbox).p99)}`);

    // turns: at 10 M over empty (same schema); and 00006's own cost (empty, without and with it)
    const empty = await createTestDatabase();
    dbs.push(empty);
    await migrateTo(empty.url);
    // 00006's own cost: the migrations up to it, with and without it (later ones left out of both)
    const without = await createTestDatabase();
    dbs.push(without);
    await migrateTo(without.url, (v) => v < STATISTICS_VERSION);
    const withIt = await createTestDatabase();
    dbs.push(withIt);
    await migrateTo(withIt.url, (v) => v <= STATISTICS_VERSION);
    await c.query('update public.agents set rate_limit_session_per_minute = 1000000, rate_limit_ip_per_minute = 1000000, daily_token_budget = 2000000000 where id = $1', [biggest.agent_id]);
    const bigKey = (await c.query<{ api_key: string }>('select api_key from public.agents where id = $1', [biggest.agent_id])).rows[0]!.api_key;
    const turnOpts = { clients: 2, phaseMs: ctx.short ? 500 : 1_000, rounds: ctx.short ? 6 : 16 };
    const emptyTarget = await turnAgent(empty.url, 'empty');
    const scale = await compareTurnsTwice(emptyTarget, { label: `${gen.messages} messages`, url: big.url, apiKey: bigKey }, turnOpts);
    out.turn_cost_ratio = scale.worse.ratio.cpu;
    out.turn = scale;
    ctx.say(`  turn at scale / empty: CPU ×${scale.worse.ratio.cpu} (other run ×${scale.other.ratio.cpu}), wall p50 ×${scale.worse.ratio.p50}, p99 ×${scale.worse.ratio.p99}`);
    const cost = await compareTurnsTwice(await turnAgent(without.url, `before ${STATISTICS_VERSION}`), await turnAgent(withIt.url, `with ${STATISTICS_VERSION}`), turnOpts);
    out.statistics_turn_cost_ratio = cost.worse.ratio.cpu;
    out.statistics_turn_cost = cost;
    ctx.say(`  turn with ${STATISTICS_VERSION} / before it: CPU ×${cost.worse.ratio.cpu} (other run ×${cost.other.ratio.cpu}), wall p50 ×${cost.worse.ratio.p50}, p99 ×${cost.worse.ratio.p99}`);
    // the counters alone: the same schema with the triggers a turn fires switched off
    const untriggered = await createTestDatabase();
    dbs.push(untriggered);
    await migrateTo(untriggered.url);
    const off = new pg.Client({ connectionString: untriggered.url });
    await off.connect();
    await off.query(`alter table public.messages disable trigger statistics_on_message_insert;
      alter table public.messages disable trigger statistics_on_message_update;
      alter table public.conversations disable trigger statistics_on_conversation_insert`);
    await off.end();
    const counters = await compareTurnsTwice(await turnAgent(untriggered.url, 'counters off'), emptyTarget, turnOpts);
    out.counters_turn_cost_ratio = counters.worse.ratio.cpu;
    out.counters_turn_cost = counters;
    ctx.say(`  turn with the counters' triggers / without: CPU ×${counters.worse.ratio.cpu} (other run ×${counters.other.ratio.cpu}), wall p50 ×${counters.worse.ratio.p50}`);

    // retention: purge in batches of 500 for up to 30 s (or until done), then exact again
    const cc = c;
    const count = async () =>
      (
        await cc.query<{ n: string }>(
          'select (select count(*) from public.conversations) + (select count(*) from public.messages) + (select count(*) from public.message_feedback) as n',
        )
      ).rows[0]!.n;
    const before = Number(await count());
    let purged = 0;
    let calls = 0;
    t0 = performance.now();
    const budget = ctx.short ? 10_000 : 30_000;
    for (;;) {
      const got = (await c.query<{ n: number }>('select public.purge_expired_conversations(500) as n')).rows[0]!.n;
      purged += got;
      calls++;
      if (got < 500 || performance.now() - t0 > budget) break;
    }
    const purgeMs = performance.now() - t0;
    const rows = before - Number(await count());
    out.purge_rows_per_s = Math.round(rows / (purgeMs / 1000));
    out.purge = { conversations: purged, rows, calls, seconds: round(purgeMs / 1000, 1), batch_size: 500 };
    const expectedAfter = (await c.query(REFERENCE_STATISTICS_SQL)).rows;
    const actualAfter = (await c.query(VIEW_STATISTICS_SQL)).rows;
    out.exact_after_purge = JSON.stringify(expectedAfter) === JSON.stringify(actualAfter);
    ctx.say(`  purge: ${purged} conversations (${rows} rows) in ${(purgeMs / 1000).toFixed(1)} s = ${out.purge_rows_per_s} rows/s; still exact: ${out.exact_after_purge}`);
    if (!out.exact_after_purge) throw new Error('agent_statistics differs from the seed query after the purge');

    const st = out.statistics_ms as { p50: number; p99: number };
    const ib = out.inbox_ms as { p50: number; p99: number };
    const hs = out.http_statistics_ms as { p50: number; p99: number };
    const hi = out.http_inbox_ms as { p50: number; p99: number };
    const size = `${(gen.messages / 1e6).toFixed(1)} M messages`;
    ctx.rows.push(
      {
        figure: `data: one owner's statistics at ${size} (RLS on), p50 / p99`,
        value: `${fmt(st.p50)} / ${fmt(st.p99)}`,
        versus: `seed view + policy, biggest owner: ${fmt(seedOwner.p50)} (now ${fmt(biggestStats.p50)}); equal to the seed query: ${out.exact}`,
        goal: '≤ 50 ms',
        met: st.p99 <= 50,
      },
      {
        figure: `data: inbox first page (50) at ${size}, p50 / p99`,
        value: `${fmt(ib.p50)} / ${fmt(ib.p99)}`,
        versus: `search page (1,000 conversations examined): ${fmt((out.inbox_search_ms as { p50: number }).p50)}; daily series ${fmt(q(daily).p50)}`,
        goal: '≤ 50 ms',
        met: ib.p99 <= 50,
      },
      {
        figure: `data: owner API at ${size}, biggest owner: GET /v1/owner/statistics · inbox first page (50), p50 / p99`,
        value: `${fmt(hs.p50)} / ${fmt(hs.p99)} · ${fmt(hi.p50)} / ${fmt(hi.p99)}`,
        versus: 'in-process app.request: token check, the owner\'s transaction under RLS, JSON',
        goal: '≤ 50 ms',
        met: hs.p99 <= 50 && hi.p99 <= 50,
      },
      {
        figure: `data: turn at ${size} / on an empty database (PostgreSQL CPU per turn)`,
        value: `×${scale.worse.ratio.cpu}`,
        versus: `wall per turn p50 ×${scale.worse.ratio.p50}, p99 ×${scale.worse.ratio.p99}`,
        goal: '',
        met: null,
      },
      {
        figure: `data: turn with ${STATISTICS_VERSION} / before it (PostgreSQL CPU per turn)`,
        value: `×${cost.worse.ratio.cpu}`,
        versus: `wall per turn p50 ×${cost.worse.ratio.p50}, p99 ×${cost.worse.ratio.p99}; ${cost.worse.a.cpu_ms_per_turn} → ${cost.worse.b.cpu_ms_per_turn} ms`,
        goal: '≤ ×1.10',
        met: cost.worse.ratio.cpu <= 1.1 && cost.worse.ratio.p50 <= 1.1,
      },
      {
        figure: `data: of which the counters' triggers (on / off, same schema)`,
        value: `×${counters.worse.ratio.cpu}`,
        versus: `wall per turn p50 ×${counters.worse.ratio.p50}, p99 ×${counters.worse.ratio.p99}; ${STATISTICS_VERSION}'s PL/pgSQL next_message_time pays for them`,
        goal: '',
        met: null,
      },
      {
        figure: 'data: retention purge (batches of 500)',
        value: `${out.purge_rows_per_s} rows/s`,
        versus: `${purged} conversations, ${rows} rows; exact after: ${out.exact_after_purge}`,
        goal: '',
        met: null,
      },
    );
  } finally {
    await c?.end().catch(() => {});
    if (keep) ctx.say(`  kept: ${dbs.map((d) => d.name).join(', ')} (drop them when done)`);
    else for (const d of dbs) await d.drop().catch((err: unknown) => ctx.say(`  could not drop ${d.name}: ${String(err)}`));
  }
}

export const dataPart: Part = { name: 'data', run };
