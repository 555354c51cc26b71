/**
 * A host site on its own origin (another port than the proxy): serves test/e2e/pages/*.html with
 * `__PROXY__` and `__KEY__` filled in (`?key=` picks the key, default the main one), and any extra
 * directory (the React build) under a prefix. Plain node:http, no caching.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PAGES_DIR = fileURLToPath(new URL('../pages/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export interface Site {
  /** `http://127.0.0.1:<port>`: never the proxy's origin. */
  url: string;
  close(): Promise<void>;
}

export interface SiteOptions {
  proxy: string;
  key: string;
  /** URL prefix → directory, e.g. `{ '/react/': outDir }`. */
  dirs?: Record<string, string>;
}

export async function startSite(opts: SiteOptions): Promise<Site> {
  const mounts = Object.entries({ '/pages/': PAGES_DIR, ...opts.dirs }).map(([prefix, dir]) => [prefix, join(dir, sep)] as const);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    const mount = mounts.find(([prefix]) => url.pathname.startsWith(prefix));
    if (!mount) return void res.writeHead(404).end('not found');
    const rest = decodeURIComponent(url.pathname.slice(mount[0].length));
    const path = normalize(join(mount[1], rest === '' || rest.endsWith('/') ? `${rest}index.html` : rest));
    if (!path.startsWith(mount[1])) return void res.writeHead(404).end('not found');
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      return void res.writeHead(404).end('not found');
    }
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    if (type.startsWith('text/html')) {
      const key = url.searchParams.get('key') ?? opts.key;
      body = Buffer.from(body.toString('utf8').replaceAll('__PROXY__', opts.proxy).replaceAll('__KEY__', key));
    }
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
