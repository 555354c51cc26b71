/**
 * Peer chat widgets' weight: gzip -9 bytes of everything each needs to show a chat (its script and its
 * required CSS), from the npm packages installed in bench/peers (versions in bench/peers/package.json).
 *
 * Every one of them ships a browser-ready build, so we weigh the files a page loads, as published, instead of
 * re-bundling them (re-minifying would measure our bundler, not theirs): the entry file plus every file it
 * imports statically, followed through the package (dynamic imports are listed as `lazy`, not counted: like
 * our `initial`, they load later if at all; unlike our `total`, which counts them, so peers are not inflated).
 * A bare import in that closure (a dependency left for the page's bundler) fails the part, so a version that
 * stops pre-bundling is noticed instead of under-counted.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseAst } from 'vite';
import { peerPath, peerVersion } from './peers.ts';

export interface PeerWidget {
  /** results.json key under bundle.peers. */
  key: 'deep_chat_gz' | 'nlux_gz' | 'flowise_embed_gz' | 'n8n_chat_gz';
  label: string;
  pkg: string;
  /** The script a page loads (package-relative). */
  entry: string;
  /** Stylesheets the widget needs to look like a chat (package-relative to `pkg`, or `other-pkg:path`). */
  css: string[];
  /** Why these files. */
  why: string;
}

export const PEER_WIDGETS: PeerWidget[] = [
  {
    key: 'deep_chat_gz',
    label: 'deep-chat',
    pkg: 'deep-chat',
    entry: 'dist/deepChat.bundle.js',
    css: [],
    why: 'its documented CDN script (one self-contained file; its styles live in the shadow DOM, inside the script)',
  },
  {
    key: 'nlux_gz',
    label: '@nlux/core + nova.css',
    pkg: '@nlux/core',
    entry: 'esm/nlux-core.js',
    css: ['@nlux/themes:nova.css'],
    why: 'its ES build (one file, no dependencies) plus the default theme, which nlux requires to lay out a chat',
  },
  {
    key: 'flowise_embed_gz',
    label: 'flowise-embed',
    pkg: 'flowise-embed',
    entry: 'dist/web.js',
    css: [],
    why: 'its documented CDN module (one self-contained file, Solid and styles included)',
  },
  {
    key: 'n8n_chat_gz',
    label: '@n8n/chat',
    pkg: '@n8n/chat',
    entry: 'dist/chat.bundle.es.js',
    css: ['dist/style.css'],
    why: 'its documented CDN module with the chunks it imports (Vue runtime, locale) plus its required style.css',
  },
];

interface Weighed {
  file: string;
  raw: number;
  gz: number;
}

async function weigh(path: string, base: string): Promise<Weighed> {
  const buf = await readFile(path);
  return { file: relative(base, path), raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
}

/** The entry and every file it imports statically (relative specifiers only); dynamic imports apart. */
async function closure(entry: string): Promise<{ files: string[]; lazy: string[] }> {
  const files: string[] = [];
  const lazy = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.shift() as string;
    if (files.includes(file)) continue;
    files.push(file);
    const program = parseAst(await readFile(file, 'utf8'), { lang: 'js', sourceType: 'module' }, file);
    const visit = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node)) return node.forEach(visit);
      const n = node as { type?: string; source?: { value?: unknown } | null };
      const isStatic = n.type === 'ImportDeclaration' || n.type === 'ExportAllDeclaration' || (n.type === 'ExportNamedDeclaration' && n.source);
      const spec = n.source && typeof n.source.value === 'string' ? n.source.value : undefined;
      if ((isStatic || n.type === 'ImportExpression') && spec !== undefined) {
        if (!spec.startsWith('.')) throw new Error(`${file} imports "${spec}": not pre-bundled, it would need bundling to be weighed`);
        const target = join(dirname(file), spec);
        if (isStatic) queue.push(target);
        else lazy.add(target);
      }
      for (const v of Object.values(node)) if (v && typeof v === 'object') visit(v);
    };
    visit(program.body);
  }
  return { files, lazy: [...lazy].filter((f) => !files.includes(f)) };
}

export interface PeerWidgets {
  gz: Record<PeerWidget['key'], number>;
  detail: Record<string, { version: string; files: Weighed[]; lazy_not_counted: Weighed[]; why: string }>;
}

export async function measurePeerWidgets(): Promise<PeerWidgets> {
  const gz = {} as PeerWidgets['gz'];
  const detail: PeerWidgets['detail'] = {};
  for (const w of PEER_WIDGETS) {
    const base = peerPath(w.pkg);
    const { files, lazy } = await closure(join(base, w.entry));
    const cssPaths = w.css.map((c) => (c.includes(':') ? peerPath(...(c.split(':') as [string, string])) : join(base, c)));
    const weighed = await Promise.all([...files, ...cssPaths].map((f) => weigh(f, peerPath())));
    gz[w.key] = weighed.reduce((a, f) => a + f.gz, 0);
    detail[w.label] = {
      version: peerVersion(w.pkg),
      files: weighed,
      lazy_not_counted: await Promise.all(lazy.map((f) => weigh(f, peerPath()))),
      why: w.why,
    };
  }
  return { gz, detail };
}
