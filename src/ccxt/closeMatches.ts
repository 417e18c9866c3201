/** A symbol with its separators and case removed: "btc/usdt", "BTC-USDT" and "BTCUSDT" all read "BTCUSDT". */
export function normalizeSymbol(symbol: string): string {
  return symbol.toUpperCase().replace(/[^A-Z0-9]/g, "");
}

/**
 * Up to `max` of `candidates` that look like `wanted`, closest first: compared with their
 * separators removed, by edit distance (within a third of the length, at least 2), and
 * containment ("BTC" finds "BTC/USDT"). Ties keep the candidates' order.
 */
export function closeMatches(wanted: string, candidates: readonly string[], max = 5): string[] {
  const key = normalizeSymbol(wanted);
  if (key === "") return [];
  const within = Math.max(2, Math.floor(key.length / 3));
  const scored: Array<{ candidate: string; score: number; order: number }> = [];
  candidates.forEach((candidate, order) => {
    const other = normalizeSymbol(candidate);
    let score = levenshtein(key, other, within);
    if (score > within && key.length >= 3 && (other.includes(key) || key.includes(other))) score = within;
    if (score <= within) scored.push({ candidate, score, order });
  });
  scored.sort((a, b) => a.score - b.score || a.order - b.order);
  return [...new Set(scored.map((entry) => entry.candidate))].slice(0, max);
}

/** Edit distance of `a` and `b`, or a value above `bound` as soon as it must exceed it. */
function levenshtein(a: string, b: string, bound: number): number {
  if (Math.abs(a.length - b.length) > bound) return bound + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      current.push(value);
      if (value < rowMin) rowMin = value;
    }
    // Every later row is at least this row's minimum: stop once it is out of bound.
    if (rowMin > bound) return bound + 1;
    previous = current;
  }
  return previous[b.length] as number;
}
