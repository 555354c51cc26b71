/**
 * A long Markdown reply like a model writes (headings, paragraphs with inline marks, lists, code, tables),
 * cut into tokens (~4 characters each, as Mistral's tokenizer averages on English prose) and chunks.
 * Deterministic: the same text every run.
 */

const WORDS = (
  'the proxy stores each message before it calls the model so nothing a visitor typed is lost when ' +
  'the upstream fails and the reply streams back as server sent events that the widget renders ' +
  'incrementally with a sanitizer between the parser and the page'
).split(' ');

/** A tiny deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(r: () => number, words: number): string {
  const w = Array.from({ length: words }, () => WORDS[Math.floor(r() * WORDS.length)] as string);
  const i = Math.floor(r() * (w.length - 2));
  if (r() < 0.3) w[i] = `**${w[i]}**`;
  else if (r() < 0.3) w[i] = `\`${w[i]}()\``;
  else if (r() < 0.2) w[i] = `[${w[i]}](https://example.com/${w[i]})`;
  const s = w.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1) + '.';
}

const CODE = [
  'export async function relay(stream, upstream, store) {',
  '  const turn = await store.beginTurn(input);',
  '  for await (const text of upstream.stream(request)) {',
  "    await stream.writeSSE({ event: 'delta', data: JSON.stringify({ text }) });",
  '  }',
  '  return store.endTurn({ ...turn, content });',
  '}',
];

function section(r: () => number, n: number): string {
  const parts: string[] = [`## ${n}. ${sentence(r, 4).replace(/\*|`|\[|\]\([^)]*\)/g, '').slice(0, -1)}`, ''];
  parts.push(Array.from({ length: 3 }, () => sentence(r, 10 + Math.floor(r() * 10))).join(' '), '');
  parts.push(...Array.from({ length: 4 }, (_, i) => `${r() < 0.5 ? '-' : `${i + 1}.`} ${sentence(r, 6 + Math.floor(r() * 6))}`), '');
  if (n % 2 === 0) parts.push('```ts', ...CODE, '```', '');
  if (n % 3 === 0) {
    parts.push('| setting | default | meaning |', '|---|---:|---|');
    for (let i = 0; i < 5; i++) parts.push(`| \`limit_${i}\` | ${i * 20} | ${sentence(r, 5)} |`);
    parts.push('');
  }
  parts.push(Array.from({ length: 2 }, () => sentence(r, 12)).join(' '), '');
  return parts.join('\n');
}

/** Splits text into token-like pieces: a word with its leading space, or a run of punctuation/markup. */
export function tokenize(text: string): string[] {
  return text.match(/\s*[A-Za-z0-9]{1,6}|\s*[^A-Za-z0-9\s]{1,3}|\s+/g) ?? [];
}

/** A reply of about `tokens` tokens. */
export function longReply(tokens = 4000): string {
  const r = rng(42);
  let text = '# A long answer\n\n';
  for (let n = 1; tokenize(text).length < tokens; n++) text += section(r, n) + '\n';
  return tokenize(text).slice(0, tokens).join('');
}

/** Consecutive tokens grouped `perChunk` at a time: what one SSE `delta` carries. */
export function chunks(text: string, perChunk = 2): string[] {
  const t = tokenize(text);
  const out: string[] = [];
  for (let i = 0; i < t.length; i += perChunk) out.push(t.slice(i, i + perChunk).join(''));
  return out;
}

/** `n` stored messages (user and assistant alternating, assistant replies in Markdown), oldest first. */
export function history(n = 200): { id: string; role: 'user' | 'assistant'; content: string; created_at: string }[] {
  const r = rng(7);
  const start = Date.UTC(2025, 0, 1);
  return Array.from({ length: n }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: i % 2 === 0 ? sentence(r, 8 + Math.floor(r() * 10)) : section(r, i),
    created_at: new Date(start + i * 60_000).toISOString(),
  }));
}
