/** The summary table `npm run bench` prints and writes into the README: figure, value, versus, goal, met?. */

export interface Row {
  figure: string;
  value: string;
  /** The same-run comparison: baseline, floor or peer (empty when there is none). */
  versus?: string;
  goal: string;
  /** null: no goal (shown for context). */
  met: boolean | null;
}

const HEAD = ['figure', 'value', 'versus (same run)', 'goal', 'met?'];
const cells = (r: Row) => [r.figure, r.value, r.versus ?? '', r.goal, r.met === null ? '' : r.met ? 'yes' : 'NO'];

export function formatTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((s, i) => s.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n');
}

/** The same rows as a Markdown table (the README's Performance section). */
export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  return [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`)].join('\n');
}
