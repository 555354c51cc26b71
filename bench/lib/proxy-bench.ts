/**
 * The proxy bench: our proxy over PostgreSQL and over PGlite, the Portkey gateway, and the stand-in straight
 * ("direct", the baseline), all driven by the same load generator against the same paced Mistral stand-in
 * (bench/lib/pace.ts), phases alternating between targets so drift on this shared machine hits all alike.
 *
 * - Overhead at c1 / c50 / c200: that many conversations streaming at once (a closed loop against a stand-in
 *   that takes a second per reply, so c50 ≈ 50 turns/s: busy, not saturated). Overhead = time to first text
 *   through the target minus straight to the stand-in, per percentile, within one run; the figure kept is
 *   the worse of two runs.
 * - Saturation (`turns_per_s`): a closed loop with many more conversations than the target can serve,
 *   completed turns per second after the ramp; the worse of two runs. CPU per turn = the target process's CPU
 *   time (/proc/<pid>/stat) over the turns it completed, plus, for ours on PostgreSQL, the CPU of the backends
 *   connected to the bench database (bench/lib/pg-stats.ts).
 * - `lost`: for every conversation through our proxy, user messages missing for turns answered `start`, and
 *   assistant messages missing for turns answered `done`, each per session and never below 0, summed.
 * - Rate limits and the daily budget are on (the agent's own settings, raised so they never refuse).
 * - Then, on PostgreSQL: a V8 CPU profile of the proxy at saturation and the database's statements per turn
 *   (a second proxy process with track_functions = 'all', so the measured runs keep the server's defaults).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPglite } from '../../src/server/db/pglite.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { createTestDatabase, pgAvailable } from '../../test/helpers/pg.ts';
import { seedAgent } from '../../test/helpers/pglite.ts';
import { startChild, type Child } from './child.ts';
import { machineCpu, processCpu, processCpuMs, selfCpuMs } from './cpu.ts';
import {
  BENCH_AGENT,
  CompletionsConversation,
  ProxyConversation,
  runPhase,
  target,
  type Conversation,
  type PhaseResult,
  type Target,
  type TurnSample,
} from './load.ts';
import { PACE } from './pace.ts';
import { ensurePeers, startPortkey, type PortkeyGateway } from './peers.ts';
import { pgCpuDelta, pgTurnStats, readPgCpu, snapshotPgStats, statementCosts, type PgTurnStats, type StatementCost } from './pg-stats.ts';
import { quantiles, round, worst, type Quantiles } from './stats.ts';

export type TargetName = 'postgres' | 'pglite' | 'portkey' | 'direct';

export interface ProxyBenchOptions {
  /** Concurrency levels for the overhead figures: phase length, or turns per conversation (c1). */
  levels: { c: number; phaseMs?: number; turns?: number }[];
  /** Runs of every measurement (figures = the worse run). */
  runs: number;
  warmupMs: number;
  throughput: { concurrency: number; phaseMs: number; rampMs: number };
  /** CPU profile of the proxy over PostgreSQL at saturation (written to `path`), and its SQL per turn. */
  profile?: { path: string; durationMs: number };
  say: (line: string) => void;
}

export interface Side {
  name: TargetName;
  target: Target;
  conversation(prefix: string): Conversation;
  /** The process whose CPU is the target's (none for direct). */
  pid: number | null;
  /** The bench database, whose backends count as ours (postgres only). */
  db?: Db;
}

/** Figures of one target at one level, from one run. */
interface LevelRun {
  ttft: Quantiles;
  overhead: { p50: number; p95: number; p99: number };
  cpu_ms_per_turn: number;
  postgres_cpu_ms_per_turn?: number;
  errors: number;
}

export interface LevelFigures {
  /** Worse of the runs, per percentile (ms). */
  overhead_ms: { p50: number; p95: number; p99: number };
  /** Time to first text through the target, worse run per percentile, and the direct baseline's. */
  ttft_ms: { p50: number; p95: number; p99: number };
  direct_ttft_ms: { p50: number; p95: number; p99: number };
  /** CPU per turn of the target process (and PostgreSQL backends for postgres), worse run. */
  cpu_ms_per_turn: number;
  postgres_cpu_ms_per_turn?: number;
  errors: number;
  /** Samples per run (target / direct). */
  n: number[];
  runs: LevelRun[];
}

export interface ThroughputRun {
  turns_per_s: number;
  turns: number;
  errors: number;
  cpu_ms_per_turn: { process: number; process_kernel: number; postgres?: number; postgres_background?: number; stand_in: number; load_generator: number; machine: number };
  machine_busy: number;
}

export interface ThroughputFigures {
  /** Worse run (lowest). */
  turns_per_s: number;
  /** Worse run (highest), process (+ PostgreSQL backends for postgres). */
  cpu_ms_per_turn: number;
  concurrency: number;
  /** Turns/s straight to the stand-in at the same concurrency: the most this load can produce. */
  ceiling_turns_per_s?: number;
  errors: number;
  runs: ThroughputRun[];
}

export interface LostCount {
  lost: number;
  lost_user: number;
  lost_assistant: number;
  accepted: number;
  completed: number;
  user_messages: number;
  assistant_messages: number;
  sessions: number;
}

export interface ProfileCapture {
  path: string;
  turns: number;
  proxy_cpu_ms_per_turn: number;
  /** The part of it spent in the kernel (system time): socket reads and writes, epoll. */
  proxy_kernel_ms_per_turn: number;
  postgres_cpu_ms_per_turn: number;
  sql: PgTurnStats;
  statements: StatementCost[];
}

export interface ProxyBenchResult {
  levels: Record<TargetName, Record<string, LevelFigures>>;
  throughput: Partial<Record<TargetName, ThroughputFigures>>;
  lost: { postgres?: LostCount; pglite?: LostCount };
  limits: Record<string, number>;
  portkey: { version: string };
  databases: { postgres: boolean; pglite: boolean };
  profile?: ProfileCapture;
}

/** High enough never to refuse in the bench, but switched on: each turn pays for the checks and counters. */
export const BENCH_LIMITS = {
  rate_limit_session_per_minute: 100_000,
  rate_limit_ip_per_minute: 100_000,
  daily_token_budget: 2_000_000_000,
} as const;

export async function prepareDb(db: Db): Promise<{ apiKey: string; agentId: string }> {
  await migrate(db);
  const seeded = await seedAgent(db, {
    name: 'Bench agent',
    instructions: BENCH_AGENT.instructions,
    model: BENCH_AGENT.model,
    temperature: BENCH_AGENT.temperature,
    maxTokens: BENCH_AGENT.maxTokens,
    topP: BENCH_AGENT.topP,
  });
  const cols = Object.keys(BENCH_LIMITS);
  const { rows } = await db.query<{ column_name: string }>(
    `select column_name from information_schema.columns
     where table_schema = 'public' and table_name = 'agents' and column_name = any($1::text[])`,
    [cols],
  );
  if (rows.length !== cols.length) throw new Error(`public.agents lacks some of ${cols.join(', ')}: the bench cannot switch its limits on`);
  await db.query(`update public.agents set ${cols.map((c, i) => `"${c}" = $${i + 2}`).join(', ')} where id = $1`, [
    seeded.agentId,
    ...Object.values(BENCH_LIMITS),
  ]);
  return seeded;
}

/** The env the proxy child gets: nothing from the caller's database or Mistral settings; production defaults. */
export function proxyEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(DATABASE_URL|DATA_DIR|PORT|HOST|PUBLIC_URL|TRUST_PROXY|MISTRAL_|SUPABASE_|NODE_ENV)/.test(k)) delete env[k];
  }
  return { ...env, NODE_ENV: 'production', MISTRAL_API_KEY: 'bench-key', HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '1000', ...extra };
}

export type ProxyReady = { port: number; database: string };

const ttfts = (s: TurnSample[]) => s.filter((x) => !x.error && Number.isFinite(x.ttftMs)).map((x) => x.ttftMs);
const errorsOf = (s: TurnSample[]) => s.filter((x) => x.error).length;
const firstError = (s: TurnSample[]) => s.find((x) => x.error)?.error;

interface Measured {
  phase: PhaseResult;
  cpuMs: number;
  cpuKernelMs: number;
  pgMs?: number;
  pgBackgroundMs?: number;
  standInMs: number;
  selfMs: number;
  machine: { busyMs: number; totalMs: number };
}

/** One phase on one target, with the CPU each process used meanwhile. */
async function measure(side: Side, convs: Conversation[], opts: Parameters<typeof runPhase>[1], standInPid: number): Promise<Measured> {
  const pg0 = side.db ? await readPgCpu(side.db) : undefined;
  const none = { user: 0, system: 0 };
  const [c0, s0, l0, m0] = [side.pid ? processCpu(side.pid) : none, processCpuMs(standInPid), selfCpuMs(), machineCpu()];
  const phase = await runPhase(convs, opts);
  const [c1, s1, l1, m1] = [side.pid ? processCpu(side.pid) : none, processCpuMs(standInPid), selfCpuMs(), machineCpu()];
  const pg1 = side.db ? await readPgCpu(side.db) : undefined;
  const pgd = pg0 && pg1 ? pgCpuDelta(pg0, pg1) : undefined;
  return {
    phase,
    cpuMs: c1.user + c1.system - c0.user - c0.system,
    cpuKernelMs: c1.system - c0.system,
    ...(pgd ? { pgMs: pgd.backends, pgBackgroundMs: pgd.background } : {}),
    standInMs: s1 - s0,
    selfMs: l1 - l0,
    machine: { busyMs: m1.busyMs - m0.busyMs, totalMs: m1.totalMs - m0.totalMs },
  };
}

const r3 = (x: number) => round(x, 3);

/** Overhead figures at one concurrency: every target once per run, order reversed each run. */
export async function measureLevel(
  sides: Side[],
  level: ProxyBenchOptions['levels'][number],
  runs: number,
  standInPid: number,
  say: ProxyBenchOptions['say'],
): Promise<Partial<Record<TargetName, LevelFigures>>> {
  const convs = new Map(sides.map((s) => [s.name, Array.from({ length: level.c }, () => s.conversation(`c${level.c}_`))]));
  const perRun = new Map<TargetName, { samples: TurnSample[]; cpu: number; pg?: number; turns: number }[]>(sides.map((s) => [s.name, []]));
  const opts = level.turns ? { turns: level.turns } : { durationMs: level.phaseMs ?? 5_000, staggerMs: PACE.replyMs };
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const m = await measure(side, convs.get(side.name) as Conversation[], opts, standInPid);
      const done = m.phase.samples.filter((s) => s.done).length;
      (perRun.get(side.name) as { samples: TurnSample[]; cpu: number; turns: number }[]).push({
        samples: m.phase.samples,
        cpu: m.cpuMs,
        ...(m.pgMs !== undefined ? { pg: m.pgMs } : {}),
        turns: done,
      });
      const errors = errorsOf(m.phase.samples);
      if (errors) say(`    ! ${side.name} c${level.c} run ${run + 1}: ${errors} errors, first: ${firstError(m.phase.samples)}`);
    }
  }
  const direct = (perRun.get('direct') ?? []).map((r) => quantiles(ttfts(r.samples)));
  const out: Partial<Record<TargetName, LevelFigures>> = {};
  for (const side of sides) {
    const list = perRun.get(side.name) ?? [];
    const runsOut: LevelRun[] = list.map((r, i) => {
      const q = quantiles(ttfts(r.samples));
      const d = direct[i] as Quantiles;
      return {
        ttft: { p50: r3(q.p50), p95: r3(q.p95), p99: r3(q.p99), n: q.n },
        overhead: { p50: r3(q.p50 - d.p50), p95: r3(q.p95 - d.p95), p99: r3(q.p99 - d.p99) },
        cpu_ms_per_turn: r3(r.cpu / Math.max(1, r.turns)),
        ...(r.pg !== undefined ? { postgres_cpu_ms_per_turn: r3(r.pg / Math.max(1, r.turns)) } : {}),
        errors: errorsOf(r.samples),
      };
    });
    const pick = (f: (r: LevelRun) => number, kind: 'cost' | 'rate' = 'cost') => worst(runsOut.map(f), kind);
    const pgCpu = runsOut.every((r) => r.postgres_cpu_ms_per_turn !== undefined) && runsOut.length ? pick((r) => r.postgres_cpu_ms_per_turn as number) : undefined;
    out[side.name] = {
      overhead_ms: { p50: pick((r) => r.overhead.p50), p95: pick((r) => r.overhead.p95), p99: pick((r) => r.overhead.p99) },
      ttft_ms: { p50: pick((r) => r.ttft.p50), p95: pick((r) => r.ttft.p95), p99: pick((r) => r.ttft.p99) },
      direct_ttft_ms: {
        p50: r3(worst(direct.map((d) => d.p50))),
        p95: r3(worst(direct.map((d) => d.p95))),
        p99: r3(worst(direct.map((d) => d.p99))),
      },
      cpu_ms_per_turn: pick((r) => r.cpu_ms_per_turn),
      ...(pgCpu !== undefined ? { postgres_cpu_ms_per_turn: pgCpu } : {}),
      errors: runsOut.reduce((a, r) => a + r.errors, 0),
      n: runsOut.map((r) => r.ttft.n),
      runs: runsOut,
    };
  }
  return out;
}

/** Saturation: completed turns per second after the ramp, and CPU per completed turn; every target per run. */
async function measureThroughput(
  sides: Side[],
  t: ProxyBenchOptions['throughput'],
  runs: number,
  standInPid: number,
  say: ProxyBenchOptions['say'],
): Promise<Partial<Record<TargetName, ThroughputFigures>>> {
  const perRun = new Map<TargetName, ThroughputRun[]>(sides.map((s) => [s.name, []]));
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      // Fresh conversations each run: the throughput sessions start short, like a mix of new visitors.
      const convs = Array.from({ length: t.concurrency }, () => side.conversation('tp_'));
      const m = await measure(side, convs, { durationMs: t.phaseMs, staggerMs: PACE.replyMs }, standInPid);
      const from = m.phase.startedAt + t.rampMs;
      const to = m.phase.endsAt;
      const inWindow = m.phase.samples.filter((s) => s.done && s.endedAt >= from && s.endedAt <= to).length;
      const done = m.phase.samples.filter((s) => s.done).length;
      const n = Math.max(1, done);
      const errors = errorsOf(m.phase.samples);
      if (errors) say(`    ! ${side.name} throughput run ${run + 1}: ${errors} errors, first: ${firstError(m.phase.samples)}`);
      const x: ThroughputRun = {
        turns_per_s: round(inWindow / ((to - from) / 1000), 1),
        turns: done,
        errors,
        cpu_ms_per_turn: {
          process: r3(m.cpuMs / n),
          process_kernel: r3(m.cpuKernelMs / n),
          ...(m.pgMs !== undefined ? { postgres: r3(m.pgMs / n), postgres_background: r3((m.pgBackgroundMs ?? 0) / n) } : {}),
          stand_in: r3(m.standInMs / n),
          load_generator: r3(m.selfMs / n),
          machine: r3(m.machine.busyMs / n),
        },
        machine_busy: round(m.machine.totalMs ? m.machine.busyMs / m.machine.totalMs : Number.NaN, 3),
      };
      (perRun.get(side.name) as ThroughputRun[]).push(x);
      say(
        `    ${side.name.padEnd(8)} run ${run + 1}: ${x.turns_per_s} turns/s, CPU ms/turn ${x.cpu_ms_per_turn.process}` +
          `${x.cpu_ms_per_turn.postgres !== undefined ? ` + PostgreSQL ${x.cpu_ms_per_turn.postgres}` : ''}, machine ${Math.round(x.machine_busy * 100)} % busy`,
      );
    }
  }
  const direct = perRun.get('direct');
  const out: Partial<Record<TargetName, ThroughputFigures>> = {};
  for (const side of sides) {
    if (side.name === 'direct') continue;
    const list = perRun.get(side.name) ?? [];
    out[side.name] = {
      turns_per_s: worst(list.map((r) => r.turns_per_s), 'rate'),
      cpu_ms_per_turn: worst(list.map((r) => r3(r.cpu_ms_per_turn.process + (r.cpu_ms_per_turn.postgres ?? 0)))),
      concurrency: t.concurrency,
      ...(direct ? { ceiling_turns_per_s: worst(direct.map((r) => r.turns_per_s), 'rate') } : {}),
      errors: list.reduce((a, r) => a + r.errors, 0),
      runs: list,
    };
  }
  return out;
}

/** Stored messages against what the proxy answered, per session (bench/README: `lost`). */
async function countLost(db: Db, convs: ProxyConversation[]): Promise<LostCount> {
  const { rows } = await db.query<{ session_id: string; users: string; assistants: string }>(
    `select c.session_id, count(*) filter (where m.role = 'user')::text as users, count(*) filter (where m.role = 'assistant')::text as assistants
     from public.conversations c join public.messages m on m.conversation_id = c.id
     where c.session_id = any($1::text[]) group by c.session_id`,
    [convs.map((c) => c.sessionId)],
  );
  const stored = new Map(rows.map((r) => [r.session_id, { users: Number(r.users), assistants: Number(r.assistants) }]));
  const out: LostCount = { lost: 0, lost_user: 0, lost_assistant: 0, accepted: 0, completed: 0, user_messages: 0, assistant_messages: 0, sessions: convs.length };
  for (const c of convs) {
    const s = stored.get(c.sessionId) ?? { users: 0, assistants: 0 };
    out.accepted += c.accepted;
    out.completed += c.completed;
    out.user_messages += s.users;
    out.assistant_messages += s.assistants;
    // Each kind on its own and never below 0: a partial reply stored for a failed turn, or a surplus in
    // another session, cannot cancel a missing message.
    out.lost_user += Math.max(0, c.accepted - s.users);
    out.lost_assistant += Math.max(0, c.completed - s.assistants);
  }
  out.lost = out.lost_user + out.lost_assistant;
  return out;
}

export async function runProxyBench(opts: ProxyBenchOptions): Promise<ProxyBenchResult> {
  const { say } = opts;
  if (!(await pgAvailable())) throw new Error('PostgreSQL unreachable at 127.0.0.1:5432 (set TEST_PG_URL): the proxy part needs it');
  ensurePeers(say);
  // Undone in reverse order.
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const standIn = await startChild<{ url: string; pid: number }>('stand-in-child.ts', process.env, { label: 'stand-in' });
    cleanup.push(() => standIn.stop());
    const standInPid = standIn.proc.pid as number;
    say(`  stand-in ${standIn.ready.url}: first text after ${PACE.firstTextMs} ms, then ${PACE.textChunks - 1} chunks ${PACE.chunkIntervalMs} ms apart`);

    // PostgreSQL: a fresh database, our pool for seeding and counting.
    const test = await createTestDatabase();
    cleanup.push(() => test.drop());
    const pgDb = openPostgres(test.url, { max: 2 });
    cleanup.push(() => pgDb.close());
    const pgSeed = await prepareDb(pgDb);
    say(`  fresh database ${test.name}; limits on: ${Object.entries(BENCH_LIMITS).map(([k, v]) => `${k} ${v}`).join(', ')}`);

    // PGlite: a data directory the proxy child opens (one process at a time).
    const dir = await mkdtemp(join(tmpdir(), 'mac-bench-pglite-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    let pliteSeed: { apiKey: string };
    {
      const db = await openPglite({ dataDir: dir });
      try {
        pliteSeed = await prepareDb(db);
      } finally {
        await db.close();
      }
    }

    const startProxy = async (kind: 'postgres' | 'pglite', nodeArgs: string[] = []) => {
      const env: Record<string, string> = kind === 'postgres' ? { DATABASE_URL: test.url } : { DATA_DIR: dir };
      const child = await startChild<ProxyReady>('proxy-child.ts', proxyEnv({ ...env, MISTRAL_BASE_URL: standIn.ready.url }), { label: `proxy (${kind})`, nodeArgs });
      if (child.ready.database !== kind) throw new Error(`the proxy child runs on ${child.ready.database}, not ${kind}`);
      return child;
    };
    const pgProxy = await startProxy('postgres');
    cleanup.push(() => pgProxy.stop());
    let pliteProxy: Child<ProxyReady> | undefined = await startProxy('pglite');
    cleanup.push(() => pliteProxy?.stop() ?? Promise.resolve());
    const portkey: PortkeyGateway = await startPortkey(standIn.ready.url);
    cleanup.push(() => portkey.stop());
    say(`  Portkey ${portkey.version} at ${portkey.url} (pid ${portkey.pid}), forwarding to the stand-in`);

    const targets: Target[] = [];
    const mk = (url: string) => {
      const t = target(url);
      targets.push(t);
      return t;
    };
    cleanup.push(async () => targets.forEach((t) => t.agent.destroy()));
    const pgConvs: ProxyConversation[] = [];
    const pliteConvs: ProxyConversation[] = [];
    const proxySide = (name: 'postgres' | 'pglite', child: Child<ProxyReady>, apiKey: string, list: ProxyConversation[], db?: Db): Side => {
      const t = mk(`http://127.0.0.1:${child.ready.port}`);
      return {
        name,
        target: t,
        pid: child.proc.pid as number,
        ...(db ? { db } : {}),
        conversation(prefix) {
          const c = new ProxyConversation(t, apiKey, prefix);
          list.push(c);
          return c;
        },
      };
    };
    const portkeyTarget = mk(portkey.url);
    const directTarget = mk(standIn.ready.url);
    const sides: Side[] = [
      proxySide('postgres', pgProxy, pgSeed.apiKey, pgConvs, pgDb),
      proxySide('pglite', pliteProxy, pliteSeed.apiKey, pliteConvs),
      { name: 'portkey', target: portkeyTarget, pid: portkey.pid, conversation: () => new CompletionsConversation(portkeyTarget, portkey.headers) },
      { name: 'direct', target: directTarget, pid: null, conversation: () => new CompletionsConversation(directTarget) },
    ];

    // Warm the JIT, the pools and keep-alive sockets of every target; results are dropped.
    for (const side of sides) {
      const warm = await runPhase(Array.from({ length: 20 }, () => side.conversation('warm_')), { durationMs: opts.warmupMs, staggerMs: PACE.replyMs });
      const errors = errorsOf(warm.samples);
      if (errors) throw new Error(`${side.name} failed during warm-up (${errors} errors): ${firstError(warm.samples)}`);
    }

    const levels = { postgres: {}, pglite: {}, portkey: {}, direct: {} } as Record<TargetName, Record<string, LevelFigures>>;
    for (const level of opts.levels) {
      const t0 = performance.now();
      const res = await measureLevel(sides, level, opts.runs, standInPid, say);
      for (const [name, fig] of Object.entries(res) as [TargetName, LevelFigures][]) levels[name][`c${level.c}`] = fig;
      const f = (n: TargetName) => res[n] as LevelFigures;
      say(
        `  c${level.c} overhead p50/p99 (worse of ${opts.runs}): postgres ${f('postgres').overhead_ms.p50}/${f('postgres').overhead_ms.p99} ms, ` +
          `pglite ${f('pglite').overhead_ms.p50}/${f('pglite').overhead_ms.p99}, portkey ${f('portkey').overhead_ms.p50}/${f('portkey').overhead_ms.p99} ` +
          `(direct TTFT p50 ${f('direct').ttft_ms.p50} ms; n ${f('postgres').n.join('+')}; ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }

    say(`  saturation: ${opts.throughput.concurrency} conversations in a closed loop, ${opts.throughput.phaseMs / 1000} s per phase`);
    const throughput = await measureThroughput(sides, opts.throughput, opts.runs, standInPid, say);

    // Every turn through our proxies is stored? (PGlite is read once its proxy has closed the data directory.)
    await new Promise((r) => setTimeout(r, 500));
    const lost: ProxyBenchResult['lost'] = { postgres: await countLost(pgDb, pgConvs) };
    await pliteProxy.stop();
    pliteProxy = undefined;
    {
      const db = await openPglite({ dataDir: dir });
      try {
        lost.pglite = await countLost(db, pliteConvs);
      } finally {
        await db.close();
      }
    }
    say(`  lost: postgres ${lost.postgres?.lost} of ${lost.postgres?.accepted} turns, pglite ${lost.pglite?.lost} of ${lost.pglite?.accepted}`);

    const result: ProxyBenchResult = {
      levels,
      throughput,
      lost,
      limits: { ...BENCH_LIMITS },
      portkey: { version: portkey.version },
      databases: { postgres: true, pglite: true },
    };

    if (opts.profile) {
      // The measured proxy leaves; a profiling one (function statistics on for its new connections) comes.
      // Backends flush their statistics when they exit: counts are read before it starts and after it stops.
      await portkey.stop();
      await pgProxy.stop();
      await pgDb.query(`alter database "${test.name}" set track_functions = 'all'`);
      const s0 = await snapshotPgStats(pgDb);
      const prof = await startProxy('postgres');
      cleanup.push(() => prof.stop());
      const side = proxySide('postgres', prof, pgSeed.apiKey, [], pgDb);
      const warm = await runPhase(Array.from({ length: 20 }, () => side.conversation('pwarm_')), { durationMs: opts.warmupMs, staggerMs: PACE.replyMs });
      const convs = Array.from({ length: opts.throughput.concurrency }, () => side.conversation('prof_'));
      await prof.request('profile-start', { intervalUs: 250 });
      const m = await measure(side, convs, { durationMs: opts.profile.durationMs, staggerMs: PACE.replyMs }, standInPid);
      await prof.request('profile-stop', { path: opts.profile.path });
      await prof.stop();
      await new Promise((r) => setTimeout(r, 500));
      const s1 = await snapshotPgStats(pgDb);
      const turns = m.phase.samples.filter((s) => s.done).length;
      const n = Math.max(1, turns);
      result.profile = {
        path: opts.profile.path,
        turns,
        proxy_cpu_ms_per_turn: r3(m.cpuMs / n),
        proxy_kernel_ms_per_turn: r3(m.cpuKernelMs / n),
        postgres_cpu_ms_per_turn: r3((m.pgMs ?? 0) / n),
        sql: pgTurnStats(s0, s1, turns + warm.samples.filter((s) => s.done).length),
        statements: await statementCosts(test.url, pgSeed.apiKey),
      };
      say(`  profile: ${turns} turns, ${result.profile.sql.transactions_per_turn} transactions per turn; ${opts.profile.path}`);
    }
    return result;
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err: unknown) => console.warn(`  cleanup: ${err instanceof Error ? err.message : String(err)}`));
  }
}
