/**
 * The proxy's CPU profile, summarised: a V8 CPU profile (.cpuprofile) by self time (top functions, areas) and
 * by the package that asked for the work (the nearest package frame on the stack), plus PostgreSQL's statements
 * per turn, written to bench/profile-summary.md with the hand-written reading notes (bench/profile-notes.md).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ProfileCapture, ProxyBenchResult } from '../lib/proxy-bench.ts';
import { round } from '../lib/stats.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  area: string;
  self_ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled time, idle included (ms). */
  total_ms: number;
  /** Time not idle (ms). */
  busy_ms: number;
  top: SelfTime[];
  areas: { area: string; self_ms: number; share: number }[];
  /** Busy time charged to the nearest package frame on the stack (who asked for the work). */
  callers: { caller: string; ms: number; share: number }[];
  /**
   * Sampled time in the native frames that make socket syscalls (writev, writeUtf8String, …). The sampler
   * counts wall time, so a write during which the scheduler ran another process is charged in full here:
   * these frames are kept out of `areas` and `callers` (whose shares are of the rest, the user-space work),
   * and the kernel's real share comes from the process's system time instead.
   */
  syscall_ms: number;
}

/** Native frames whose self time is mostly a socket syscall (libuv writes straight from them when it can). */
const SYSCALL_FRAMES = new Set(['writev', 'writeUtf8String', 'writeBuffer', 'writeLatin1String', 'writeAsciiString', 'writeUcs2String', 'connect', 'shutdown', 'close']);
const isSyscall = (cf: CallFrame) => !cf.url && SYSCALL_FRAMES.has(cf.functionName);

const REPO = new URL('../../', import.meta.url).href;

/** Which part of the stack a frame belongs to: our code, a package, Node internals, V8/GC. */
export function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'V8: garbage collector';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return 'V8: (program)';
    return 'native / builtin';
  }
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? 'node_modules');
  }
  if (url.startsWith(REPO)) return `ours: ${url.slice(REPO.length).split('/').slice(0, 3).join('/')}`;
  return url;
}

/**
 * Who asked for a sample's work: walking from the leaf to the root, the first frame in a package or in our
 * code (node internals, web streams and builtins are charged to whoever called them); GC and idle as such.
 */
function callerOf(stack: CallFrame[]): string {
  const leaf = stack[0];
  if (leaf && !leaf.url && leaf.functionName === '(garbage collector)') return 'V8: garbage collector';
  for (const cf of stack) {
    if (cf.url.includes('/node_modules/')) {
      const area = areaOf(cf.url, cf.functionName);
      if (area === 'hono' || area === '@hono/node-server') return 'Hono + @hono/node-server (routing, SSE helper, Node adapter)';
      if (area === 'pg' || area.startsWith('pg-')) return 'pg driver';
      return area;
    }
    if (cf.url.includes('undici')) return 'undici (upstream fetch)';
    if (cf.url.startsWith(REPO)) {
      const file = cf.url.slice(REPO.length);
      if (file.includes('/upstream/')) return `ours: ${file} (upstream client)`;
      return `ours: ${file}`;
    }
  }
  const top = stack.find((cf) => cf.url.startsWith('node:'));
  return top ? `node only: ${areaOf(top.url, top.functionName).slice(6)}` : 'native only (no JS caller)';
}

function location(cf: CallFrame): string {
  if (!cf.url) return '';
  const short = cf.url.startsWith(REPO)
    ? cf.url.slice(REPO.length)
    : cf.url.includes('/node_modules/')
      ? cf.url.slice(cf.url.lastIndexOf('/node_modules/') + 14)
      : cf.url;
  // tsx runs our .ts files as transformed code whose positions say nothing useful (line 1): name the file only.
  return cf.url.startsWith(REPO) && cf.lineNumber === 0 ? short : `${short}:${cf.lineNumber + 1}`;
}

export async function summariseProfile(path: string, topN = 30): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Samples inside the bench harness (the child's IPC handler stopping the profiler) are not the proxy's.
  const harness = new Set<number>();
  for (const n of profile.nodes) {
    for (let cur: number | undefined = n.id; cur !== undefined; cur = parent.get(cur)) {
      if ((byId.get(cur) as ProfileNode).callFrame.url.endsWith('/bench/proxy-child.ts')) {
        harness.add(n.id);
        break;
      }
    }
  }
  const stackOf = (id: number): CallFrame[] => {
    const out: CallFrame[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) out.push((byId.get(cur) as ProfileNode).callFrame);
    return out;
  };
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; charge each interval to the sample that ends it.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    if (harness.has(id)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0));
  }
  const fns = new Map<string, { name: string; where: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let syscall = 0;
  for (const [id, us] of selfUs) {
    const cf = (byId.get(id) as ProfileNode).callFrame;
    const name = cf.functionName || '(anonymous)';
    const area = areaOf(cf.url, cf.functionName);
    total += us;
    if (area === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${name}@${location(cf)}`;
    const f = fns.get(key) ?? { name, where: location(cf), area, us: 0 };
    f.us += us;
    fns.set(key, f);
    if (isSyscall(cf)) syscall += us;
    else areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const busy = total - idle;
  const share = (us: number) => round(us / busy, 4);
  const userShare = (us: number) => round(us / (busy - syscall), 4);
  const callers = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const cf = (byId.get(id) as ProfileNode).callFrame;
    if (areaOf(cf.url, cf.functionName) === '(idle)' || isSyscall(cf)) continue;
    const c = callerOf(stackOf(id));
    callers.set(c, (callers.get(c) ?? 0) + us);
  }
  return {
    total_ms: round(total / 1000, 1),
    busy_ms: round(busy / 1000, 1),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ name: f.name, where: f.where, area: f.area, self_ms: round(f.us / 1000, 1), share: share(f.us) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, self_ms: round(us / 1000, 1), share: userShare(us) })),
    callers: [...callers.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([caller, us]) => ({ caller, ms: round(us / 1000, 1), share: userShare(us) })),
    syscall_ms: round(syscall / 1000, 1),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * The generated half of profile-summary.md. Per turn: the kernel's part is the measured system time; the
 * user-space part (measured user time) is spread over the shares of sampled user-space work.
 */
export function profileMarkdown(s: ProfileSummary, context: string, cpu: { total: number; kernel: number }, sql: string, notes: string): string {
  const user = cpu.total - cpu.kernel;
  const est = (share: number) => (user * share).toFixed(3);
  return [
    '# Where a turn\'s CPU goes',
    '',
    context,
    '',
    `Proxy CPU per turn in this run: **${cpu.total.toFixed(3)} ms** (/proc), of which ${cpu.kernel.toFixed(3)} ms in the kernel (socket reads and writes, epoll) ` +
      `and ${user.toFixed(3)} ms in user space.`,
    `Sampled ${s.total_ms} ms, ${s.busy_ms} ms busy (the rest idle, waiting on PostgreSQL, the stand-in or the load generator); ` +
      `${s.syscall_ms} ms of it in native socket-write frames (\`writev\`, …), which the wall-clock sampler inflates (see the notes): ` +
      'they are left out of the two tables below, whose shares are of the user-space work, spread over the measured user time ("≈ ms/turn").',
    '',
    '## By who asked for the work (nearest package or our file on the stack)',
    '',
    '| caller | sampled ms | share | ≈ ms/turn |',
    '|---|---:|---:|---:|',
    `| kernel (measured system time) | | | ${cpu.kernel.toFixed(3)} |`,
    ...s.callers.slice(0, 20).map((c) => `| ${c.caller} | ${c.ms} | ${pct(c.share)} | ${est(c.share)} |`),
    '',
    '## By area (self time: the code that ran)',
    '',
    '| area | self ms | share | ≈ ms/turn |',
    '|---|---:|---:|---:|',
    ...s.areas.slice(0, 20).map((a) => `| ${a.area} | ${a.self_ms} | ${pct(a.share)} | ${est(a.share)} |`),
    '',
    '## Top functions by self time',
    '',
    '| # | function | where | area | self ms | share of busy |',
    '|---:|---|---|---|---:|---:|',
    ...s.top.map((f, i) => `| ${i + 1} | \`${f.name}\` | ${f.where ? `\`${f.where}\`` : ''} | ${f.area} | ${f.self_ms} | ${pct(f.share)} |`),
    '',
    sql,
    '',
    notes,
    '',
  ].join('\n');
}

/** PostgreSQL's side of a turn, from the profiling run: functions, rows written, each statement's cost. */
function sqlMarkdown(p: ProfileCapture): string {
  const q = p.sql;
  return [
    '## PostgreSQL per turn',
    '',
    `Same profiling run (track_functions = 'all' on its connections only): ${q.turns} turns, ${q.transactions_per_turn} transactions per turn, ` +
      `backend CPU ${p.postgres_cpu_ms_per_turn} ms per turn (/proc of the bench database's backends), proxy ${p.proxy_cpu_ms_per_turn} ms.`,
    '',
    '| SQL function | calls/turn | total ms/turn | self ms/turn |',
    '|---|---:|---:|---:|',
    ...q.functions.map((f) => `| \`${f.name}\` | ${f.calls_per_turn} | ${f.total_ms_per_turn} | ${f.self_ms_per_turn} |`),
    '',
    '| table | rows inserted/turn | updated/turn (HOT) | deleted/turn |',
    '|---|---:|---:|---:|',
    ...q.tables.map((t) => `| ${t.table} | ${t.inserted} | ${t.updated} (${t.hot_updated}) | ${t.deleted} |`),
    '',
    'Each statement inside the turn functions (and their triggers), timed by auto_explain (log_analyze, nested statements) on one quiet',
    'connection, 40 turns of one conversation with a full history: the cost of the statement itself, without concurrency.',
    '',
    '| step | statement | per turn | mean ms |',
    '|---|---|---:|---:|',
    ...p.statements.map((x) => `| ${x.step} | \`${x.statement.replaceAll('|', '\\|')}\` | ${x.per_turn} | ${x.mean_ms} |`),
  ].join('\n');
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Summarises the capture into bench/profile-summary.md; returns what results.json keeps of it. */
export async function writeProfileSummary(p: ProfileCapture, r: ProxyBenchResult, say: (s: string) => void): Promise<Record<string, unknown>> {
  const summary = await summariseProfile(p.path, 30);
  const t = r.throughput.postgres;
  const context = [
    `Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${cpus().length} cores, Node ${process.version}).`,
    'Proxy = the real Node entry (`startServer`) in its own process over PostgreSQL (limits on), driven by the load generator',
    '(another process) in a closed loop at the saturation concurrency against the paced Mistral stand-in (a third process);',
    `V8 sampling profile through the inspector over ${p.turns} turns (raw: \`bench/profiles/proxy-postgres.cpuprofile\`, open it in Chrome DevTools).`,
    t ? `Same run, measured phases: ${t.turns_per_s} turns/s at saturation, CPU ${t.cpu_ms_per_turn} ms per turn (proxy + PostgreSQL backends, worse run).` : '',
  ].join('\n');
  let notes = '';
  try {
    notes = await readFile(here('../profile-notes.md'), 'utf8');
  } catch {
    // no hand-written notes
  }
  const cpu = { total: p.proxy_cpu_ms_per_turn, kernel: p.proxy_kernel_ms_per_turn };
  await writeFile(here('../profile-summary.md'), profileMarkdown(summary, context, cpu, sqlMarkdown(p), notes.trim()));
  say(`  profile summary: bench/profile-summary.md (top callers: ${summary.callers.slice(0, 3).map((c) => `${c.caller} ${(c.share * 100).toFixed(0)} %`).join(', ')})`);
  return {
    file: 'bench/profile-summary.md',
    turns: p.turns,
    busy_ms: summary.busy_ms,
    proxy_cpu_ms_per_turn: p.proxy_cpu_ms_per_turn,
    proxy_kernel_ms_per_turn: p.proxy_kernel_ms_per_turn,
    syscall_sampled_ms: summary.syscall_ms,
    postgres_cpu_ms_per_turn: p.postgres_cpu_ms_per_turn,
    callers: summary.callers.slice(0, 12),
    areas: summary.areas.slice(0, 12),
    top: summary.top.slice(0, 12),
    sql: p.sql,
    statements: p.statements,
  };
}
