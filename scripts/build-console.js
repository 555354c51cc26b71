// The owner console's build (<mistral-agent-console>, src/console/), called by scripts/build.js with { root, dist, target }.
// Its own bundles, never part of the widget's:
//   dist/console/index.html                   the /console page of the Node server (no-cache), which loads
//   dist/console/assets/mistral-agent-console-*.js   the element, Lit and everything else included, and on demand
//   dist/console/assets/*-*.js                uPlot (statistics), the widget's markdown renderer (transcripts),
//                                             Supabase Auth (Supabase sign-in only), by relative URLs (hashed: immutable)
//   dist/console.js, dist/chunks/console-*.js for bundlers (`import 'mistral-agent-chat/console'`), minified: the element
//                                             package's dependencies (lit, marked, dompurify) stay imports; uPlot and Supabase
//                                             Auth, which it does not depend on, are bundled into lazy chunks
//   dist/console.d.ts                         its types (dist/types/console/, emitted by tsconfig.build.json)
//   dist/console-stats.json                   bytes per module per chunk, for scripts/size.js (not served)
// The live preview loads the widget from the server's /widget.js at run time: nothing of the widget is bundled.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';
import { statsPlugin } from './stats-plugin.js';

/** What the page's entry is called in dist/console/assets/ (hashed: the page names it). */
export const PAGE_ENTRY = /^console\/assets\/mistral-agent-console-[\w-]+\.js$/;
/** The element package's runtime dependencies: a bundler resolves them itself. */
const EXTERNAL = [/^lit(\/|$)/, /^@lit\//, /^lit-html(\/|$)/, /^lit-element(\/|$)/, /^marked$/, /^dompurify$/];

const config = (root, dist, target, plugins, { minify, external, output }) => ({
  configFile: false,
  root,
  logLevel: 'warn',
  publicDir: false,
  plugins,
  build: {
    outDir: dist,
    emptyOutDir: false,
    target,
    minify,
    sourcemap: false,
    reportCompressedSize: false,
    copyPublicDir: false,
    lib: { entry: join(root, 'src/console/define.ts'), formats: ['es'] },
    rolldownOptions: { external, output },
  },
});

export async function buildConsole({ root, dist, target }) {
  const recorded = {};
  // The page: one self-contained ES module and its lazy chunks, minified, under dist/console/assets/.
  const page = await build(
    config(root, dist, target, [statsPlugin(root, 'console', recorded)], {
      minify: 'oxc',
      output: {
        minify: true,
        comments: false,
        entryFileNames: 'console/assets/mistral-agent-console-[hash].js',
        chunkFileNames: 'console/assets/[name]-[hash].js',
      },
    }),
  );
  const entry = /** @type {import('vite').Rolldown.RolldownOutput[]} */ (page)[0]?.output.find((o) => o.type === 'chunk' && o.isEntry);
  if (!entry || !PAGE_ENTRY.test(entry.fileName)) throw new Error('the console page build produced no entry');
  const html = readFileSync(join(root, 'src/console/index.html'), 'utf8');
  const placeholder = 'src="__CONSOLE_ENTRY__"';
  if (!html.includes(placeholder)) throw new Error(`src/console/index.html has no ${placeholder}`);
  // Relative: the server redirects /console to /console/, and a proxy may mount it under a path.
  writeFileSync(join(dist, 'console/index.html'), html.replace(placeholder, `src="./${entry.fileName.slice('console/'.length)}"`));

  // For bundlers: ESM beside dist/index.js, the element package's dependencies left as imports. Minified, unlike
  // dist/index.js: it carries uPlot and Supabase Auth, which the element package does not depend on, and the front
  // end's install stays within its 6 MiB (test/node/packages.test.ts); the readable source is src/console/.
  await build(
    config(root, dist, target, [statsPlugin(root, 'console', recorded)], {
      minify: 'oxc',
      external: EXTERNAL,
      output: { minify: true, comments: false, entryFileNames: 'console.js', chunkFileNames: 'chunks/console-[name]-[hash].js' },
    }),
  );
  writeFileSync(join(dist, 'console.d.ts'), "export * from './types/console/define.js';\n");
  writeFileSync(join(dist, 'console-stats.json'), JSON.stringify(recorded, null, 1) + '\n');
}
