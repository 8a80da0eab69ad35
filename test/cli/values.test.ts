/** The one duration parser (flags and --config.file), the whole-number reader and "did you mean". */
import { formatDuration, MAX_DURATION_MS, parseDuration, readDuration } from '../../src/cli/duration';
import { closestNames } from '../../src/cli/suggest';
import { readInteger, ValueProblem } from '../../src/cli/values';

function reasonOf(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ValueProblem);
    return (error as ValueProblem).reason;
  }
  throw new Error('accepted');
}

describe('readDuration', () => {
  test.each([
    ['500ms', 500],
    ['15s', 15_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['0', 0],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(readDuration(text)).toBe(ms);
  });

  test.each([
    ['15', 0, 'must be a duration such as 500ms, 15s, 1m or 2h, got "15"'],
    ['1.5s', 0, 'must be a duration such as 500ms, 15s, 1m or 2h, got "1.5s"'],
    ['', 0, 'must be a duration such as 500ms, 15s, 1m or 2h, got ""'],
    ['0s', 100, 'must be at least 100ms, got "0s"'],
    ['99ms', 100, 'must be at least 100ms, got "99ms"'],
    ['30s', 60_000, 'must be at least 1m, got "30s"'],
    ['600h', 0, 'must be at most 24d20h31m23s647ms (the longest timer Node can set), got "600h"'],
  ])('%j (at least %d ms) is refused: %s', (text, min, reason) => {
    expect(reasonOf(() => readDuration(text, min))).toBe(reason);
  });

  test('the bounds, as the messages write them', () => {
    expect(formatDuration(MAX_DURATION_MS)).toBe('24d20h31m23s647ms');
    expect(parseDuration(formatDuration(MAX_DURATION_MS))).toBe(MAX_DURATION_MS);
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(90_500)).toBe('1m30s500ms');
  });
});

describe('readInteger', () => {
  test.each([
    ['x', { min: 0, max: 10 }, 'must be a whole number from 0 to 10, got "x"'],
    ['-1', { min: 1 }, 'must be a whole number of at least 1, got "-1"'],
    ['11', { min: 0, max: 10 }, 'must be at most 10, got "11"'],
    ['0', { min: 1 }, 'must be at least 1, got "0"'],
  ])('%j %j: %s', (text, bounds, reason) => {
    expect(reasonOf(() => readInteger(text, bounds))).toBe(reason);
  });
});

describe('closestNames', () => {
  const names = ['name', 'address', 'replay', 'simulator', 'interval', 'timeout', 'full-interval', 'max-age'];
  test.each([
    ['adress', ['address']],
    ['Address', ['address']],
    ['intervall', ['interval']],
    ['max_age', ['max-age']],
    ['maxage', ['max-age']],
    ['fullinterval', ['full-interval']],
    ['timout', ['timeout']],
    ['sim', ['simulator']],
    ['hostname', []],
    ['', []],
  ])('%j → %j', (given, expected) => {
    expect(closestNames(given, names)).toEqual(expected);
  });
});
