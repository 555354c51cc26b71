/**
 * What the Node server serves besides the protocol, files through @hono/node-server's serveStatic:
 * - the widget bundle from dist/ (this repository's, or the copy the mistral-agent-chat-server package carries):
 *   /widget.js and /widget.iife.js (cached briefly, with an ETag), the hashed chunks mac-*.js (immutable). Any
 *   site may load them (CORS *, CORP cross-origin). The build writes .br and .gz beside each; they are sent as
 *   they are to clients that accept them.
 * - /console: the owner console page (dist/console/index.html) and its hashed assets (dist/console/assets/).
 * - in demo mode, the demo pages (demo/) with the demo agent's key filled in; otherwise `/` is a status page
 *   with no key and the other demo pages do not exist.
 * Files are looked up per request, so a rebuild shows up without a restart.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { compress } from 'hono/compress';
import { etag } from 'hono/etag';
import { embedSnippet } from '../embed.ts';

/** The package root (a checkout, or node_modules/mistral-agent-chat-server): dist/ and demo/ live there. */
export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface StaticOptions {
  /**
   * Demo mode: the demo pages (/, /inline.html, /themes.html, /iife.html) with the demo key filled in.
   * Off: `/` is a status page with no key, and the other demo pages answer 404.
   */
  demo: boolean;
  /** The key placed into `__DEMO_KEY__` in demo mode; null when no agent is available yet. */
  demoKey: () => Promise<string | null>;
  /** Overrides `__ENDPOINT__` (default: the origin the page was requested on). */
  publicUrl?: string | undefined;
  distDir?: string;
  demoDir?: string;
}

const SHORT_CACHE = 'public, max-age=300';
// Lazy chunks and console assets carry a content hash in their name: a changed file gets a new URL.
const IMMUTABLE = 'public, max-age=31536000, immutable';
const NO_STORE = 'no-store';
const DEMO_PAGES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/inline.html': 'inline.html',
  '/themes.html': 'themes.html',
  '/iife.html': 'iife.html',
};
const JS = 'text/javascript; charset=utf-8';
/** The owner console holds an owner's session: never framed by another site, never leaking its URL. */
const CONSOLE_HEADERS = {
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
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

const page = (title: string, body: string) => `<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<body style="font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5">
${body}
</body></html>`;

function noBuild(c: Context, file: string) {
  c.header('Cache-Control', NO_STORE);
  return c.text(
    `// ${file} is missing: the widget bundle has not been built yet.\n` +
      `// Run "npm run build" (npm start builds it for you), then reload.\n` +
      `console.error("mistral-agent-chat: widget bundle not built; run \\"npm run build\\" on the server");\n`,
    503,
    { 'Content-Type': JS, 'Access-Control-Allow-Origin': '*', 'X-Content-Type-Options': 'nosniff' },
  );
}

function consoleNotBuilt(c: Context) {
  return c.html(
    page(
      'Console not built',
      `<h1>The owner console has not been built</h1>
<p><code>dist/console/</code> is missing in this installation. In a checkout, run <code>npm run build</code>
(<code>npm start</code> builds it for you), then reload. The proxy itself works: see <a href="/healthz">/healthz</a>.</p>`,
    ),
    503,
    { 'Cache-Control': NO_STORE, ...CONSOLE_HEADERS },
  );
}

/** Outside demo mode: what this server is, with no key. */
function statusPage(endpoint: string): string {
  const e = escapeHtml(endpoint);
  return page(
    'mistral-agent-chat',
    `<h1>mistral-agent-chat is running</h1>
<p>This is the proxy behind the <code>&lt;mistral-agent-chat&gt;</code> chat widget: it checks each widget's key,
stores conversations in PostgreSQL and streams the agent's replies from Mistral.</p>
<ul>
<li><a href="/healthz">/healthz</a>: 200 when the database answers</li>
<li><a href="/widget.js">/widget.js</a>: the widget bundle, for any site (<code>/widget.iife.js</code> for tag managers)</li>
<li><a href="/console">/console</a>: the owner console</li>
</ul>
<p>Create an agent on this server's database with the command line; it prints the agent's key and the snippet to paste:</p>
<pre style="white-space:pre-wrap;background:#f4f4f5;padding:1rem">npx mistral-agent-chat agent create --name "Support" --endpoint ${e}</pre>
<p>Then, on any page of your site:</p>
<pre style="white-space:pre-wrap;background:#f4f4f5;padding:1rem">${escapeHtml(embedSnippet(endpoint, 'mac_…'))}</pre>`,
  );
}

function placeholderPage(file: string, key: string, endpoint: string): string {
  const snippet = key
    ? `<p>Demo key: <code>${escapeHtml(key)}</code>. Paste this into any page:</p>
<pre style="white-space:pre-wrap;background:#f4f4f5;padding:1rem">${escapeHtml(embedSnippet(endpoint, key))}</pre>`
    : '<p>No active agent yet: create one with <code>mistral-agent-chat agent create --name "My assistant"</code>.</p>';
  return page(
    'mistral-agent-chat',
    `<h1>mistral-agent-chat is running</h1>
<p>The demo page <code>demo/${escapeHtml(file)}</code> is not in this installation. The proxy answers under
<code>/v1/</code>, its health under <a href="/healthz">/healthz</a>, and the widget bundle is at
<a href="/widget.js">/widget.js</a>.</p>
${snippet}`,
  );
}

/**
 * serveStatic with headers on what it finds (the file or a precompressed variant). Set after the response
 * exists: @hono/node-server 2.1 calls `onFound` after building the response, so headers set there are lost.
 * Only a 2xx is a found file; what comes after serveStatic (a 503 "not built", a 404) keeps its own headers.
 */
function staticFiles(headers: (c: Context) => Record<string, string>, options: Parameters<typeof serveStatic>[0]): MiddlewareHandler {
  const serve = serveStatic({ precompressed: true, ...options });
  return async (c, next) => {
    // Found: serveStatic returns the response; not found: it ran `next`, which set c.res.
    const found = await serve(c, next);
    if (found instanceof Response) c.res = found;
    if (!c.res.ok) return;
    for (const [name, value] of Object.entries(headers(c))) c.header(name, value);
    // Every file we precompress has variants: caches must key on Accept-Encoding even for an identity answer.
    if (!c.res.headers.has('Vary')) c.header('Vary', 'Accept-Encoding');
  };
}

export function createStaticApp(opts: StaticOptions): Hono {
  const dist = opts.distDir ?? join(packageRoot, 'dist');
  const demo = opts.demoDir ?? join(packageRoot, 'demo');
  const app = new Hono();
  // Per route, never app-wide: the protocol's SSE answers must not be buffered (etag) or compressed.
  const tag = etag();
  const gzip = compress();

  /** A bundle file of dist/: any site may load it, never sniffed. */
  const bundle = (file: (c: Context) => string, cache: string) =>
    staticFiles(
      () => ({
        'Cache-Control': cache,
        'Access-Control-Allow-Origin': '*',
        'Cross-Origin-Resource-Policy': 'cross-origin',
        'X-Content-Type-Options': 'nosniff',
      }),
      // Absolute paths (no root): the route patterns below already confine names to dist/'s top level.
      { rewriteRequestPath: (_path, c) => join(dist, file(c)) },
    );
  const fromParam = (c: Context) => c.req.param('file')!.replace(/^dist\//, '');
  /** Not found: a script that says how to build (a source map is just 404). */
  const missing = (file: (c: Context) => string) => (c: Context) => (file(c).endsWith('.map') ? c.notFound() : noBuild(c, file(c)));
  const loader = () => 'mistral-agent-chat.js';
  const iife = () => 'mistral-agent-chat.iife.js';

  app.get('/widget.js', tag, bundle(loader, SHORT_CACHE), missing(loader));
  app.get('/widget.iife.js', tag, bundle(iife, SHORT_CACHE), missing(iife));
  // Same files under their build names (source maps and pages that link dist/ directly).
  app.get('/:file{(?:dist/)?mistral-agent-chat(?:\\.iife)?\\.js(?:\\.map)?}', tag, bundle(fromParam, SHORT_CACHE), missing(fromParam));
  app.get('/:file{(?:dist/)?mac-[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*\\.js(?:\\.map)?}', bundle(fromParam, IMMUTABLE), missing(fromParam));

  // The owner console. /console redirects to /console/ so that the page's relative asset URLs resolve
  // under it (also behind a proxy that mounts this server under a path: the Location is relative).
  app.get('/console', (c) => c.redirect(`console/${new URL(c.req.url).search}`, 308));
  const consoleFile = (path: string) => join(dist, 'console', path === '/console/' ? 'index.html' : path.slice('/console/'.length));
  app.get(
    '/console/',
    staticFiles(() => ({ 'Cache-Control': 'no-cache', ...CONSOLE_HEADERS }), { rewriteRequestPath: consoleFile }),
    consoleNotBuilt,
  );
  app.get(
    '/console/*',
    staticFiles(
      (c) => ({ 'Cache-Control': c.req.path.startsWith('/console/assets/') ? IMMUTABLE : SHORT_CACHE, 'X-Content-Type-Options': 'nosniff' }),
      { rewriteRequestPath: consoleFile },
    ),
  );

  if (!opts.demo) {
    app.get('/', (c) => {
      const endpoint = (opts.publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, '');
      return c.html(statusPage(endpoint), 200, { 'Cache-Control': NO_STORE, 'X-Content-Type-Options': 'nosniff' });
    });
    return app;
  }

  for (const [path, file] of Object.entries(DEMO_PAGES)) {
    app.get(path, gzip, async (c) => {
      const raw = await read(join(demo, file));
      const headers = { 'Cache-Control': NO_STORE, 'X-Content-Type-Options': 'nosniff' };
      const key = (await opts.demoKey()) ?? '';
      const endpoint = (opts.publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, '');
      if (!raw) return c.html(placeholderPage(file, key, endpoint), 200, headers);
      const html = raw.toString('utf8').replaceAll('__DEMO_KEY__', escapeHtml(key)).replaceAll('__ENDPOINT__', escapeHtml(endpoint));
      return c.html(html, 200, headers);
    });
  }

  // Assets the demo pages link next to themselves (styles, images).
  app.get(
    '/:file{[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*\\.(?:css|svg|png|ico|webp)}',
    gzip,
    staticFiles(() => ({ 'Cache-Control': SHORT_CACHE, 'X-Content-Type-Options': 'nosniff' }), {
      rewriteRequestPath: (_path, c) => join(demo, c.req.param('file')!),
      precompressed: false,
    }),
    (c) => (c.req.param('file') === 'favicon.ico' ? c.body(null, 204) : c.notFound()),
  );

  return app;
}
