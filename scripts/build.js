#!/usr/bin/env node
// `npm run build`: every browser artifact in dist/, from one vite config per output.
//   dist/index.js, dist/define.js         for bundlers: dependencies (lit, marked, dompurify,
//                                         eventsource-parser) stay imports; types in dist/types/
//   dist/mistral-agent-chat.js            for <script type="module">: the launcher-first loader alone
//                                         (src/widget.ts: a stub launcher, no Lit), which imports
//   dist/mac-element-*.js                 the element (Lit, element, client) on interest or idle, which imports
//   dist/mac-render-*.js                  the markdown renderer (marked, the browser's HTML sanitizer) on first open,
//   dist/mac-purify-*.js                  which imports DOMPurify only where the browser has no HTML Sanitizer API.
//                                         Chunks are imported by relative URLs, so they must be served from
//                                         the same directory as the entry (any path works)
//   dist/mistral-agent-chat.iife.js       one classic script for tag managers: the same loader, chunks inlined
//   dist/stats.json                       bytes per module per chunk, for scripts/size.js
//   dist/console/, dist/console.js        the owner console, when scripts/build-console.js exists (its own build,
//                                         called from here with { root, dist, target })
//   dist/server/, dist/protocol.js        the proxy, CLI and Node entry compiled by tsc (tsconfig.server.json)
//   *.br, *.gz beside every file the Node server serves (the script-tag bundles, dist/console/): made once
//                                         here, sent as they are by serveStatic({ precompressed: true })
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'vite';
import { minifyLiteralsPlugin } from './minify-literals.js';
import { statsPlugin } from './stats-plugin.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/**
 * The browsers the element already needs (CSS :has(), AbortSignal.timeout, Array.prototype.at), as syntax targets:
 * class fields, #private members and static blocks ship as written. es2021 lowered every #private member to a
 * WeakMap and a helper call (+1.2 KB gzip, and slower), for browsers that cannot run the element anyway.
 */
const TARGET = process.env.MAC_TARGET ? process.env.MAC_TARGET.split(',') : ['chrome105', 'edge105', 'firefox121', 'safari16.4'];
/** Runtime dependencies a bundler resolves itself in the library build. */
const EXTERNAL = [/^lit(\/|$)/, /^@lit\//, /^lit-html(\/|$)/, /^lit-element(\/|$)/, /^marked$/, /^dompurify$/, /^eventsource-parser(\/|$)/];

/** An `import()` of the module `source` becomes an import of `./fileName`, built separately next to it. */
function lazyChunk(source, fileName) {
  const target = join(root, source);
  return {
    name: 'mac-lazy-chunk',
    enforce: 'pre',
    resolveId(id, importer) {
      if (importer && resolve(dirname(importer), id) === target) return { id: `./${fileName}`, external: true };
      return null;
    },
  };
}

/** The only output file of a build. */
const outputFile = (result, what) => {
  const file = /** @type {import('vite').Rolldown.RolldownOutput[]} */ (result)[0]?.output[0].fileName;
  if (!file) throw new Error(`the ${what} build produced no file`);
  return file;
};

function config(name, stats, { entry, formats, fileName, globalName, minify = 'oxc', external, output = {}, plugins = [], define }) {
  return {
    configFile: false,
    root,
    logLevel: 'warn',
    publicDir: false,
    define,
    plugins: [minifyLiteralsPlugin(), ...plugins, statsPlugin(root, name, stats)],
    build: {
      outDir: dist,
      emptyOutDir: false,
      target: TARGET,
      minify,
      sourcemap: false,
      reportCompressedSize: false,
      copyPublicDir: false,
      lib: { entry, formats, fileName, name: globalName },
      rolldownOptions: { external, output },
    },
  };
}

/** Browser bundles: lib mode leaves ES output readable (for bundlers); these are for browsers. */
const minified = { minify: true, comments: false };

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
const stats = {};

// For bundlers: readable ESM, dependencies external, the markdown renderer still a lazy chunk.
await build(
  config('library', stats, {
    entry: { index: join(root, 'src/index.ts'), define: join(root, 'src/define.ts') },
    formats: ['es'],
    fileName: (_format, name) => `${name}.js`,
    minify: false,
    external: EXTERNAL,
    output: { chunkFileNames: 'chunks/[name]-[hash].js' },
  }),
);

// For <script type="module">, in three builds so that each file is self-contained (one build with shared
// chunks would put the syntax-lowering helpers they share in a further file that loads first): the markdown
// renderer (marked + DOMPurify), the element that imports it lazily, the loader that imports the element
// lazily, each import by a relative URL.
const rendererFile = outputFile(
  await build(
    config('widget', stats, {
      entry: join(root, 'src/markdown/render.ts'),
      formats: ['es'],
      fileName: () => 'mac-render.js',
      // DOMPurify: a further chunk, imported only where the browser has no HTML Sanitizer API
      output: { ...minified, entryFileNames: 'mac-render-[hash].js', chunkFileNames: 'mac-[name]-[hash].js' },
    }),
  ),
  'markdown renderer',
);
const elementFile = outputFile(
  await build(
    config('widget', stats, {
      entry: join(root, 'src/widget-element.ts'),
      formats: ['es'],
      fileName: () => 'mac-element.js',
      plugins: [lazyChunk('src/markdown/render.ts', rendererFile)],
      output: { ...minified, codeSplitting: false, entryFileNames: 'mac-element-[hash].js' },
    }),
  ),
  'element',
);
await build(
  config('widget', stats, {
    entry: join(root, 'src/widget.ts'),
    formats: ['es'],
    fileName: () => 'mistral-agent-chat.js',
    plugins: [lazyChunk('src/widget-element.ts', elementFile)],
    output: { ...minified, codeSplitting: false },
  }),
);

// For tag managers: one classic script, the same loader with its dynamic imports inlined (the stub shows at
// once, the element defines on interest or idle). It has no import.meta (widget.ts then falls back to
// document.currentScript); saying so here silences the bundler's warning.
await build(
  config('iife', stats, {
    entry: join(root, 'src/widget.ts'),
    formats: ['iife'],
    fileName: () => 'mistral-agent-chat.iife.js',
    globalName: 'MistralAgentChat',
    define: { 'import.meta.url': 'undefined' },
    output: { codeSplitting: false, comments: false },
  }),
);

// The owner console (<mistral-agent-console>) has its own build script; it writes dist/console/ (the page the
// Node server serves at /console, hashed assets under dist/console/assets/) and dist/console.js (for bundlers).
const consoleBuild = join(root, 'scripts/build-console.js');
if (existsSync(consoleBuild)) {
  const { buildConsole } = await import(pathToFileURL(consoleBuild).href);
  await buildConsole({ root, dist, target: TARGET });
}

writeFileSync(join(dist, 'stats.json'), JSON.stringify(stats, null, 1) + '\n');
precompress();

// Types for bundler users: dist/types/** from tsc, and dist/index.d.ts + dist/define.d.ts next to the JS.
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
// tsc emits nothing for a hand-written .d.ts; copy it where the emitted index.d.ts imports it.
copyFileSync(join(root, 'src/jsx.d.ts'), join(dist, 'types/jsx.d.ts'));
mkdirSync(dist, { recursive: true });
writeFileSync(join(dist, 'index.d.ts'), "export * from './types/index.js';\n");
writeFileSync(join(dist, 'define.d.ts'), "export * from './types/define.js';\n");

// The proxy for `mistral-agent-chat/server` (Node without tsx, Deno via npm:): plain tsc, one file per
// module so the lazily imported adapters (pg, PGlite, offline demo) stay separate. dist/server/db/migrate.js
// finds the migrations at ../../../supabase/migrations, as the source does.
const tscServer = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.server.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tscServer.status !== 0) process.exit(tscServer.status ?? 1);

/**
 * Writes file.br (quality 11) and file.gz (level 9) beside each file the Node server serves, where compression
 * pays: the script-tag bundles at the top of dist/ and everything text-like under dist/console/. Not the
 * bundler build (index.js, chunks/, types/): bundlers read those, browsers never fetch them from us.
 */
function precompress() {
  const served = [
    ...readdirSync(dist).filter((f) => /^(mistral-agent-chat(\.iife)?|mac-.+)\.js$/.test(f)),
    ...(existsSync(join(dist, 'console'))
      ? readdirSync(join(dist, 'console'), { recursive: true }).map((f) => join('console', String(f)))
      : []
    ).filter((f) => /\.(js|mjs|css|html|svg|json|map|txt)$/.test(f)),
  ];
  for (const file of served) {
    const raw = readFileSync(join(dist, file));
    const br = brotliCompressSync(raw, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
    });
    const gz = gzipSync(raw, { level: 9 });
    // A tiny file can grow when compressed: then the raw file is what every client gets.
    if (br.length < raw.length) writeFileSync(join(dist, `${file}.br`), br);
    if (gz.length < raw.length) writeFileSync(join(dist, `${file}.gz`), gz);
  }
}

console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
