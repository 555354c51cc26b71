#!/usr/bin/env node
// Bundle size report and CI gate. Builds nothing: reads dist/ (run `npm run build` first).
//   node scripts/size.js                 table of every dist file (raw, gzip, brotli), the script-tag
//                                        bundle's initial and total load, a breakdown by module; exit 1
//                                        when over size-budget.json
//   node scripts/size.js --json          the same figures as JSON (bench/run.ts reads bundle.*)
//   node scripts/size.js --set-budget    write size-budget.json = measured + 2 %
//   node scripts/size.js --stamp         write the measured figures into the docs that quote them (below)
//   node scripts/size.js --set-console-budget   write size-budget.json's "console" = measured + 2 % (the widget's stays)
// The README and the demo page quote figures between markers, `<!-- size:initial_gz -->1.7 KB<!-- /size -->`:
// every run checks that they match this build (exit 1 when stale, like an over-budget bundle), --stamp rewrites them.
// Initial = dist/mistral-agent-chat.js + its static imports (the launcher-first loader alone); total =
// initial + everything it can load with import(), transitively (the element chunk dist/mac-element-*.js,
// then the markdown chunk dist/mac-render-*.js, and DOMPurify's dist/mac-purify-*.js where the browser has no
// HTML Sanitizer API; total_native_gz leaves that one out). The graph and the per-module bytes come from
// dist/stats.json (written by the build).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const budgetFile = join(root, 'size-budget.json');
const ENTRY = 'mistral-agent-chat.js';
const args = new Set(process.argv.slice(2));

if (!existsSync(join(dist, ENTRY)) || !existsSync(join(dist, 'stats.json'))) {
  console.error('size: dist/ has no build; run `npm run build` first');
  process.exit(1);
}

const sizes = new Map();
function measure(file) {
  let s = sizes.get(file);
  if (!s) {
    const buf = readFileSync(join(dist, file));
    s = {
      file,
      raw: buf.length,
      gz: gzipSync(buf, { level: 9 }).length,
      br: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
    sizes.set(file, s);
  }
  return s;
}

const files = readdirSync(dist, { recursive: true })
  .map((f) => String(f).replaceAll('\\', '/'))
  .filter((f) => !/(^|-)stats\.json$/.test(f) && !/\.(br|gz)$/.test(f) && statSync(join(dist, f)).isFile())
  .sort();

/** @type {Record<string, {imports: string[], dynamicImports: string[], modules: Record<string, {rendered: number, min_gz: number}>}>} */
const stats = JSON.parse(readFileSync(join(dist, 'stats.json'), 'utf8'));
/** Import specifiers are relative to the importing file (or already dist-relative for chunk files). */
const toFile = (from, spec) => {
  const candidates = [posix.normalize(posix.join(posix.dirname(from), spec)), spec];
  return candidates.find((c) => stats[c]);
};
function closure(start, { dynamic }) {
  const seen = new Set();
  const visit = (file) => {
    if (!file || seen.has(file)) return;
    seen.add(file);
    const chunk = stats[file];
    for (const spec of chunk.imports) visit(toFile(file, spec));
    if (dynamic) for (const spec of chunk.dynamicImports) visit(toFile(file, spec));
  };
  visit(start);
  return [...seen];
}

const initialFiles = closure(ENTRY, { dynamic: false });
const totalFiles = closure(ENTRY, { dynamic: true });
const sum = (list, key) => list.reduce((n, f) => n + measure(f)[key], 0);

const CATEGORIES = [
  ['lit', /node_modules\/(lit|lit-html|lit-element|@lit\/[^/]+)\//],
  ['marked', /node_modules\/marked\//],
  ['dompurify', /node_modules\/dompurify\//],
  ['eventsource-parser', /node_modules\/eventsource-parser\//],
  ['build helpers', /@oxc-project|rolldown|^\0|runtime/],
  ['styles', /^src\/.*styles[^/]*\.ts$/],
  ['strings', /^src\/element\/(strings|launcher-label)\.ts$/],
  ['our code: loader', /^src\/(widget\.ts|element\/stub\.ts)$/],
  ['our code: client', /^src\/(client\/|protocol\.ts)/],
  ['our code: markdown', /^src\/markdown\//],
  ['our code: element', /^src\//],
];
const THIRD_PARTY = new Set(['lit', 'marked', 'dompurify', 'eventsource-parser']);
const categoryOf = (id) => CATEGORIES.find(([, re]) => re.test(id))?.[0] ?? 'other';

/** A chunk's real gzip size, shared out among its modules by their minified-alone gzip sizes (an estimate:
 * compression across module boundaries is not attributable). */
function breakdown(list) {
  const out = {};
  for (const file of list) {
    const modules = Object.entries(stats[file].modules);
    const total = modules.reduce((n, [, m]) => n + m.min_gz, 0) || 1;
    const { gz } = measure(file);
    for (const [id, m] of modules) {
      const c = (out[categoryOf(id)] ??= { rendered: 0, gz_est: 0 });
      c.rendered += m.rendered;
      c.gz_est += (gz * m.min_gz) / total;
    }
  }
  for (const c of Object.values(out)) c.gz_est = Math.round(c.gz_est);
  return out;
}

/** Per module, for digging into a category: estimated gzip bytes in the script-tag bundle. */
function modules(list) {
  const out = [];
  for (const file of list) {
    const entries = Object.entries(stats[file].modules);
    const total = entries.reduce((n, [, m]) => n + m.min_gz, 0) || 1;
    for (const [id, m] of entries) out.push({ file, module: id, gz_est: Math.round((measure(file).gz * m.min_gz) / total) });
  }
  return out.sort((a, b) => b.gz_est - a.gz_est);
}

/** Chunks only a browser without the HTML Sanitizer API loads (DOMPurify: src/markdown/purify.ts). */
const fallbackFiles = totalFiles.filter((f) =>
  Object.keys(stats[f].modules).every((id) => /node_modules\/dompurify\/|^src\/markdown\/purify\.ts$/.test(id)),
);
const nativeFiles = totalFiles.filter((f) => !fallbackFiles.includes(f));
const initial = breakdown(initialFiles);
const lazy = breakdown(totalFiles.filter((f) => !initialFiles.includes(f)));
const all = breakdown(totalFiles);
const bundle = {
  entry: `dist/${ENTRY}`,
  initial_files: initialFiles,
  total_files: totalFiles,
  initial_raw: sum(initialFiles, 'raw'),
  initial_gz: sum(initialFiles, 'gz'),
  initial_br: sum(initialFiles, 'br'),
  total_raw: sum(totalFiles, 'raw'),
  total_gz: sum(totalFiles, 'gz'),
  total_br: sum(totalFiles, 'br'),
  /** Everything it can load in a browser that sanitizes natively (no DOMPurify chunk): Chromium, Firefox. */
  total_native_gz: sum(nativeFiles, 'gz'),
  fallback_files: fallbackFiles,
  /** Estimated gzip bytes of third-party code in the total: what work on our own code cannot remove. */
  floor_gz: Object.entries(all).reduce((n, [k, v]) => n + (THIRD_PARTY.has(k) ? v.gz_est : 0), 0),
  breakdown: { initial, lazy },
  modules: modules(totalFiles),
};

// Figures quoted in prose: KB with one decimal, as a reader would write them.
const FIGURES = {
  initial_gz: `${(bundle.initial_gz / 1024).toFixed(1)} KB`,
  total_gz: `${(bundle.total_gz / 1024).toFixed(1)} KB`,
  total_native_gz: `${(bundle.total_native_gz / 1024).toFixed(1)} KB`,
};
const STAMPED = ['README.md', 'demo/index.html'];
const MARKER = /(<!-- size:(\w+) -->)(.*?)(<!-- \/size -->)/g;
const stale = [];
for (const doc of STAMPED) {
  const path = join(root, doc);
  if (!existsSync(path)) continue;
  const text = readFileSync(path, 'utf8');
  const stamped = text.replace(MARKER, (whole, open, key, value, close) => {
    if (!(key in FIGURES)) throw new Error(`${doc}: unknown size figure "${key}" (known: ${Object.keys(FIGURES).join(', ')})`);
    if (value !== FIGURES[key]) stale.push(`${doc} says ${key} = ${value}, this build measures ${FIGURES[key]}`);
    return `${open}${FIGURES[key]}${close}`;
  });
  if (args.has('--stamp') && stamped !== text) writeFileSync(path, stamped);
}
if (args.has('--stamp')) {
  console.log(stale.length ? `stamped: ${stale.join('; ')}` : 'the quoted size figures were already current');
  process.exit(0);
}

// The owner console (scripts/build-console.js): its own bundle and budget, never part of the widget's. Initial = the
// /console page's entry (dist/console/assets/mistral-agent-console-*.js) and its static imports; total = + its lazy
// chunks (uPlot, the markdown renderer, Supabase Auth), from dist/console-stats.json.
let consoleBundle = null;
const consoleStatsFile = join(dist, 'console-stats.json');
if (existsSync(consoleStatsFile)) {
  Object.assign(stats, JSON.parse(readFileSync(consoleStatsFile, 'utf8')));
  const entry = Object.keys(stats).find((f) => /^console\/assets\/mistral-agent-console-[\w-]+\.js$/.test(f));
  if (!entry) throw new Error('size: dist/console-stats.json names no console page entry');
  const initialC = closure(entry, { dynamic: false });
  const totalC = closure(entry, { dynamic: true });
  consoleBundle = {
    entry: `dist/${entry}`,
    initial_files: initialC,
    total_files: totalC,
    initial_gz: sum(initialC, 'gz'),
    total_gz: sum(totalC, 'gz'),
    lazy_gz: Object.fromEntries(totalC.filter((f) => !initialC.includes(f)).map((f) => [f, measure(f).gz])),
    // the widget's element, loader or protocol client (its pure helpers, such as the language pick, may be shared)
    widget_modules: [...new Set(totalC.flatMap((f) => Object.keys(stats[f].modules)))].filter((id) =>
      /^src\/(element\/(mistral-agent-chat|chat-controller)|client\/|widget)/.test(id),
    ),
  };
}

if (args.has('--set-console-budget')) {
  if (!consoleBundle) throw new Error('size: dist/ has no console build');
  const b = readBudget();
  b.console = {
    ...b.console,
    initial_gz: Math.ceil(consoleBundle.initial_gz * 1.02),
    total_gz: Math.ceil(consoleBundle.total_gz * 1.02),
    measured: { initial_gz: consoleBundle.initial_gz, total_gz: consoleBundle.total_gz, date: new Date().toISOString().slice(0, 10) },
  };
  writeFileSync(budgetFile, JSON.stringify(b, null, 2) + '\n');
  console.log(`size-budget.json console: initial_gz ${b.console.initial_gz}, total_gz ${b.console.total_gz} (measured + 2 %)`);
  process.exit(0);
}

if (args.has('--set-budget')) {
  const budget = {
    initial_gz: Math.ceil(bundle.initial_gz * 1.02),
    total_gz: Math.ceil(bundle.total_gz * 1.02),
    measured: { initial_gz: bundle.initial_gz, total_gz: bundle.total_gz, date: new Date().toISOString().slice(0, 10) },
  };
  writeFileSync(budgetFile, JSON.stringify({ ...readBudget(), ...budget }, null, 2) + '\n');
  console.log(`size-budget.json: initial_gz ${budget.initial_gz}, total_gz ${budget.total_gz} (measured + 2 %)`);
  process.exit(0);
}

const budget = readBudget();
const over = ['initial_gz', 'total_gz'].filter((k) => typeof budget[k] === 'number' && bundle[k] > budget[k]);
if (consoleBundle) {
  for (const k of ['initial_gz', 'total_gz'])
    if (typeof budget.console?.[k] === 'number' && consoleBundle[k] > budget.console[k]) over.push(`console.${k}`);
  // The console never bundles the widget (its preview loads /widget.js from the server).
  if (consoleBundle.widget_modules.length) over.push(`console bundles widget code: ${consoleBundle.widget_modules.join(', ')}`);
}

if (args.has('--json')) {
  console.log(
    JSON.stringify({ files: files.map(measure), bundle, console: consoleBundle, budget, over_budget: over, stale_figures: stale }, null, 2),
  );
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`.padStart(9);
  console.log(`${'file'.padEnd(52)}${'raw'.padStart(9)}${'gzip'.padStart(9)}${'brotli'.padStart(9)}`);
  for (const f of files.map(measure)) console.log(`${`dist/${f.file}`.padEnd(52)}${kb(f.raw)}${kb(f.gz)}${kb(f.br)}`);
  console.log(`\nscript-tag bundle (${bundle.entry})`);
  const line = (label, k) =>
    console.log(
      `  ${label.padEnd(9)}${kb(bundle[`${k}_raw`])} raw ${kb(bundle[`${k}_gz`])} gzip ${kb(bundle[`${k}_br`])} brotli` +
        `   budget ${budget[`${k}_gz`] ?? '—'} B, goal ${budget[`goal_${k}_gz`] ?? '—'} B gzip`,
    );
  line('initial', 'initial');
  line('total', 'total');
  console.log(
    `  ${'native'.padEnd(9)}${kb(bundle.total_native_gz)} gzip: the total where the browser has the HTML Sanitizer API (without ${fallbackFiles.join(', ') || '—'})`,
  );
  console.log(`  initial files: ${initialFiles.join(', ')}`);
  console.log(`  lazy files:    ${totalFiles.filter((f) => !initialFiles.includes(f)).join(', ') || '—'}`);
  console.log(`  third-party floor ≈ ${kb(bundle.floor_gz).trim()} gzip`);
  console.log('\nby module (gzip, estimated: each file shared out by its modules minified alone)');
  const names = [...new Set([...Object.keys(initial), ...Object.keys(lazy)])].sort(
    (a, b) => (all[b]?.gz_est ?? 0) - (all[a]?.gz_est ?? 0),
  );
  console.log(`  ${'module'.padEnd(22)}${'initial'.padStart(10)}${'lazy'.padStart(10)}`);
  for (const n of names) console.log(`  ${n.padEnd(22)}${kb(initial[n]?.gz_est ?? 0)} ${kb(lazy[n]?.gz_est ?? 0)}`);
  if (consoleBundle) {
    console.log(`\nowner console (${consoleBundle.entry}), its own budget`);
    console.log(`  initial  ${kb(consoleBundle.initial_gz)} gzip   budget ${budget.console?.initial_gz ?? '—'} B   (${consoleBundle.initial_files.join(', ')})`);
    console.log(`  total    ${kb(consoleBundle.total_gz)} gzip   budget ${budget.console?.total_gz ?? '—'} B`);
    for (const [f, gz] of Object.entries(consoleBundle.lazy_gz)) console.log(`    lazy ${f.padEnd(48)}${kb(gz)}`);
  }
  for (const k of over) {
    const inConsole = k.startsWith('console.');
    const [scope, key, limit] = inConsole ? [consoleBundle, k.slice(8), budget.console?.[k.slice(8)]] : [bundle, k, budget[k]];
    console.error(scope && key in scope ? `\nOVER BUDGET: ${k} ${scope[key]} B > ${limit} B (size-budget.json)` : `\nSIZE CHECK FAILED: ${k}`);
  }
  for (const s of stale) console.error(`\nSTALE FIGURE: ${s}; run \`npm run size -- --stamp\``);
}
process.exit(over.length || (stale.length && !args.has('--json')) ? 1 : 0);

function readBudget() {
  return existsSync(budgetFile) ? JSON.parse(readFileSync(budgetFile, 'utf8')) : {};
}

