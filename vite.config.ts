/**
 * `npm run dev`: the demo pages against the element's TypeScript source, with hot reload, for people working on the
 * element. Run the proxy beside it (`npm start`, port 8787): /v1/* and /healthz are forwarded to it, and the demo
 * key comes from MAC_DEMO_KEY (the key `npm start` prints). The release builds are in scripts/build.js (five vite
 * builds: bundler ESM, the script-tag loader, its element and markdown chunks, and the IIFE).
 */
import { defineConfig } from 'vite';

const proxy = process.env.MAC_PROXY_URL ?? 'http://localhost:8787';

export default defineConfig({
  root: 'demo',
  server: { proxy: { '/v1': proxy, '/healthz': proxy }, fs: { allow: ['..'] } },
  plugins: [
    {
      name: 'mac-demo-source',
      // 'pre': before vite scans the page's scripts, so it never looks for the built /widget.js
      transformIndexHtml: {
        order: 'pre',
        handler: (html) =>
          html
            .replaceAll('src="/widget.js"', 'src="/@fs' + new URL('./src/widget.ts', import.meta.url).pathname + '"')
            .replaceAll('__DEMO_KEY__', process.env.MAC_DEMO_KEY ?? '__DEMO_KEY__'),
      },
    },
  ],
});
