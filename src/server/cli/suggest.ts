/** "Did you mean …?" for mistyped flags and commands: the closest known name by edit distance. */

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of two neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name `input` most likely meant: the only one it is a prefix of, else the nearest within two edits
 * (and fewer edits than the input has letters, so `-x` does not "mean" `--json`). Undefined when none is close.
 */
export function closest(input: string, known: readonly string[]): string | undefined {
  const word = input.toLowerCase();
  if (word.length >= 2) {
    const prefixed = known.filter((k) => k.startsWith(word));
    if (prefixed.length === 1) return prefixed[0];
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = editDistance(word, k);
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  return bestDistance <= 2 && bestDistance < word.length ? best : undefined;
}

/** ` (did you mean X?)`, or nothing. */
export function didYouMean(input: string, known: readonly string[], format: (name: string) => string = (n) => n): string {
  const match = closest(input, known);
  return match === undefined ? '' : ` (did you mean ${format(match)}?)`;
}
