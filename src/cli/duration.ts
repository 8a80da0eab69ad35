import { got, ValueProblem } from './values';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration the exporter takes: Node's timers hold at most 2^31-1 ms (about 24.8 days) and
 * turn anything longer into 1 ms, so a longer interval or timeout could not be honoured.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Prometheus-style durations such as 500ms, 15s, 1m30s, 2h, 1d; returns milliseconds, Infinity for a
 * duration too long to count in milliseconds (callers refuse it as longer than MAX_DURATION_MS), or
 * null for what is not a duration.
 */
export function parseDuration(text: string): number | null {
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) return null;
  let total = 0;
  for (const match of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
  return Number.isSafeInteger(total) ? total : Infinity;
}

/** `24d20h31m23s647ms` for MAX_DURATION_MS: a duration as the flags take it. */
export function formatDuration(ms: number): string {
  let rest = ms;
  let text = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text === '' ? '0s' : text;
}

/**
 * A duration given by a person (a flag, or a key of --config.file): milliseconds, at least `minMs`
 * and at most MAX_DURATION_MS. A plain `0` means 0s. Anything else is a ValueProblem that says what
 * is wrong, with units.
 */
export function readDuration(text: string, minMs = 0): number {
  const ms = parseDuration(text === '0' ? '0s' : text);
  if (ms === null) throw new ValueProblem(`must be a duration such as 500ms, 15s, 1m or 2h, ${got(text)}`);
  if (ms > MAX_DURATION_MS) throw new ValueProblem(`must be at most ${formatDuration(MAX_DURATION_MS)} (the longest timer Node can set), ${got(text)}`);
  if (ms < minMs) throw new ValueProblem(`must be at least ${formatDuration(minMs)}, ${got(text)}`);
  return ms;
}
