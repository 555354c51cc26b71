/** Summarises a V8 CPU profile (.cpuprofile) by self time: top functions and where they live. */
import { readFile } from 'node:fs/promises';
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
}

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
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const busy = total - idle;
  const share = (us: number) => round(us / busy, 4);
  return {
    total_ms: round(total / 1000, 1),
    busy_ms: round(busy / 1000, 1),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ name: f.name, where: f.where, area: f.area, self_ms: round(f.us / 1000, 1), share: share(f.us) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, self_ms: round(us / 1000, 1), share: share(us) })),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

export function profileMarkdown(s: ProfileSummary, context: string, findings: string): string {
  const lines = [
    '# Where the proxy spends its CPU under load',
    '',
    context,
    '',
    `Sampled ${s.total_ms} ms, of which ${s.busy_ms} ms busy (the rest idle, waiting on PostgreSQL, the stand-in or the load generator).`,
    'Shares below are of busy time, by **self time** (time in the function itself, not its callees).',
    '',
    '## By area',
    '',
    '| area | self ms | share |',
    '|---|---:|---:|',
    ...s.areas.slice(0, 20).map((a) => `| ${a.area} | ${a.self_ms} | ${pct(a.share)} |`),
    '',
    '## Top functions by self time',
    '',
    '| # | function | where | area | self ms | share |',
    '|---:|---|---|---|---:|---:|',
    ...s.top.map((f, i) => `| ${i + 1} | \`${f.name}\` | ${f.where ? `\`${f.where}\`` : ''} | ${f.area} | ${f.self_ms} | ${pct(f.share)} |`),
    '',
    findings,
    '',
  ];
  return lines.join('\n');
}
