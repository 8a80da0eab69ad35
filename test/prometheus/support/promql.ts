/**
 * Finds the metric names a PromQL expression selects, without a PromQL parser: strings, label
 * matchers, ranges, grouping clauses and numbers are blanked out, and what remains that is not a
 * function call, aggregation or keyword is a metric name. Good enough for the hand-written queries
 * of this repository; the tests check it against known expressions.
 */
const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
]);
const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'atan2',
  'inf', 'nan',
]);

/** The expression without its `#` comments (a `#` inside a string is not one). */
export function withoutComments(expression: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i] as string;
    if (quote !== null) {
      out += c;
      if (c === '\\' && quote !== '`') out += expression[++i] ?? '';
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
      out += c;
    } else if (c === '#') {
      while (i + 1 < expression.length && expression[i + 1] !== '\n') i++;
    } else out += c;
  }
  return out;
}

export function metricNames(expression: string): Set<string> {
  const blanked = withoutComments(expression)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[A-Za-z_]\w*(?::[^}]*)?\}|\$[A-Za-z_]\w*|\[\[[A-Za-z_]\w*(?::\w+)?\]\]/g, ' ') // Grafana variables ($days * 86400)
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(?<![A-Za-z0-9_:])(?:\d+(?:ms|s|m|h|d|w|y))+(?![A-Za-z0-9_:])/g, ' ') // durations (offset 5m)
    .replace(/(?<![A-Za-z_:])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, ' ');
  const names = new Set<string>();
  for (const match of blanked.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const identifier = match[0];
    const rest = blanked.slice((match.index ?? 0) + identifier.length);
    if (/^\s*\(/.test(rest)) continue; // a function call
    if (AGGREGATIONS.has(identifier) || KEYWORDS.has(identifier.toLowerCase())) continue;
    names.add(identifier);
  }
  return names;
}

/** Template variables a Grafana expression refers to ($name, ${name}, [[name]]); capture groups such as "$1" are not variables. */
export function grafanaVariables(expression: string): Set<string> {
  const names = new Set<string>();
  for (const match of expression.matchAll(/\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\$([A-Za-z_]\w*)|\[\[([A-Za-z_]\w*)(?::\w+)?\]\]/g)) {
    const name = match[1] ?? match[2] ?? match[3];
    if (name !== undefined) names.add(name);
  }
  return names;
}
