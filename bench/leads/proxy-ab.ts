/**
 * A/B of two builds of the whole proxy (the real Node entry, limits on, PostgreSQL, statement timeout) in the
 * same run: A from another source tree (a `git archive` of the commit to compare with, node_modules linked),
 * B from this tree. Each has its own fresh database (so its backends' CPU is its own) and both stream from
 * the same paced stand-in. Phases alternate A B / B A over the rounds; every figure is given per round, and
 * the summary keeps the worse round of each side and the ratio B/A of those.
 *
 *   git archive <commit> | tar -x -C /tmp/proxy-a && ln -s "$PWD/node_modules" /tmp/proxy-a/node_modules
 *   node --import tsx bench/leads/proxy-ab.ts --a=/tmp/proxy-a [--rounds=3] [--sat=600] [--phase-ms=6000] [--profile=/tmp/b.cpuprofile]
 *     [--b-node-args="--max-semi-space-size=32"]   (Node flags for B only; --a=. compares a flag on this tree)
 *
 * Per phase: c50 (50 conversations, closed loop against the ~1 s stand-in: overhead on first text = TTFT
 * through the proxy minus straight to the stand-in in the same round) and saturation (`--sat` conversations:
 * turns/s and CPU per turn, proxy process + its database's backends). `--profile`: one more saturation phase
 * of B after the rounds, under the V8 sampling profiler (written there, its top callers and functions printed).
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { createTestDatabase } from '../../test/helpers/pg.ts';
import { startChild, type Child } from '../lib/child.ts';
import { processCpu } from '../lib/cpu.ts';
import { CompletionsConversation, ProxyConversation, runPhase, target, type Conversation, type Target, type TurnSample } from '../lib/load.ts';
import { PACE } from '../lib/pace.ts';
import { pgCpuDelta, readPgCpu } from '../lib/pg-stats.ts';
import { prepareDb, proxyEnv, type ProxyReady } from '../lib/proxy-bench.ts';
import { quantiles, round } from '../lib/stats.ts';
import { summariseProfile } from '../parts/profile.ts';

const arg = (name: string, dflt?: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const aDir = arg('a');
if (!aDir) throw new Error('--a=<source tree of build A> is required');
const ROUNDS = Number(arg('rounds', '3'));
const SAT = Number(arg('sat', '600'));
const PHASE_MS = Number(arg('phase-ms', '6000'));
const PROFILE = arg('profile');
/** Node flags for B only (e.g. `--max-semi-space-size=32`), to A/B a runtime setting on one tree. */
const B_NODE_ARGS = arg('b-node-args')?.split(' ').filter(Boolean) ?? [];
const say = (s: string) => console.log(s);

type Db = ReturnType<typeof openPostgres>;
interface Variant {
  name: 'A' | 'B';
  child: Child<ProxyReady>;
  target: Target;
  db: Db;
  apiKey: string;
  drop: () => Promise<void>;
}

const standIn = await startChild<{ url: string }>('stand-in-child.ts', process.env, { label: 'stand-in' });
const direct = target(standIn.ready.url);

async function variant(name: 'A' | 'B', proxyChild: string, nodeArgs: string[] = []): Promise<Variant> {
  const test = await createTestDatabase();
  const db = openPostgres(test.url, { max: 2 });
  const { apiKey } = await prepareDb(db);
  const child = await startChild<ProxyReady>(proxyChild, proxyEnv({ DATABASE_URL: test.url, MISTRAL_BASE_URL: standIn.ready.url }), { label: `proxy ${name}`, nodeArgs });
  return { name, child, target: target(`http://127.0.0.1:${child.ready.port}`), db, apiKey, drop: test.drop };
}

const variants = [await variant('A', join(resolve(aDir), 'bench/proxy-child.ts')), await variant('B', 'proxy-child.ts', B_NODE_ARGS)];
say(`# proxy A/B, ${new Date().toISOString()}, load ${loadavg().map((x) => x.toFixed(2)).join(' / ')}; A = ${aDir}, B = this tree`);

const ttfts = (s: TurnSample[]) => s.filter((x) => !x.error && Number.isFinite(x.ttftMs)).map((x) => x.ttftMs);

async function phase(v: Variant, convs: Conversation[]) {
  const pg0 = await readPgCpu(v.db);
  const c0 = processCpu(v.child.proc.pid as number);
  const r = await runPhase(convs, { durationMs: PHASE_MS, staggerMs: PACE.replyMs });
  const c1 = processCpu(v.child.proc.pid as number);
  const pg = pgCpuDelta(pg0, await readPgCpu(v.db)).backends;
  const turns = r.samples.filter((s) => s.done).length;
  const errors = r.samples.filter((s) => s.error).length;
  if (errors) say(`  ! ${v.name}: ${errors} errors, first: ${r.samples.find((s) => s.error)?.error}`);
  return {
    turns,
    errors,
    turnsPerS: turns / ((r.drainedAt - r.startedAt) / 1000),
    proxyMs: (c1.user + c1.system - c0.user - c0.system) / Math.max(1, turns),
    kernelMs: (c1.system - c0.system) / Math.max(1, turns),
    pgMs: pg / Math.max(1, turns),
    ttft: quantiles(ttfts(r.samples)),
  };
}

type Row = { c50: { p50: number; p99: number; proxyMs: number; pgMs: number }; sat: { turnsPerS: number; proxyMs: number; kernelMs: number; pgMs: number; errors: number } };
const rows = new Map<string, Row[]>([['A', []], ['B', []]]);
try {
  // Warm-up: JIT, pools, keep-alive sockets.
  for (const v of variants) await runPhase(Array.from({ length: 50 }, () => new ProxyConversation(v.target, v.apiKey, 'warm_')), { durationMs: 3_000, staggerMs: PACE.replyMs });
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...variants].reverse() : variants;
    const d = await runPhase(Array.from({ length: 50 }, () => new CompletionsConversation(direct)), { durationMs: PHASE_MS, staggerMs: PACE.replyMs });
    const dq = quantiles(ttfts(d.samples));
    for (const v of order) {
      const c = await phase(v, Array.from({ length: 50 }, () => new ProxyConversation(v.target, v.apiKey, `c50_${r}_`)));
      const s = await phase(v, Array.from({ length: SAT }, () => new ProxyConversation(v.target, v.apiKey, `sat_${r}_`)));
      const row: Row = {
        c50: { p50: c.ttft.p50 - dq.p50, p99: c.ttft.p99 - dq.p99, proxyMs: c.proxyMs, pgMs: c.pgMs },
        sat: { turnsPerS: s.turnsPerS, proxyMs: s.proxyMs, kernelMs: s.kernelMs, pgMs: s.pgMs, errors: s.errors },
      };
      rows.get(v.name)?.push(row);
      say(
        `  round ${r + 1} ${v.name}: c50 overhead p50/p99 ${round(row.c50.p50, 1)}/${round(row.c50.p99, 1)} ms, CPU/turn ${round(c.proxyMs, 2)} + PG ${round(c.pgMs, 2)}; ` +
          `sat ${round(s.turnsPerS, 1)} turns/s, CPU/turn ${round(s.proxyMs, 2)} (kernel ${round(s.kernelMs, 2)}) + PG ${round(s.pgMs, 2)}` +
          ` [load ${loadavg()[0]?.toFixed(1)}]`,
      );
    }
  }
  const worse = (name: string) => {
    const l = rows.get(name) as Row[];
    const max = (f: (x: Row) => number) => Math.max(...l.map(f));
    const min = (f: (x: Row) => number) => Math.min(...l.map(f));
    return {
      c50p50: max((x) => x.c50.p50),
      c50p99: max((x) => x.c50.p99),
      c50cpu: max((x) => x.c50.proxyMs + x.c50.pgMs),
      satTps: min((x) => x.sat.turnsPerS),
      satProxy: max((x) => x.sat.proxyMs),
      satPg: max((x) => x.sat.pgMs),
      satCpu: max((x) => x.sat.proxyMs + x.sat.pgMs),
    };
  };
  const a = worse('A');
  const b = worse('B');
  say('\n| figure (worse round) | A | B | B/A |\n|---|---:|---:|---:|');
  for (const [k, label] of [
    ['c50p50', 'c50 overhead p50 ms'],
    ['c50p99', 'c50 overhead p99 ms'],
    ['c50cpu', 'c50 CPU ms/turn (proxy + PG)'],
    ['satTps', 'saturation turns/s'],
    ['satProxy', 'saturation proxy CPU ms/turn'],
    ['satPg', 'saturation PG CPU ms/turn'],
    ['satCpu', 'saturation CPU ms/turn (proxy + PG)'],
  ] as const) {
    say(`| ${label} | ${round(a[k], 2)} | ${round(b[k], 2)} | ×${round(b[k] / a[k], 2)} |`);
  }
  if (PROFILE) {
    // One more saturation phase of B under the profiler, after the measured rounds (the sampler costs CPU).
    const b = variants[1] as Variant;
    await b.child.request('profile-start', { intervalUs: 250 });
    await phase(b, Array.from({ length: SAT }, () => new ProxyConversation(b.target, b.apiKey, 'prof_')));
    await b.child.request('profile-stop', { path: PROFILE });
    const p = await summariseProfile(PROFILE, 40);
    say(`\n## B profiled (an extra saturation phase, not in the figures above): ${p.busy_ms} ms busy of ${p.total_ms}, ${p.syscall_ms} in socket writes\n`);
    for (const c of p.callers.slice(0, 25)) say(`  ${c.caller}: ${c.ms} ms (${round(c.share * 100, 1)} %)`);
    say('');
    for (const f of p.top) say(`  ${f.name} ${f.where}: ${f.self_ms} ms (${round(f.share * 100, 1)} %)`);
  }
} finally {
  for (const v of variants) {
    v.target.agent.destroy();
    await v.child.stop();
    await v.db.close();
    await v.drop();
  }
  direct.agent.destroy();
  await standIn.stop();
}
process.exit(0);
