/**
 * `npm run bench`: proxy overhead and saturation (PostgreSQL, PGlite) beside the Portkey gateway and the
 * direct baseline, widget weight beside the floor and the peer widgets, streaming render cost in Chromium.
 * Prints a table, rewrites bench/results.json whole and the README's Performance table from it; the proxy's
 * CPU profile and SQL per turn are summarised in bench/profile-summary.md.
 * Timing figures sit beside a baseline measured in the same run (interleaved, the machine is shared), and
 * each is the worse of two runs. A part that fails (the build included) fails the bench: exit 1, results.json
 * rewritten with what was measured and `failed`, README.md untouched.
 *
 *   npm run bench                         everything (about 10 minutes)
 *   npm run bench -- --only=proxy,render  some parts (proxy, weight, render, data): written to bench/results-partial.json only
 *   npm run bench -- --only=data --keep-data   the data part keeps its 10 M-message database (BENCH_DATA_MESSAGES sets the size)
 *   npm run bench -- --short              shorter phases, to try the bench out: results-partial.json only
 *   npm run bench -- --no-build           use dist/ as it is (default: node scripts/build.js first)
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Part } from './lib/part.ts';
import { dataPart } from './parts/data.ts';
import { formatTable, type Row } from './lib/table.ts';
import { proxyPart } from './parts/proxy.ts';
import { renderPart } from './parts/render.ts';
import { weightPart } from './parts/weight.ts';
import { updateReadme } from './readme.ts';

/** The parts, in order (weight builds dist/, which render loads). Each writes its own keys of results.json. */
const PARTS: Part[] = [proxyPart, weightPart, renderPart, dataPart];

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const args = process.argv.slice(2);
const onlyArg = args.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice(7).split(',')) : null;
const short = args.includes('--short');
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);
const say = (line: string) => console.log(line);

for (const name of only ?? []) if (!PARTS.some((p) => p.name === name)) throw new Error(`--only: no part "${name}" (${PARTS.map((p) => p.name).join(', ')})`);

const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  date: new Date().toISOString(),
  load_avg_at_start: load(),
  load_avg_at_end: [] as number[],
  bench_seconds: 0,
  shared: 'several engineers share this machine: absolute timings are noisy, compare the same-run ratios',
};
const rows: Row[] = [];
const results: Record<string, unknown> = {
  machine,
  method: {
    timing: 'worse of two runs per figure (targets interleaved, order reversed between runs)',
    overhead: 'time to first text through the target minus straight to the stand-in, same percentile, same run',
    cpu: 'process CPU time (/proc/<pid>/stat) over completed turns; ours on PostgreSQL adds the backends of the bench database',
  },
};
const ctx: BenchContext = { results, rows, args, short, say };

let failed: string | undefined;
for (const part of PARTS) {
  if (only && !only.has(part.name)) continue;
  say(`\n[${elapsed()}] ${part.name}`);
  try {
    await part.run(ctx);
  } catch (err) {
    failed = `${part.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    say(`  ${part.name} FAILED: ${failed}`);
    break;
  }
}

machine.load_avg_at_end = load();
machine.bench_seconds = Math.round((performance.now() - started) / 1000);
rows.unshift({
  figure: 'machine: load average (1 min), start → end',
  value: `${machine.load_avg_at_start[0]} → ${machine.load_avg_at_end[0]} on ${machine.cores} cores`,
  versus: 'shared machine: other work adds to timings',
  goal: '',
  met: null,
});
results.table = rows;

if (failed) results.failed = failed;
// Rewritten whole, never merged with an older file: a failed run leaves no old figure looking current.
const partial = Boolean(only) || short;
const file = partial ? 'results-partial.json' : 'results.json';
await writeFile(here(`./${file}`), JSON.stringify(results, null, 2) + '\n');
if (failed) {
  say(`\n[${elapsed()}] the bench FAILED (${failed.split('\n')[0]}); bench/${file} says so, README.md untouched`);
  process.exit(1);
}
if (!partial) await updateReadme(results as Parameters<typeof updateReadme>[0]);
say(`\n[${elapsed()}] bench/${file}${partial ? ' (partial run: results.json and README.md untouched)' : ' and README.md written'}; timings beside their same-run baseline`);
say(formatTable(rows));
// Children and sockets are closed; exit even if a library keeps a handle open.
process.exit(0);
