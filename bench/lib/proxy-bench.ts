/**
 * Parts 1 and 2: proxy overhead on time to first token (through the proxy vs straight to the stand-in,
 * interleaved in the same run) at several concurrency levels, and throughput at saturation with the
 * stored-message check, plus a CPU profile of the proxy under that load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPglite } from '../../src/server/db/pglite.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { createTestDatabase, pgAvailable } from '../../test/helpers/pg.ts';
import { seedAgent } from '../../test/helpers/pglite.ts';
import { startChild, type Child } from '../lib/child.ts';
import { machineCpu, processesCpuMs, selfCpuMs } from '../lib/cpu.ts';
import {
  BENCH_AGENT,
  DirectConversation,
  ProxyConversation,
  runPhase,
  target,
  type Conversation,
  type TurnSample,
} from '../lib/load.ts';
import { quantiles, round } from '../lib/stats.ts';

export interface Level {
  c: number;
  /** Visitor think time between messages (mean, ms); 0 = closed loop, no think time. */
  thinkMs?: number;
  /** Length of one proxy or direct phase. */
  phaseMs: number;
  /** Rounds (proxy + direct phase pairs) continue until this much time has passed (at least 2). */
  budgetMs: number;
}

export interface LevelResult {
  overhead_ms: { p50: number; p95: number; p99: number };
  ttft_ms: { proxy: { p50: number; p95: number; p99: number; n: number }; direct: { p50: number; p95: number; p99: number; n: number } };
  /** TTFT through the proxy ÷ TTFT direct, per percentile. */
  ratio: { p50: number; p95: number; p99: number };
  proxy_cpu_ms_per_turn: number;
  errors: number;
  /** Closed loop (no think time), or paced with this mean think time per conversation. */
  think_ms: number;
}

type ProxyReady = { port: number; database: string };
type StandIn = Child<{ url: string }>;

const REPO = new URL('../../', import.meta.url);
const MIGRATION_00003 = new URL('supabase/migrations/00003_abuse_control.sql', REPO);

/** The env the proxy child gets: nothing from the caller's database or Mistral settings. */
function proxyEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(DATABASE_URL|DATA_DIR|PORT|HOST|PUBLIC_URL|TRUST_PROXY|MISTRAL_|SUPABASE_)/.test(k)) delete env[k];
  }
  return { ...env, MISTRAL_API_KEY: 'bench-key', HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '1000', ...extra };
}

/** Seeds the bench agent; with migration 00003, its per-session and per-IP limits become 0 = unlimited. */
async function prepareDb(db: Db): Promise<{ apiKey: string; unlimited: string[] }> {
  await migrate(db);
  const { apiKey, agentId } = await seedAgent(db, {
    name: 'Bench agent',
    instructions: BENCH_AGENT.instructions,
    model: BENCH_AGENT.model,
    temperature: BENCH_AGENT.temperature,
    maxTokens: BENCH_AGENT.maxTokens,
    topP: BENCH_AGENT.topP,
  });
  const { rows } = await db.query<{ column_name: string }>(
    `select column_name from information_schema.columns
     where table_schema = 'public' and table_name = 'agents' and column_name like 'rate\\_limit\\_%\\_per\\_minute'`,
  );
  const unlimited = rows.map((r) => r.column_name);
  if (unlimited.length > 0) {
    await db.query(`update public.agents set ${unlimited.map((c) => `"${c}" = 0`).join(', ')} where id = $1`, [agentId]);
  } else if (existsSync(MIGRATION_00003)) {
    console.warn('  ! 00003_abuse_control.sql exists but public.agents has no rate_limit_*_per_minute column: limits may apply');
  }
  return { apiKey, unlimited };
}

async function proxyCpuMs(proxy: Child<ProxyReady>): Promise<number> {
  return (await proxyCpu(proxy)).total;
}

async function proxyCpu(proxy: Child<ProxyReady>): Promise<{ total: number; system: number }> {
  const u = await proxy.request<{ userUs: number; systemUs: number }>('cpu');
  return { total: (u.userUs + u.systemUs) / 1000, system: u.systemUs / 1000 };
}

const ttfts = (s: TurnSample[]) => s.filter((x) => !x.error && Number.isFinite(x.ttftMs)).map((x) => x.ttftMs);
const errorsOf = (s: TurnSample[]) => s.filter((x) => x.error).length;

/** One concurrency level: proxy and direct phases alternated (P D, D P, …) so drift hits both alike. */
async function measureLevel(
  proxy: Child<ProxyReady>,
  proxyConvs: Conversation[],
  directConvs: Conversation[],
  level: Level,
): Promise<LevelResult> {
  const viaProxy: TurnSample[] = [];
  const direct: TurnSample[] = [];
  let cpuMs = 0;
  let proxyTurns = 0;
  const until = performance.now() + level.budgetMs;
  for (let round = 0; round < 2 || performance.now() < until; round++) {
    const order = round % 2 === 0 ? ['proxy', 'direct'] : ['direct', 'proxy'];
    for (const side of order) {
      if (side === 'proxy') {
        const before = await proxyCpuMs(proxy);
        const r = await runPhase(proxyConvs, level.phaseMs, 2, level.thinkMs);
        cpuMs += (await proxyCpuMs(proxy)) - before;
        proxyTurns += r.all.length;
        viaProxy.push(...r.samples);
      } else {
        direct.push(...(await runPhase(directConvs, level.phaseMs, 2, level.thinkMs)).samples);
      }
    }
  }
  const p = quantiles(ttfts(viaProxy));
  const d = quantiles(ttfts(direct));
  const r = (x: number) => round(x, 3);
  return {
    overhead_ms: { p50: r(p.p50 - d.p50), p95: r(p.p95 - d.p95), p99: r(p.p99 - d.p99) },
    ttft_ms: {
      proxy: { p50: r(p.p50), p95: r(p.p95), p99: r(p.p99), n: p.n },
      direct: { p50: r(d.p50), p95: r(d.p95), p99: r(d.p99), n: d.n },
    },
    ratio: { p50: round(p.p50 / d.p50, 2), p95: round(p.p95 / d.p95, 2), p99: round(p.p99 / d.p99, 2) },
    proxy_cpu_ms_per_turn: round(cpuMs / Math.max(1, proxyTurns), 3),
    errors: errorsOf(viaProxy) + errorsOf(direct),
    think_ms: level.thinkMs ?? 0,
  };
}

export interface ThroughputResult {
  turns_per_s: number;
  direct_turns_per_s: number;
  /** Proxy turns/s ÷ direct turns/s at the same concurrency, same run. */
  ratio_to_direct: number;
  lost: number;
  accepted: number;
  completed: number;
  user_messages: number;
  assistant_messages: number;
  errors: number;
  concurrency: number;
  /** CPU per completed turn in each process, and the whole machine's (PostgreSQL and other tenants included). */
  cpu_ms_per_turn: { proxy: number; proxy_kernel: number; stand_in: number; load_generator: number; postgres: number; machine: number };
  /** Busy share of all cores during the proxy phases (1 = every core busy). */
  machine_busy: number;
}

/** Completed turns inside the phase window, per second (the drain after the window is left out). */
function rate(r: { all: TurnSample[]; startedAt: number; endsAt: number }): { turns: number; seconds: number } {
  return { turns: r.all.filter((s) => s.done && s.endedAt <= r.endsAt).length, seconds: (r.endsAt - r.startedAt) / 1000 };
}

async function measureThroughput(
  proxy: Child<ProxyReady>,
  standIn: StandIn,
  db: Db,
  proxyConvs: ProxyConversation[],
  directConvs: Conversation[],
  phaseMs: number,
  rounds: number,
): Promise<ThroughputResult> {
  const all: TurnSample[] = [];
  let p = { turns: 0, seconds: 0 };
  let d = { turns: 0, seconds: 0 };
  const cpu = { proxy: 0, proxyKernel: 0, standIn: 0, self: 0, postgres: 0, machineBusy: 0, machineTotal: 0 };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['proxy', 'direct'] : ['direct', 'proxy'];
    for (const side of order) {
      if (side === 'proxy') {
        const [p0, s0, m0, l0, g0] = [await proxyCpu(proxy), await standInCpuMs(standIn), machineCpu(), selfCpuMs(), processesCpuMs('postgres')];
        const r = await runPhase(proxyConvs, phaseMs, 1);
        const [p1, s1, m1, l1, g1] = [await proxyCpu(proxy), await standInCpuMs(standIn), machineCpu(), selfCpuMs(), processesCpuMs('postgres')];
        cpu.postgres += g1 - g0;
        cpu.proxy += p1.total - p0.total;
        cpu.proxyKernel += p1.system - p0.system;
        cpu.standIn += s1 - s0;
        cpu.self += l1 - l0;
        cpu.machineBusy += m1.busyMs - m0.busyMs;
        cpu.machineTotal += m1.totalMs - m0.totalMs;
        all.push(...r.all);
        const x = rate(r);
        p = { turns: p.turns + x.turns, seconds: p.seconds + x.seconds };
      } else {
        const x = rate(await runPhase(directConvs, phaseMs, 1));
        d = { turns: d.turns + x.turns, seconds: d.seconds + x.seconds };
      }
    }
  }
  // Turns that ended with an error may still be storing their partial reply: give them a moment.
  await new Promise((r) => setTimeout(r, 300));
  const sessions = proxyConvs.map((c) => c.sessionId);
  const { rows } = await db.query<{ users: string; assistants: string }>(
    `select count(*) filter (where m.role = 'user') as users, count(*) filter (where m.role = 'assistant') as assistants
     from public.messages m join public.conversations c on c.id = m.conversation_id
     where c.session_id = any($1::text[])`,
    [sessions],
  );
  const users = Number(rows[0]?.users ?? 0);
  const assistants = Number(rows[0]?.assistants ?? 0);
  const accepted = all.filter((s) => s.started).length;
  const completed = all.filter((s) => s.done).length;
  const turnsPerS = p.turns / p.seconds;
  const directPerS = d.turns / d.seconds;
  const n = Math.max(1, all.length);
  return {
    turns_per_s: round(turnsPerS, 1),
    direct_turns_per_s: round(directPerS, 1),
    ratio_to_direct: round(turnsPerS / directPerS, 3),
    lost: completed - assistants + (accepted - users),
    accepted,
    completed,
    user_messages: users,
    assistant_messages: assistants,
    errors: errorsOf(all),
    concurrency: proxyConvs.length,
    cpu_ms_per_turn: {
      proxy: round(cpu.proxy / n, 3),
      proxy_kernel: round(cpu.proxyKernel / n, 3),
      stand_in: round(cpu.standIn / n, 3),
      load_generator: round(cpu.self / n, 3),
      postgres: round(cpu.postgres / n, 3),
      machine: round(cpu.machineBusy / n, 3),
    },
    machine_busy: round(cpu.machineTotal ? cpu.machineBusy / cpu.machineTotal : Number.NaN, 3),
  };
}

async function standInCpuMs(standIn: StandIn): Promise<number> {
  const u = await standIn.request<{ userUs: number; systemUs: number }>('cpu');
  return (u.userUs + u.systemUs) / 1000;
}

export interface ProxyRunOptions {
  kind: 'postgres' | 'pglite';
  standIn: StandIn;
  levels: Level[];
  warmupMs: number;
  throughput?: { concurrency: number; phaseMs: number; rounds: number };
  /** Where to write a CPU profile of the proxy taken under saturating load (postgres only). */
  profile?: { path: string; concurrency: number; durationMs: number };
  say: (line: string) => void;
}

export interface ProxyRunResult {
  database: string;
  levels: Record<string, LevelResult>;
  throughput?: ThroughputResult;
  unlimited: string[];
  profile?: string;
}

export async function runProxyBench(opts: ProxyRunOptions): Promise<ProxyRunResult | { skipped: string }> {
  const { kind, standIn, say } = opts;
  // Undone in reverse order: sockets, proxy, our pool, then the database.
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    let env: Record<string, string>;
    let db: Db;
    let unlimited: string[];
    let apiKey: string;
    if (kind === 'postgres') {
      if (!(await pgAvailable())) return { skipped: 'PostgreSQL unreachable at 127.0.0.1:5432 (set TEST_PG_URL)' };
      const test = await createTestDatabase();
      cleanup.push(() => test.drop());
      db = openPostgres(test.url, { max: 2 });
      cleanup.push(() => db.close());
      ({ apiKey, unlimited } = await prepareDb(db));
      env = { DATABASE_URL: test.url };
      say(`  fresh database ${test.name}`);
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'mac-bench-pglite-'));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      db = await openPglite({ dataDir: dir });
      try {
        ({ apiKey, unlimited } = await prepareDb(db));
      } finally {
        await db.close();
      }
      env = { DATA_DIR: dir };
      say(`  PGlite data directory ${dir}`);
    }

    const proxy = await startChild<ProxyReady>('proxy-child.ts', proxyEnv({ ...env, MISTRAL_BASE_URL: standIn.ready.url }), { label: `proxy (${kind})` });
    cleanup.push(() => proxy.stop());
    const proxyTarget = target(`http://127.0.0.1:${proxy.ready.port}`);
    const directTarget = target(standIn.ready.url);
    cleanup.push(async () => {
      proxyTarget.agent.destroy();
      directTarget.agent.destroy();
    });
    const conversations = (n: number, prefix: string) => ({
      proxy: Array.from({ length: n }, () => new ProxyConversation(proxyTarget, apiKey, prefix)),
      direct: Array.from({ length: n }, () => new DirectConversation(directTarget)),
    });

    // Warm up the JIT, the pool and the keep-alive sockets on both paths; results are dropped.
    const warm = conversations(20, 'warm_');
    await Promise.all([runPhase(warm.proxy, opts.warmupMs), runPhase(warm.direct, opts.warmupMs)]);

    const levels: Record<string, LevelResult> = {};
    for (const level of opts.levels) {
      const convs = conversations(level.c, `ov${level.c}_`);
      const started = performance.now();
      const res = await measureLevel(proxy, convs.proxy, convs.direct, level);
      const key = `c${level.c}${level.thinkMs ? '_paced' : ''}`;
      levels[key] = res;
      say(
        `  ${key}: overhead p50 ${res.overhead_ms.p50} ms, p99 ${res.overhead_ms.p99} ms ` +
          `(TTFT proxy p50 ${res.ttft_ms.proxy.p50} vs direct ${res.ttft_ms.direct.p50} ms, n=${res.ttft_ms.proxy.n}/${res.ttft_ms.direct.n}, ` +
          `${res.errors} errors, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
    }

    const result: ProxyRunResult = { database: proxy.ready.database, levels, unlimited };
    if (opts.throughput) {
      const t = opts.throughput;
      const convs = conversations(t.concurrency, 'tp_');
      result.throughput = await measureThroughput(proxy, standIn, db, convs.proxy, convs.direct, t.phaseMs, t.rounds);
      const x = result.throughput;
      say(
        `  throughput at c${t.concurrency}: ${x.turns_per_s} turns/s (direct ${x.direct_turns_per_s}/s), lost ${x.lost}, ` +
          `CPU ms/turn: proxy ${x.cpu_ms_per_turn.proxy}, postgres ${x.cpu_ms_per_turn.postgres}, stand-in ${x.cpu_ms_per_turn.stand_in}, ` +
          `load generator ${x.cpu_ms_per_turn.load_generator}, whole machine ${x.cpu_ms_per_turn.machine} (busy ${Math.round(x.machine_busy * 100)} %)`,
      );
    }
    if (opts.profile) {
      const pr = opts.profile;
      const convs = conversations(pr.concurrency, 'prof_');
      await proxy.request('profile-start', { intervalUs: 250 });
      await runPhase(convs.proxy, pr.durationMs, 1);
      await proxy.request('profile-stop', { path: pr.path });
      result.profile = pr.path;
      say(`  CPU profile of the proxy under load: ${pr.path}`);
    }
    return result;
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err: unknown) => console.warn(`  cleanup: ${err instanceof Error ? err.message : String(err)}`));
  }
}
