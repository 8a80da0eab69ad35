/**
 * "Did you mean": the names (flags, keys of --config.file) closest to a name that is not one of them.
 * Dots, hyphens and underscores count as the same separator and case is ignored, so that
 * `--sample-interval`, `-sample.interval` and `--Sample.Interval` all find `--sample.interval`.
 */

const MOST_SUGGESTIONS = 3;

function normalized(name: string): string {
  return name.toLowerCase().replace(/[._-]+/g, '.').replace(/^\.+|\.+$/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Infinity;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** How many typos a name of this length may hold and still be recognised. */
function typosAllowed(length: number): number {
  return length <= 2 ? 0 : length <= 4 ? 1 : length <= 10 ? 2 : 3;
}

/**
 * How close `given` is to `candidate` (both normalized), lower is closer; null: not close at all.
 * 0: the same name; 1: a typo of it (`log.levle`); 2: its last words, or a typo of them (`listen-adress`,
 * `interval`); 3: its beginning (`web.listen`, `-h`), or some of its words in order (`listen`).
 */
function closeness(given: string, candidate: string): number | null {
  if (given === candidate) return 0;
  if (distance(given, candidate) <= typosAllowed(given.length)) return 1;
  const words = candidate.split('.');
  const tails = words.slice(1).map((_, i) => words.slice(i + 1).join('.'));
  if (tails.some((tail) => distance(given, tail) <= typosAllowed(given.length))) return 2;
  if (candidate.startsWith(given)) return 3;
  const givenWords = given.split('.');
  for (let i = 0; i + givenWords.length <= words.length; i++) {
    if (givenWords.every((word, k) => words[i + k] === word)) return 3;
  }
  return null;
}

/**
 * The names closest to `given`, in the order of `names`: those of the best closeness, at most three
 * (more than three equally close names are no suggestion, only a guess).
 */
export function closestNames(given: string, names: readonly string[]): string[] {
  const wanted = normalized(given);
  if (wanted === '') return [];
  const scored = names.map((name) => ({ name, score: closeness(wanted, normalized(name)) }));
  const best = Math.min(...scored.map((s) => s.score ?? Infinity));
  if (best === Infinity) return [];
  const closest = scored.filter((s) => s.score === best).map((s) => s.name);
  return closest.length <= MOST_SUGGESTIONS ? closest : [];
}
