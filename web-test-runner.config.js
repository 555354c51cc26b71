// Browser tests (test/browser/**/*.test.ts) in Debian's Chromium, TypeScript through esbuild.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { CHROMIUM_ARGS, findChromium } from './scripts/chromium.js';

export default {
  files: ['test/browser/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: findChromium() ?? '/usr/bin/chromium',
        headless: true,
        // --no-sandbox (root) and no network beyond loopback: see scripts/chromium.js.
        args: CHROMIUM_ARGS,
      },
    }),
  ],
  plugins: [
    esbuildPlugin({ ts: true, tsconfig: './tsconfig.json' }),
    // `import css from 'x.css?inline'` (the console's uPlot stylesheet), as Vite does in the build.
    {
      name: 'css-inline',
      resolveMimeType: (ctx) => (ctx.path.endsWith('.css') && ctx.URL.searchParams.has('inline') ? 'js' : undefined),
      transform: (ctx) =>
        ctx.path.endsWith('.css') && ctx.URL.searchParams.has('inline') ? { body: `export default ${JSON.stringify(ctx.body)};` } : undefined,
    },
  ],
  testFramework: { config: { timeout: 10000 } },
};
