/**
 * A small search over this project's own docs (README.md and docs/*.md of the installed package), for the
 * offline demo model's grounded answers. Sections come from docs-sections.ts; MiniSearch ranks them.
 *
 * Links: a section is cited with GitHub's anchor on the repository named in package.json (`repository` or
 * `homepage`): `<repo>#<anchor>` for the README, `<repo>/blob/HEAD/docs/<file>#<anchor>` for the others.
 * A package.json that names no repository gives sources with a title and no URL (the protocol allows it).
 *
 * Node-only at run time (it reads files); the offline demo, which uses it, runs on Node only.
 */
import { readdir, readFile } from 'node:fs/promises';
import MiniSearch from 'minisearch';
import { splitSections, type DocSection } from './docs-sections.ts';

export interface DocHit {
  section: DocSection;
  /** Absolute URL of the section, or null when the package names no repository. */
  url: string | null;
  /** URL of the file the section is in (a base for its relative links), or null. */
  fileUrl: string | null;
  score: number;
  /** The section's words that matched the query. */
  terms: string[];
}

export interface DocsIndex {
  readonly sections: readonly DocSection[];
  search(query: string, limit?: number): DocHit[];
}

// Words that say nothing about the topic; without this "how do I …" matches every section.
const STOP = new Set(
  ('a an and are as at be by can could do does for from how i if in is it me my of on or our should so that the their ' +
    'there this to us was we what when where which who why will with would you your please tell about explain show ' +
    'le la les un une des de du et est en pour que qui quoi comment dans sur avec je tu il nous vous ce cette ça').split(' '),
);

/** Below this MiniSearch score a hit is a coincidence (measured on questions about and beside these docs). */
const MIN_SCORE = 5;

const processTerm = (term: string) => {
  const t = term.toLowerCase();
  return STOP.has(t) || t.length < 2 ? null : t;
};

/** `https://github.com/owner/repo` from package.json's `repository` (string, shorthand or object) or `homepage`. */
export function repositoryUrl(pkg: unknown): string | null {
  const p = pkg as { repository?: unknown; homepage?: unknown } | null;
  const raw =
    typeof p?.repository === 'string'
      ? p.repository
      : typeof (p?.repository as { url?: unknown } | undefined)?.url === 'string'
        ? (p!.repository as { url: string }).url
        : typeof p?.homepage === 'string'
          ? p.homepage
          : null;
  if (!raw) return null;
  const shorthand = /^(?:github:)?([\w.-]+)\/([\w.-]+)$/.exec(raw);
  if (shorthand) return `https://github.com/${shorthand[1]}/${shorthand[2]!.replace(/\.git$/, '')}`;
  const url = raw
    .replace(/^git\+/, '')
    .replace(/^git:\/\//, 'https://')
    .replace(/^ssh:\/\/git@/, 'https://')
    .replace(/^git@([^:]+):/, 'https://$1/')
    .replace(/\.git$/, '')
    .replace(/#.*$/, '')
    .replace(/\/+$/, '');
  return /^https?:\/\/[^/]+\/\S+$/.test(url) ? url : null;
}

/** Builds the index from sections (pure: tests pass their own). */
export function buildDocsIndex(sections: DocSection[], repo: string | null): DocsIndex {
  const search = new MiniSearch<DocSection & { id: number }>({
    fields: ['title', 'body'],
    processTerm,
    searchOptions: { boost: { title: 3 }, fuzzy: 0.2, prefix: true, combineWith: 'OR' },
  });
  search.addAll(sections.map((s, id) => ({ ...s, id })));
  const fileUrl = (file: string) => (repo ? `${repo}/blob/HEAD/${file}` : null);
  const sectionUrl = (s: DocSection) => (repo ? (s.file === 'README.md' ? `${repo}#${s.slug}` : `${fileUrl(s.file)}#${s.slug}`) : null);
  return {
    sections,
    search(query, limit = 3) {
      const results = search.search(query);
      const top = results[0]?.score ?? 0;
      // Keep the hits that are close to the best one (a weak second hit is noise, not a source), and none
      // when even the best one only shares a word or two by chance.
      return results
        .filter((r) => r.score >= Math.max(MIN_SCORE, top * 0.4))
        .slice(0, limit)
        .map((r) => {
          const section = sections[r.id as number]!;
          return { section, url: sectionUrl(section), fileUrl: fileUrl(section.file), score: r.score, terms: r.terms };
        });
    },
  };
}

/** The package's own README.md and docs/*.md (whatever of them is installed). */
export async function loadDocsIndex(root = new URL('../../../', import.meta.url)): Promise<DocsIndex> {
  const read = (path: string) => readFile(new URL(path, root), 'utf8').catch(() => null);
  const files = ['README.md'];
  try {
    for (const name of (await readdir(new URL('docs/', root))).sort()) if (name.endsWith('.md')) files.push(`docs/${name}`);
  } catch {
    // no docs folder in this installation
  }
  const sections: DocSection[] = [];
  for (const file of files) {
    const text = await read(file);
    if (text) sections.push(...splitSections(file, text));
  }
  let pkg: unknown = null;
  try {
    pkg = JSON.parse((await read('package.json')) ?? 'null');
  } catch {
    // an unreadable package.json: no links
  }
  return buildDocsIndex(sections, repositoryUrl(pkg));
}
