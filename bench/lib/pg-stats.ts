/**
 * PostgreSQL's side of a turn. CPU: the server is shared (other engineers' test databases live on it), so we
 * count only the backends connected to the bench's own database (pg_stat_activity.datname), read from
 * /proc/<pid>/stat like every other process; the cluster's background writers (WAL writer, checkpointer,
 * background writer) are counted apart, since other tenants' writes land there too. Statements: the turn
 * functions' calls and self time (pg_stat_user_functions, with track_functions = 'all' on a separate proxy
 * run), rows written per table, transactions; and each statement inside begin_turn / end_turn timed by
 * auto_explain on one quiet connection.
 */
import pg from 'pg';
import type { Db } from '../../src/server/db/db.ts';
import { cpuDelta, processesCpu } from './cpu.ts';
import { round } from './stats.ts';

export interface PgCpuReading {
  backends: Map<number, number>;
  background: Map<number, number>;
}

/** CPU so far of this database's backends (ours excluded) and of the cluster's background writers. */
export async function readPgCpu(db: Db): Promise<PgCpuReading> {
  const { rows } = await db.query<{ pid: number; ours: boolean }>(
    `select pid, datname = current_database() as ours from pg_stat_activity
     where pid <> pg_backend_pid()
       and (datname = current_database() or backend_type in ('walwriter', 'checkpointer', 'background writer'))`,
  );
  return {
    backends: processesCpu(rows.filter((r) => r.ours).map((r) => r.pid)),
    background: processesCpu(rows.filter((r) => !r.ours).map((r) => r.pid)),
  };
}

export function pgCpuDelta(a: PgCpuReading, b: PgCpuReading): { backends: number; background: number } {
  return { backends: cpuDelta(a.backends, b.backends), background: cpuDelta(a.background, b.background) };
}

interface FunctionRow {
  funcname: string;
  calls: string;
  total_time: number;
  self_time: number;
}
interface TableRow {
  relname: string;
  n_tup_ins: string;
  n_tup_upd: string;
  n_tup_hot_upd: string;
  n_tup_del: string;
}

export interface PgStatsSnapshot {
  functions: Map<string, { calls: number; total: number; self: number }>;
  tables: Map<string, { ins: number; upd: number; hot: number; del: number }>;
  xact_commit: number;
}

/** The cumulative statistics of the bench database (flushed by backends at most once a second: wait before). */
export async function snapshotPgStats(db: Db): Promise<PgStatsSnapshot> {
  await db.query('select pg_stat_clear_snapshot()');
  const f = await db.query<FunctionRow>(
    `select funcname, calls::text, total_time, self_time from pg_stat_user_functions where schemaname = 'public'`,
  );
  const t = await db.query<TableRow>(
    `select relname, n_tup_ins::text, n_tup_upd::text, n_tup_hot_upd::text, n_tup_del::text
     from pg_stat_user_tables where schemaname = 'public'`,
  );
  const d = await db.query<{ xact_commit: string }>(`select xact_commit::text from pg_stat_database where datname = current_database()`);
  return {
    functions: new Map(f.rows.map((r) => [r.funcname, { calls: Number(r.calls), total: r.total_time, self: r.self_time }])),
    tables: new Map(t.rows.map((r) => [r.relname, { ins: Number(r.n_tup_ins), upd: Number(r.n_tup_upd), hot: Number(r.n_tup_hot_upd), del: Number(r.n_tup_del) }])),
    xact_commit: Number(d.rows[0]?.xact_commit ?? 0),
  };
}

export interface PgTurnStats {
  turns: number;
  transactions_per_turn: number;
  /** Per turn: calls and ms of each SQL function (self = without the functions it calls). */
  functions: { name: string; calls_per_turn: number; total_ms_per_turn: number; self_ms_per_turn: number }[];
  /** Per turn: rows inserted / updated (HOT share) / deleted in each table. */
  tables: { table: string; inserted: number; updated: number; hot_updated: number; deleted: number }[];
}

export function pgTurnStats(a: PgStatsSnapshot, b: PgStatsSnapshot, turns: number): PgTurnStats {
  const n = Math.max(1, turns);
  const functions = [...b.functions]
    .map(([name, x]) => {
      const y = a.functions.get(name) ?? { calls: 0, total: 0, self: 0 };
      return { name, calls_per_turn: round((x.calls - y.calls) / n, 3), total_ms_per_turn: round((x.total - y.total) / n, 4), self_ms_per_turn: round((x.self - y.self) / n, 4) };
    })
    .filter((f) => f.calls_per_turn > 0)
    .sort((p, q) => q.total_ms_per_turn - p.total_ms_per_turn);
  const tables = [...b.tables]
    .map(([table, x]) => {
      const y = a.tables.get(table) ?? { ins: 0, upd: 0, hot: 0, del: 0 };
      return { table, inserted: round((x.ins - y.ins) / n, 3), updated: round((x.upd - y.upd) / n, 3), hot_updated: round((x.hot - y.hot) / n, 3), deleted: round((x.del - y.del) / n, 3) };
    })
    .filter((t) => t.inserted + t.updated + t.deleted > 0)
    .sort((p, q) => p.table.localeCompare(q.table));
  return { turns, transactions_per_turn: round((b.xact_commit - a.xact_commit) / n, 3), functions, tables };
}

export interface StatementCost {
  /** The statement as written in the function or trigger (whitespace folded, cut at 160 characters). */
  statement: string;
  /** Which top-level call ran it (the call itself is listed too, with its whole duration). */
  step: 'begin_turn' | 'end_turn';
  per_turn: number;
  mean_ms: number;
}

/**
 * Every statement begin_turn and end_turn run (their triggers' included), with its mean execution time, from
 * auto_explain (JSON plans sent to this client as LOG notices) on one quiet connection: each statement's own
 * cost, without concurrency or queueing. `turns` turns of one conversation after `warm` unmeasured ones, so
 * the history is as long as in the bench (20 messages).
 */
export async function statementCosts(url: string, apiKey: string, turns = 40, warm = 12): Promise<StatementCost[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(n.message ?? ''));
  try {
    const session = `explain_${Date.now()}`;
    const turn = async (i: number) => {
      const b = await client.query<{ r: { conversation_id: string; user_message_id: string } }>(
        // The calls the proxy makes (src/server/store/sql-store.ts): anonymous, the turn registered in flight.
        'select public.begin_turn($1::text, $2::text, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text, $8::int, $9::int, $10::text, $11::int) as r',
        [apiKey, null, '127.9.9.9', session, 'v_explain', '{}', `Bench message ${i}: what are your opening hours on Saturdays?`, 20, 24000, null, 120000],
      );
      await client.query('select public.end_turn($1::uuid, $2::uuid, $3::text, $4::int, $5::int, $6::int, $7::text::jsonb, $8::boolean) as id', [
        b.rows[0]?.r.conversation_id,
        b.rows[0]?.r.user_message_id,
        'Our opening hours on Saturdays are 9:00 to 17:00. '.repeat(7),
        300,
        80,
        1000,
        null,
        false,
      ]);
    };
    for (let i = 0; i < warm; i++) await turn(i);
    await client.query(`load 'auto_explain'`);
    for (const s of [
      'set auto_explain.log_min_duration = 0',
      'set auto_explain.log_analyze = on',
      'set auto_explain.log_timing = on',
      'set auto_explain.log_nested_statements = on',
      "set auto_explain.log_format = 'json'",
      'set client_min_messages = log',
    ]) {
      await client.query(s);
    }
    notices.length = 0;
    for (let i = 0; i < turns; i++) await turn(warm + i);
    await client.query('set client_min_messages = notice');
    // Nested statements are logged as they finish, so each group ends with the top-level call that ran it.
    const costs = new Map<string, { step: StatementCost['step']; n: number; ms: number }>();
    let group: { statement: string; ms: number }[] = [];
    for (const msg of notices) {
      const m = /^duration: ([\d.]+) ms\s+plan:\s*([\s\S]*)$/.exec(msg);
      if (!m) continue;
      let text = '';
      try {
        text = String((JSON.parse(m[2] ?? '') as { 'Query Text'?: string })['Query Text'] ?? '');
      } catch {
        continue;
      }
      const statement = text.replace(/\s+/g, ' ').trim().slice(0, 160);
      group.push({ statement, ms: Number(m[1]) });
      const step = statement.startsWith('select public.begin_turn(') ? 'begin_turn' : statement.startsWith('select public.end_turn(') ? 'end_turn' : null;
      if (!step) continue;
      for (const g of group) {
        const c = costs.get(`${step}\u0000${g.statement}`) ?? { step, n: 0, ms: 0 };
        c.n++;
        c.ms += g.ms;
        costs.set(`${step}\u0000${g.statement}`, c);
      }
      group = [];
    }
    return [...costs]
      .map(([key, c]) => ({ statement: key.split('\u0000')[1] ?? '', step: c.step, per_turn: round(c.n / turns, 2), mean_ms: round(c.ms / c.n, 4) }))
      .sort((p, q) => (p.step === q.step ? q.mean_ms * q.per_turn - p.mean_ms * p.per_turn : p.step === 'begin_turn' ? -1 : 1));
  } finally {
    await client.end();
  }
}
