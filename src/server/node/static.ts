/**
 * What the Node server serves besides the protocol: the widget bundle (dist/) for other sites to load,
 * and the demo pages (demo/) with the demo agent's key filled in. Files are read per request, so a
 * rebuild shows up without a restart.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { compress } from 'hono/compress';
import { etag } from 'hono/etag';
import { embedSnippet } from '../cli/output.ts';

/** The package root (a checkout or node_modules/mistral-agent-chat). */
export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface StaticOptions {
  /** The key placed into `__DEMO_KEY__`; null when no agent is available yet. */
  demoKey: () => Promise<string | null>;
  /** Overrides `__ENDPOINT__` (default: the origin the page was requested on). */
  publicUrl?: string | undefined;
  distDir?: string;
  demoDir?: string;
}

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  map: 'application/json; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  webp: 'image/webp',
  json: 'application/json; charset=utf-8',
};
const SHORT_CACHE = 'public, max-age=300';
// Lazy chunks carry a content hash in their name: a changed chunk gets a new URL.
const IMMUTABLE = 'public, max-age=31536000, immutable';
const PAGES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/inline.html': 'inline.html',
  '/themes.html': 'themes.html',
  '/iife.html': 'iife.html',
};

async function read(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function noBuild(c: Context, file: string) {
  c.header('Cache-Control', 'no-store');
  return c.text(
    `// ${file} is missing: the widget bundle has not been built yet.\n` +
      `// Run "npm run build" (npm start builds it for you), then reload.\n` +
      `console.error("mistral-agent-chat: widget bundle not built; run \\"npm run build\\" on the server");\n`,
    503,
    { 'Content-Type': TYPES.js!, 'Access-Control-Allow-Origin': '*', 'X-Content-Type-Options': 'nosniff' },
  );
}

function placeholderPage(file: string, key: string, endpoint: string): string {
  const snippet = key
    ? `<p>Demo key: <code>${escapeHtml(key)}</code>. Paste this into any page:</p>
<pre style="white-space:pre-wrap;background:#f4f4f5;padding:1rem">${escapeHtml(embedSnippet(endpoint, key))}</pre>`
    : '<p>No active agent yet: create one with <code>mistral-agent-chat agent create --name "My assistant"</code>.</p>';
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>mistral-agent-chat</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>mistral-agent-chat is running</h1>
<p>The demo page <code>demo/${escapeHtml(file)}</code> is not in this installation. The proxy answers under
<code>/v1/</code>, its health under <a href="/healthz">/healthz</a>, and the widget bundle is at
<a href="/widget.js">/widget.js</a>.</p>
${snippet}
</body></html>`;
}

export function createStaticApp(opts: StaticOptions): Hono {
  const dist = opts.distDir ?? join(packageRoot, 'dist');
  const demo = opts.demoDir ?? join(packageRoot, 'demo');
  const app = new Hono();
  // Per route, never app-wide: the protocol's SSE answers must not be buffered (etag) or compressed.
  const tag = etag();
  const gzip = compress();

  /** A bundle file: any site may load it (CORS *), never sniffed. */
  const bundle = async (c: Context, file: string, cache: string) => {
    const body = await read(join(dist, file));
    if (!body) return file.endsWith('.map') ? c.notFound() : noBuild(c, file);
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': TYPES[file.split('.').pop()!] ?? 'application/octet-stream',
      'Content-Length': String(body.length),
      'Cache-Control': cache,
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
      'X-Content-Type-Options': 'nosniff',
    });
  };

  app.get('/widget.js', tag, gzip, (c) => bundle(c, 'mistral-agent-chat.js', SHORT_CACHE));
  app.get('/widget.iife.js', tag, gzip, (c) => bundle(c, 'mistral-agent-chat.iife.js', SHORT_CACHE));
  // Same files under their build names (source maps and pages that link dist/ directly).
  app.get('/:file{(?:dist/)?mistral-agent-chat(?:\\.iife)?\\.js(?:\\.map)?}', tag, gzip, (c) =>
    bundle(c, c.req.param('file').replace(/^dist\//, ''), SHORT_CACHE),
  );
  app.get('/:file{(?:dist/)?mac-[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*\\.js(?:\\.map)?}', tag, gzip, (c) =>
    bundle(c, c.req.param('file').replace(/^dist\//, ''), IMMUTABLE),
  );

  for (const [path, file] of Object.entries(PAGES)) {
    app.get(path, gzip, async (c) => {
      const raw = await read(join(demo, file));
      const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
      const key = (await opts.demoKey()) ?? '';
      const endpoint = (opts.publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, '');
      if (!raw) return c.html(placeholderPage(file, key, endpoint), 200, headers);
      const html = raw.toString('utf8').replaceAll('__DEMO_KEY__', escapeHtml(key)).replaceAll('__ENDPOINT__', escapeHtml(endpoint));
      return c.html(html, 200, headers);
    });
  }

  // Assets the demo pages link next to themselves (styles, images).
  app.get('/:file{[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*\\.(?:css|svg|png|ico|webp)}', tag, gzip, async (c) => {
    const file = c.req.param('file');
    const body = await read(join(demo, file));
    if (!body) return file === 'favicon.ico' ? c.body(null, 204) : c.notFound();
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': TYPES[file.split('.').pop()!]!,
      'Cache-Control': SHORT_CACHE,
      'X-Content-Type-Options': 'nosniff',
    });
  });

  return app;
}
