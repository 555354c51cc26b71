/**
 * Part `proxy`: overhead, saturation, CPU per turn and stored-message check of our proxy (PostgreSQL, PGlite)
 * beside Portkey and the direct baseline (bench/lib/proxy-bench.ts measures), then the CPU profile summary
 * (bench/profile-summary.md). Writes `proxy.*`, `peers.portkey.*` and `profile`.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Part } from '../lib/part.ts';
import { PACE } from '../lib/pace.ts';
import { runProxyBench, type LevelFigures, type ProxyBenchOptions, type ProxyBenchResult, type ThroughputFigures } from '../lib/proxy-bench.ts';
import { round } from '../lib/stats.ts';
import type { Row } from '../lib/table.ts';
import { writeProfileSummary } from './profile.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const PROFILE_PATH = here('../profiles/proxy-postgres.cpuprofile');

/** How much load each figure gets; --short divides phases for trying the bench out. */
function options(short: boolean, say: (s: string) => void): ProxyBenchOptions {
  const k = short ? 0.4 : 1;
  return {
    levels: [
      { c: 1, turns: short ? 6 : 20 },
      { c: 50, phaseMs: 6_000 * k },
      { c: 200, phaseMs: 6_000 * k },
    ],
    runs: 2,
    warmupMs: 3_000 * k,
    throughput: { concurrency: 1_000, phaseMs: 10_000 * k, rampMs: 3_000 * k },
    profile: { path: PROFILE_PATH, durationMs: 6_000 * k },
    say,
  };
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `×${round(a / b, 2)}` : 'n/a');

/** The saturation run with the most CPU per turn (process + PostgreSQL): the one the figure comes from. */
function heaviestRun(t: ThroughputFigures) {
  const cost = (x: ThroughputFigures['runs'][number]) => x.cpu_ms_per_turn.process + (x.cpu_ms_per_turn.postgres ?? 0);
  return t.runs.reduce((a, x) => (cost(x) > cost(a) ? x : a));
}

/** results.proxy.<kind>: DESIGN's keys (c1/c50/c200.overhead_ms.*, turns_per_s, lost) first, detail after. */
function kindResults(r: ProxyBenchResult, kind: 'postgres' | 'pglite') {
  const t = r.throughput[kind] as ThroughputFigures;
  const lost = r.lost[kind];
  const heaviest = heaviestRun(t);
  return {
    ...r.levels[kind],
    turns_per_s: t.turns_per_s,
    lost: lost?.lost ?? Number.NaN,
    cpu_ms_per_turn: {
      proxy: heaviest.cpu_ms_per_turn.process,
      ...(kind === 'postgres' ? { postgres: heaviest.cpu_ms_per_turn.postgres ?? Number.NaN } : {}),
      total: t.cpu_ms_per_turn,
    },
    lost_detail: lost,
    throughput: t,
  };
}

function rows(r: ProxyBenchResult): Row[] {
  const out: Row[] = [];
  const pk = r.levels.portkey;
  for (const level of ['c1', 'c50', 'c200']) {
    const pg = r.levels.postgres[level] as LevelFigures;
    const pl = r.levels.pglite[level] as LevelFigures;
    const p = pk[level] as LevelFigures;
    const goal = level === 'c50';
    out.push({
      figure: `proxy overhead on first text, ${level}, PostgreSQL p50 / p99`,
      value: `${ms(pg.overhead_ms.p50)} / ${ms(pg.overhead_ms.p99)}`,
      versus: `Portkey ${ms(p.overhead_ms.p50)} / ${ms(p.overhead_ms.p99)}; PGlite ${ms(pl.overhead_ms.p50)} / ${ms(pl.overhead_ms.p99)}`,
      goal: goal ? '≤ 2 / ≤ 10 ms, ≤ Portkey' : '',
      met: goal ? pg.overhead_ms.p50 <= 2 && pg.overhead_ms.p99 <= 10 && pg.overhead_ms.p50 <= p.overhead_ms.p50 && pg.overhead_ms.p99 <= p.overhead_ms.p99 : null,
    });
  }
  const tp = r.throughput.postgres as ThroughputFigures;
  const tpk = r.throughput.portkey as ThroughputFigures;
  const tpl = r.throughput.pglite as ThroughputFigures;
  out.push({
    figure: 'saturation, PostgreSQL, limits on (turns/s)',
    value: `${tp.turns_per_s}`,
    versus: `Portkey ${tpk.turns_per_s} (${ratio(tp.turns_per_s, tpk.turns_per_s)}); PGlite ${tpl.turns_per_s}; ceiling of this load ${tp.ceiling_turns_per_s}`,
    goal: '≥ 1000',
    met: tp.turns_per_s >= 1000,
  });
  const worstRun = heaviestRun(tp);
  out.push({
    figure: 'CPU per turn at saturation (proxy + PostgreSQL)',
    value: `${tp.cpu_ms_per_turn} ms (${worstRun.cpu_ms_per_turn.process} + ${worstRun.cpu_ms_per_turn.postgres})`,
    versus: `Portkey ${tpk.cpu_ms_per_turn} ms per request (${ratio(tp.cpu_ms_per_turn, tpk.cpu_ms_per_turn)})`,
    goal: '≤ Portkey',
    met: tp.cpu_ms_per_turn <= tpk.cpu_ms_per_turn,
  });
  const c50 = r.levels.postgres.c50 as LevelFigures;
  const c50pk = r.levels.portkey.c50 as LevelFigures;
  const c50total = round(c50.cpu_ms_per_turn + (c50.postgres_cpu_ms_per_turn ?? 0), 3);
  out.push({
    figure: 'CPU per turn at c50 (proxy + PostgreSQL)',
    value: `${c50total} ms (${c50.cpu_ms_per_turn} + ${c50.postgres_cpu_ms_per_turn})`,
    versus: `Portkey ${c50pk.cpu_ms_per_turn} ms per request (${ratio(c50total, c50pk.cpu_ms_per_turn)})`,
    goal: '',
    met: null,
  });
  const lp = r.lost.postgres;
  const ll = r.lost.pglite;
  out.push({
    figure: 'turns lost (user + assistant messages missing)',
    value: `PostgreSQL ${lp?.lost} (${lp?.lost_user} + ${lp?.lost_assistant}) of ${lp?.accepted} turns; PGlite ${ll?.lost} of ${ll?.accepted}`,
    versus: `errors: PostgreSQL ${tp.errors}, Portkey ${tpk.errors}`,
    goal: '0',
    met: lp?.lost === 0 && ll?.lost === 0,
  });
  return out;
}

async function run(ctx: BenchContext): Promise<void> {
  await mkdir(here('../profiles'), { recursive: true });
  const r = await runProxyBench(options(ctx.short, ctx.say));
  const pg = r.levels.postgres;
  const pk = r.levels.portkey;
  const tp = r.throughput.postgres as ThroughputFigures;
  const tpk = r.throughput.portkey as ThroughputFigures;
  const vs = (level: string) => {
    const a = pg[level] as LevelFigures;
    const b = pk[level] as LevelFigures;
    return { p50: round(a.overhead_ms.p50 / b.overhead_ms.p50, 3), p99: round(a.overhead_ms.p99 / b.overhead_ms.p99, 3) };
  };
  ctx.results.proxy = {
    stand_in: { first_text_ms: PACE.firstTextMs, chunk_interval_ms: PACE.chunkIntervalMs, text_chunks: PACE.textChunks, reply_ms: PACE.replyMs },
    limits: r.limits,
    postgres: {
      ...kindResults(r, 'postgres'),
      // Ours over Portkey's, same run (below 1: ours is better for overhead and CPU; above 1 for turns/s).
      vs_portkey: {
        c1_overhead: vs('c1'),
        c50_overhead: vs('c50'),
        c200_overhead: vs('c200'),
        turns_per_s: round(tp.turns_per_s / tpk.turns_per_s, 3),
        cpu_ms_per_turn: round(tp.cpu_ms_per_turn / tpk.cpu_ms_per_turn, 3),
      },
    },
    pglite: kindResults(r, 'pglite'),
    direct: r.levels.direct,
  };
  const peers = (ctx.results.peers ?? {}) as Record<string, unknown>;
  peers.portkey = {
    version: r.portkey.version,
    ...pk,
    turns_per_s: tpk.turns_per_s,
    cpu_ms_per_turn: tpk.cpu_ms_per_turn,
    throughput: tpk,
  };
  ctx.results.peers = peers;
  ctx.rows.push(...rows(r));
  if (r.profile) ctx.results.profile = await writeProfileSummary(r.profile, r, ctx.say);
}

export const proxyPart: Part = { name: 'proxy', run };
