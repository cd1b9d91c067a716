/**
 * "Did you mean" hints for misspelt keys, step names, inputs and step ids.
 */

// Edit distance (insert, delete, substitute, swap of neighbours) between two short words.
function distance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest known word to `word`, when it is close enough to be a likely typo. */
export function closestMatch(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of known) {
    const dist = distance(lower, candidate.toLowerCase());
    if (dist < bestDistance) {
      best = candidate;
      bestDistance = dist;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

/** A `did you mean "x"?` hint, or a list of what is allowed when nothing is close. */
export function didYouMean(word: string, known: readonly string[], noun = 'key'): string {
  const match = closestMatch(word, known);
  if (match) return `did you mean "${match}"?`;
  if (known.length === 0) return `no ${noun} is allowed here`;
  const shown = known.slice(0, 12);
  return `expected one of: ${shown.join(', ')}${known.length > shown.length ? ', …' : ''}`;
}
