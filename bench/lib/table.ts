/** The summary table `npm run bench` prints: figure, value, goal, met?. */

export interface Row {
  figure: string;
  value: string;
  goal: string;
  /** null: no goal (shown for context). */
  met: boolean | null;
}

export function formatTable(rows: Row[]): string {
  const head: Row = { figure: 'figure', value: 'value', goal: 'goal', met: null };
  const cells = (r: Row) => [r.figure, r.value, r.goal, r === head ? 'met?' : r.met === null ? '' : r.met ? 'yes' : 'NO'];
  const all = [head, ...rows].map(cells);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...all.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((s, i) => s.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(all[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** The same rows as a Markdown table (for the README's Performance section). */
export function markdownTable(rows: Row[]): string {
  return [
    '| figure | value | goal | met? |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${r.value} | ${r.goal} | ${r.met === null ? '' : r.met ? 'yes' : 'no'} |`),
  ].join('\n');
}
