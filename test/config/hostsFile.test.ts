/**
 * --config.file: the durations of a host (interval, timeout, full-interval, max-age) and of cluster
 * discovery (refresh-interval) must fit Node's timers (at most 2^31-1 ms, MAX_DURATION_MS), or the file
 * is refused with one line naming the file, the line and the key, as the flags are.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostsFileError, loadHostsFile } from '../../src/config/hostsFile';

const DEFAULTS = { intervalMs: 15_000, timeoutMs: 30_000, fullIntervalMs: 300_000, maxAgeMs: 0 };
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hosts-file-durations-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function write(text: string): string {
  const path = join(dir, `hosts-${++files}.yml`);
  writeFileSync(path, text);
  return path;
}

/** The error line for `text`, after `config file "<path>"`. */
async function refusal(text: string): Promise<string> {
  const path = write(text);
  let error: unknown;
  try {
    await loadHostsFile(path, DEFAULTS);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HostsFileError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  expect(message.startsWith(`config file ${JSON.stringify(path)}`)).toBe(true);
  return message.slice(`config file ${JSON.stringify(path)}`.length);
}

const HOST_KEYS = ['interval', 'timeout', 'full-interval', 'max-age'] as const;
const TIMING_KEY = { interval: 'intervalMs', timeout: 'timeoutMs', 'full-interval': 'fullIntervalMs', 'max-age': 'maxAgeMs' } as const;
/** A host with `key: value` on line 4; max-age 0 so that a long interval is allowed. */
const hostWith = (key: string, value: string): string =>
  `hosts:\n  - name: hv01\n    simulator: {vms: 1}\n    ${key}: ${value}\n${key === 'max-age' ? '' : '    max-age: 0s\n'}`;

describe('durations of --config.file past the timer range', () => {
  test.each(HOST_KEYS)('hosts[0].%s: 600h is refused, naming the line, the key and the longest duration', async (key) => {
    expect(await refusal(hostWith(key, '600h'))).toBe(`, line 4: hosts[0].${key}: must be at most 24d20h31m23s647ms (the longest timer Node can set), got "600h"`);
  });

  test.each(HOST_KEYS)('hosts[0].%s: 2147483647ms is the longest accepted, 2147483648ms is refused', async (key) => {
    const file = await loadHostsFile(write(hostWith(key, '2147483647ms')), DEFAULTS);
    expect(file.hosts[0]?.[TIMING_KEY[key]]).toBe(2 ** 31 - 1);
    expect(await refusal(hostWith(key, '2147483648ms'))).toMatch(new RegExp(`^, line 4: hosts\\[0\\]\\.${key}: must be at most 24d20h31m23s647ms`));
  });

  test.each(HOST_KEYS)('hosts[0].%s with 400 digits: one short line, the value abbreviated', async (key) => {
    const message = await refusal(hostWith(key, `${'9'.repeat(400)}s`));
    expect(message).toMatch(new RegExp(`^, line 4: hosts\\[0\\]\\.${key}: must be at most 24d20h31m23s647ms`));
    expect(message).toContain('(401 characters)');
    expect(message.length).toBeLessThan(300);
  });

  test('cluster.refresh-interval: 600h is refused, 24d20h31m23s647ms accepted', async () => {
    expect(await refusal('cluster:\n  discover: true\n  refresh-interval: 600h\n')).toMatch(
      /^, line 3: cluster\.refresh-interval: must be at most 24d20h31m23s647ms/,
    );
    const file = await loadHostsFile(write('cluster:\n  discover: true\n  refresh-interval: 24d20h31m23s647ms\n'), DEFAULTS);
    expect(file.cluster.refreshMs).toBe(2 ** 31 - 1);
  });

  test('the second host is named when it is the one with the long duration', async () => {
    expect(await refusal('hosts:\n  - name: hv01\n  - name: hv02\n    interval: 1000d\n')).toMatch(/^, line 4: hosts\[1\]\.interval: must be at most/);
  });
});
