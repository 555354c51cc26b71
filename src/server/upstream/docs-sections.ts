/**
 * This project's Markdown docs (README.md, docs/*.md) cut into sections, one per heading, each with the
 * anchor GitHub gives that heading, so a section can be cited with a link. Pure and runtime-neutral: the
 * files are read elsewhere (docs-index.ts).
 */

export interface DocSection {
  /** `README.md` or `docs/deploy-supabase.md`. */
  file: string;
  /** The heading's text, Markdown removed. */
  heading: string;
  /** The headings above it and itself, e.g. `Security › What the widget renders`. */
  title: string;
  /** GitHub's anchor for the heading (`#` not included). */
  slug: string;
  /** The section's Markdown body (without its heading, without HTML lines). */
  body: string;
}

/** Inline Markdown reduced to its text: links to their label, code, emphasis and images marks removed. */
export function inlineText(md: string): string {
  return md
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[`*~]/g, '')
    .trim();
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
export function slugger(): (heading: string) => string {
  const seen = new Map<string, number>();
  return (heading) => {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base);
    seen.set(base, (n ?? -1) + 1);
    return n === undefined ? base : `${base}-${n + 1}`;
  };
}

const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;
const FENCE = /^\s*(```|~~~)/;

/** The sections of one Markdown file, in order; text before the first heading belongs to the file's title. */
export function splitSections(file: string, markdown: string): DocSection[] {
  const sections: DocSection[] = [];
  const slug = slugger();
  const trail: string[] = [];
  let current: { heading: string; title: string; slug: string; lines: string[] } | null = null;
  let fence: string | null = null;
  const close = () => {
    if (!current) return;
    const body = current.lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
    sections.push({ file, heading: current.heading, title: current.title, slug: current.slug, body });
  };
  for (const line of markdown.split(/\r?\n/)) {
    const f = FENCE.exec(line);
    if (f) fence = fence === null ? f[1]! : fence === f[1] ? null : fence;
    const h = fence === null && !f ? HEADING.exec(line) : null;
    if (h) {
      close();
      const level = h[1]!.length;
      const heading = inlineText(h[2]!);
      trail.length = level - 1;
      trail[level - 1] = heading;
      // The file's own title (level 1) is left out of its sections' titles.
      const title = trail.slice(1).filter(Boolean).join(' › ') || heading;
      current = { heading, title, slug: slug(heading), lines: [] };
      continue;
    }
    // HTML blocks (screenshots, badges) are not text anyone asks about.
    if (current && (fence !== null || f || !/^\s*</.test(line))) current.lines.push(line);
  }
  close();
  return sections.filter((s) => s.body !== '');
}

/**
 * About `max` characters of a section's Markdown, cut between blocks (a code block or a table is never
 * cut), starting at the block that holds most of `terms` (the first block when none does), with relative
 * links made absolute against `linkBase` (the file's own URL), or reduced to their text without one;
 * images become their alt text.
 */
export function excerpt(body: string, max: number, linkBase: string | null, terms: readonly string[] = []): string {
  const blocks: string[] = [];
  let block: string[] = [];
  let fence: string | null = null;
  for (const line of body.split('\n')) {
    const f = FENCE.exec(line);
    if (f) fence = fence === null ? f[1]! : fence === f[1] ? null : fence;
    if (line.trim() === '' && fence === null) {
      if (block.length) blocks.push(block.join('\n'));
      block = [];
    } else block.push(line);
  }
  if (block.length) blocks.push(block.join('\n'));
  const hits = (b: string) => {
    const lower = b.toLowerCase();
    return terms.filter((t) => lower.includes(t)).length;
  };
  let start = 0;
  blocks.forEach((b, i) => {
    if (hits(b) > hits(blocks[start]!)) start = i;
  });
  // A list or a table reads better after the sentence that introduces it.
  if (start > 0 && /^\s*([-*|]|\d+\.)\s/.test(blocks[start]!) && blocks[start - 1]!.length < 300) start--;
  let out = '';
  for (const b of blocks.slice(start)) {
    if (out && out.length + b.length > max) break;
    out += (out ? '\n\n' : '') + b;
    if (out.length >= max * 0.6) break;
  }
  return out.replace(/(!?)\[([^\]]*)\]\(([^)\s]+)\)/g, (all, bang: string, label: string, href: string) => {
    if (/^(https?:|mailto:)/i.test(href)) return all;
    if (bang) return label;
    return linkBase ? `[${label}](${new URL(href, linkBase).href})` : label;
  });
}

/** One line of plain text from a section's Markdown, for a snippet. */
export function plainSnippet(body: string, max = 200): string {
  const text = inlineText(
    body
      .replace(/```[\s\S]*?```/g, ' ')
      .replace(/^\s*\|.*\|\s*$/gm, ' ')
      .replace(/^\s*[-*>]\s+/gm, ''),
  )
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}
