/**
 * Part `weight`: the figures of `scripts/size.js --json` (every dist file raw/gzip/brotli, the script-tag
 * bundle's initial and total load), beside the floor (an element using only lit + marked + DOMPurify,
 * bench/floor/floor-element.ts, built with Vite in this run with the widget build's settings) and the peer
 * widgets installed from npm in bench/peers (bench/parts/peer-widgets.ts). Writes `bundle.*`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'vite';
import type { BenchContext, Part } from '../lib/part.ts';
import { measurePeerWidgets, PEER_WIDGETS, type PeerWidgets } from '../lib/peer-widgets.ts';
import { ensurePeers } from '../lib/peers.ts';
import type { Row } from '../lib/table.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface FileSize {
  file: string;
  raw: number;
  gz: number;
  br: number;
}

export interface WeightResult {
  initial_gz: number;
  total_gz: number;
  /** What a browser with the HTML Sanitizer API loads of it (no DOMPurify chunk). */
  total_native_gz: number;
  floor_gz: number;
  floor_raw: number;
  floor_br: number;
  /** Our total over the floor (1 = as light as lit + marked + DOMPurify alone). */
  total_to_floor: number;
  initial_br: number;
  total_br: number;
  /** size.js's estimate of third-party bytes inside our bundle. */
  third_party_est_gz?: number;
  breakdown?: unknown;
  over_budget?: string[];
  files: FileSize[];
}

export function sizeOf(file: string, buf: Buffer): FileSize {
  return {
    file,
    raw: buf.length,
    gz: gzipSync(buf, { level: 9 }).length,
    br: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

/** `node scripts/build.js`: the weight and render parts measure the fresh dist/. Throws when the build fails. */
export function buildDist(say: (s: string) => void): void {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, ['scripts/build.js'], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`the build failed (exit ${res.status}): ${(res.stderr || res.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  if (!existsSync(join(root, 'dist/mistral-agent-chat.js'))) throw new Error('the build did not write dist/mistral-agent-chat.js');
  say(`  built dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** The floor element built like the script-tag bundle (ES module, minified, one file). */
async function buildFloor(): Promise<FileSize> {
  const outDir = await mkdtemp(join(tmpdir(), 'mac-bench-floor-'));
  try {
    await build({
      configFile: false,
      root,
      logLevel: 'silent',
      publicDir: false,
      build: {
        outDir,
        emptyOutDir: true,
        target: 'es2021',
        minify: 'oxc',
        sourcemap: false,
        reportCompressedSize: false,
        copyPublicDir: false,
        lib: { entry: join(root, 'bench/floor/floor-element.ts'), formats: ['es'], fileName: () => 'floor.js' },
        rolldownOptions: { output: { minify: true, comments: false, codeSplitting: false } },
      },
    });
    const files = (await readdir(outDir)).filter((f) => f.endsWith('.js'));
    let total: FileSize = { file: 'floor', raw: 0, gz: 0, br: 0 };
    for (const f of files) {
      const s = sizeOf(f, await readFile(join(outDir, f)));
      total = { file: 'floor', raw: total.raw + s.raw, gz: total.gz + s.gz, br: total.br + s.br };
    }
    return total;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

export async function runWeight(): Promise<WeightResult> {
  const floor = await buildFloor();
  // size.js exits 1 when over budget but still prints its JSON; anything else is a failure.
  const res = spawnSync(process.execPath, ['scripts/size.js', '--json'], { cwd: root, encoding: 'utf8' });
  let parsed: {
    files: FileSize[];
    bundle: Record<string, unknown> & {
      initial_gz: number;
      total_gz: number;
      total_native_gz: number;
      initial_br: number;
      total_br: number;
      floor_gz: number;
    };
    over_budget?: string[];
  };
  try {
    parsed = JSON.parse(res.stdout);
  } catch {
    throw new Error(`scripts/size.js --json failed (exit ${res.status}): ${(res.stderr || res.stdout).trim().slice(0, 300)}`);
  }
  const b = parsed.bundle;
  return {
    initial_gz: b.initial_gz,
    total_gz: b.total_gz,
    total_native_gz: b.total_native_gz,
    floor_gz: floor.gz,
    floor_raw: floor.raw,
    floor_br: floor.br,
    total_to_floor: Math.round((b.total_gz / floor.gz) * 100) / 100,
    initial_br: b.initial_br,
    total_br: b.total_br,
    third_party_est_gz: b.floor_gz,
    breakdown: b.breakdown,
    over_budget: parsed.over_budget ?? [],
    files: parsed.files,
  };
}

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;

function rows(w: WeightResult, peers: PeerWidgets): Row[] {
  const lightest = Math.min(...Object.values(peers.gz));
  const list = PEER_WIDGETS.map((p) => `${p.label} ${kb(peers.gz[p.key] as number)}`).join(', ');
  return [
    { figure: 'widget on page load (gzip)', value: kb(w.initial_gz), goal: '≤ 12 KB', met: w.initial_gz <= 12 * 1024 },
    {
      figure: 'widget, everything it can load (gzip)',
      value: kb(w.total_gz),
      versus: `floor ${kb(w.floor_gz)} (×${w.total_to_floor}); lightest peer ${kb(lightest)} (×${Math.round((w.total_gz / lightest) * 100) / 100})`,
      goal: '≤ 42 KB, < every peer',
      met: w.total_gz <= 42 * 1024 && w.total_gz < lightest,
    },
    {
      figure: 'of which a browser with the HTML Sanitizer API loads (gzip)',
      value: kb(w.total_native_gz),
      versus: 'DOMPurify, the fallback sanitizer, loads only where the browser has none',
      goal: '',
      met: null,
    },
    { figure: 'peer widgets, script + required CSS (gzip)', value: list, goal: '', met: null },
  ];
}

async function run(ctx: BenchContext): Promise<void> {
  if (!ctx.args.includes('--no-build')) buildDist(ctx.say);
  const w = await runWeight();
  ensurePeers(ctx.say);
  const peers = await measurePeerWidgets();
  ctx.results.bundle = { ...w, peers: { ...peers.gz, detail: peers.detail } };
  ctx.say(`  ours: initial ${w.initial_gz} B, total ${w.total_gz} B gzip; floor ${w.floor_gz} B`);
  ctx.say(`  peers: ${Object.entries(peers.gz).map(([k, v]) => `${k} ${v} B`).join(', ')}`);
  ctx.rows.push(...rows(w, peers));
}

export const weightPart: Part = { name: 'weight', run };
