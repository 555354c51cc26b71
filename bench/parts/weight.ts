/**
 * Part 3: weight. The figures of `scripts/size.js --json` (every dist file raw/gzip/brotli, the script-tag
 * bundle's initial and total load), beside the floor: an element using only lit + marked + DOMPurify
 * (bench/floor/floor-element.ts), built with Vite in this run with the widget build's settings.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface FileSize {
  file: string;
  raw: number;
  gz: number;
  br: number;
}

export interface WeightResult {
  initial_gz?: number;
  total_gz?: number;
  floor_gz: number;
  floor_raw: number;
  floor_br: number;
  /** Our total over the floor (1 = as light as lit + marked + DOMPurify alone). */
  total_to_floor?: number;
  initial_br?: number;
  total_br?: number;
  /** size.js's estimate of third-party bytes inside our bundle. */
  third_party_est_gz?: number;
  breakdown?: unknown;
  over_budget?: string[];
  files: FileSize[];
  source: 'scripts/size.js' | 'none';
  note?: string;
}

export function sizeOf(file: string, buf: Buffer): FileSize {
  return {
    file,
    raw: buf.length,
    gz: gzipSync(buf, { level: 9 }).length,
    br: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

/** `node scripts/build.js` (when present): the render part loads the fresh dist/mistral-agent-chat.js. */
export function buildDist(say: (s: string) => void): boolean {
  if (!existsSync(join(root, 'scripts/build.js'))) {
    say('  scripts/build.js is missing: using dist/ as it is');
    return existsSync(join(root, 'dist/mistral-agent-chat.js'));
  }
  const t0 = performance.now();
  const res = spawnSync(process.execPath, ['scripts/build.js'], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) {
    say(`  build failed (exit ${res.status}): ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join(' | ')}`);
    return false;
  }
  say(`  built dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return existsSync(join(root, 'dist/mistral-agent-chat.js'));
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
  const base = { floor_gz: floor.gz, floor_raw: floor.raw, floor_br: floor.br };
  if (!existsSync(join(root, 'scripts/size.js')) || !existsSync(join(root, 'dist/mistral-agent-chat.js'))) {
    return { ...base, files: [], source: 'none', note: 'scripts/size.js or dist/ missing: bundle sizes not measured' };
  }
  // size.js exits 1 when over budget but still prints its JSON.
  const res = spawnSync(process.execPath, ['scripts/size.js', '--json'], { cwd: root, encoding: 'utf8' });
  let parsed: {
    files: FileSize[];
    bundle: Record<string, unknown> & { initial_gz: number; total_gz: number; initial_br: number; total_br: number; floor_gz: number };
    over_budget?: string[];
  };
  try {
    parsed = JSON.parse(res.stdout);
  } catch {
    return { ...base, files: [], source: 'none', note: `scripts/size.js --json failed: ${(res.stderr || res.stdout).trim().slice(0, 200)}` };
  }
  const b = parsed.bundle;
  return {
    ...base,
    initial_gz: b.initial_gz,
    total_gz: b.total_gz,
    total_to_floor: Math.round((b.total_gz / floor.gz) * 100) / 100,
    initial_br: b.initial_br,
    total_br: b.total_br,
    third_party_est_gz: b.floor_gz,
    breakdown: b.breakdown,
    over_budget: parsed.over_budget ?? [],
    files: parsed.files,
    source: 'scripts/size.js',
  };
}
