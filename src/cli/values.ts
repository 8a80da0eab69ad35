import { abbreviate } from '../contract/hostAddress';

/**
 * A value a person gave (a flag, a key of --config.file) that is refused, and why, in words that
 * follow the name of the flag or key: "must be at least 100ms, got "0s"". The caller puts the name in
 * front (see FlagError, HostsFileError).
 */
export class ValueProblem extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ValueProblem';
  }
}

/** `got "…"`: the value as given, quoted and cut short. */
export function got(text: string): string {
  return `got ${abbreviate(text)}`;
}

/** "a, b or c". */
export function listOf(words: readonly string[], last = 'or'): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} ${last} ${words[words.length - 1]}`;
}

export interface IntegerBounds {
  readonly min: number;
  readonly max?: number;
}

/** A whole number written in decimal digits, within its bounds. */
export function readInteger(text: string, { min, max }: IntegerBounds): number {
  const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
  if (!/^\d{1,15}$/.test(text)) throw new ValueProblem(`must be a whole number ${range}, ${got(text)}`);
  const value = Number(text);
  if (value < min) throw new ValueProblem(`must be at least ${min}, ${got(text)}`);
  if (max !== undefined && value > max) throw new ValueProblem(`must be at most ${max}, ${got(text)}`);
  return value;
}

/** One of a few words, written exactly. */
export function readChoice<T extends string>(text: string, choices: readonly T[]): T {
  const choice = choices.find((c) => c === text);
  if (choice === undefined) throw new ValueProblem(`must be ${listOf(choices)}, ${got(text)}`);
  return choice;
}
