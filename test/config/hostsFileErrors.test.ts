import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostsFileError, loadHostsFile } from '../../src/config/hostsFile';

/** --config.file: what a valid file gives, and one clear line naming the file, the line and the key for each mistake. */

const DEFAULTS = { intervalMs: 15_000, timeoutMs: 10_000, fullIntervalMs: 300_000, maxAgeMs: 300_000 };
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hosts-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(text: string): string {
  const path = join(dir, 'hosts.yml');
  writeFileSync(path, text);
  return path;
}

async function errorOf(text: string): Promise<string> {
  const path = write(text);
  try {
    await loadHostsFile(path, DEFAULTS);
  } catch (error) {
    expect(error).toBeInstanceOf(HostsFileError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message.startsWith(`config file ${JSON.stringify(path)}`)).toBe(true);
    return message.slice(`config file ${JSON.stringify(path)}`.length);
  }
  throw new Error('the file was accepted');
}

describe('loadHostsFile', () => {
  test('every kind of host, with the flags as defaults and per-host overrides', async () => {
    const path = write(`hosts:
  - name: hv01
    address: hv01.corp.example
  - name: local
  - name: lab
    replay: recordings/lab.json
    interval: 1m
    timeout: 10s
  - name: sim
    simulator: {vms: 64, seed: 3}
    full-interval: 0s
    max-age: 0
cluster:
  discover: true
  refresh-interval: 2m
`);
    const file = await loadHostsFile(path, DEFAULTS);
    expect(file.hosts).toEqual([
      { name: 'hv01', source: { kind: 'powershell', computerName: 'hv01.corp.example' }, ...DEFAULTS },
      { name: 'local', source: { kind: 'powershell' }, ...DEFAULTS },
      { name: 'lab', source: { kind: 'replay', file: join(dir, 'recordings/lab.json') }, ...DEFAULTS, intervalMs: 60_000, timeoutMs: 10_000 },
      { name: 'sim', source: { kind: 'simulator', vms: 64, seed: 3 }, ...DEFAULTS, fullIntervalMs: 0, maxAgeMs: 0 },
    ]);
    expect(file.cluster).toEqual({ discover: true, refreshMs: 120_000 });
  });

  test('cluster discovery alone is a valid file', async () => {
    const file = await loadHostsFile(write('cluster:\n  discover: true\n'), DEFAULTS);
    expect(file.hosts).toEqual([]);
    expect(file.cluster.discover).toBe(true);
  });

  // Issue #20, item 2: one line naming the file, the key's own line and the key, what is wrong and the fix.
  test.each([
    ['a YAML syntax error', 'hosts:\n  - name: hv01\n   address: x\n', ', line 3: not valid YAML: Sequence item without - indicator'],
    ['an unknown key of a host, on its own line', 'hosts:\n  - name: hv01\n    adress: hv01.example\n', ', line 3: hosts[0].adress: unknown key; did you mean address?'],
    [
      'an unknown key like none of a host',
      'hosts:\n  - name: hv01\n    simulator: {vms: 1}\n    color: blue\n',
      ', line 4: hosts[0].color: unknown key; a host takes name, address, replay, simulator, interval, timeout, full-interval or max-age',
    ],
    ['an unknown key of the file', 'host:\n  - name: hv01\n', ', line 1: host: unknown key; did you mean hosts?'],
    ['an unknown key of cluster', 'cluster:\n  discover: true\n  refresh: 1m\n', ', line 3: cluster.refresh: unknown key; did you mean refresh-interval?'],
    ['an unknown key of a simulator', 'hosts:\n  - name: s\n    simulator:\n      vms: 3\n      sead: 2\n', ', line 5: hosts[0].simulator.sead: unknown key; did you mean seed?'],
    ['a missing name', 'hosts:\n  - address: hv01.example\n', ', line 2: hosts[0].name: missing; every host needs a name, its target at /probe?target=NAME'],
    [
      'a name that is no target name',
      'hosts:\n  - name: "hv 01"\n',
      ', line 2: hosts[0].name: must be 1 to 63 letters, digits, dots, hyphens or underscores, starting with a letter or digit, got "hv 01"',
    ],
    ['a host that is no map', 'hosts:\n  - hv01\n', ', line 2: hosts[0]: must be a map with a name, such as "- name: hv01", got "hv01"'],
    ['hosts that are no list', 'hosts:\n  name: hv01\n', ', line 1: hosts: must be a list of hosts, such as "- name: hv01", got a map'],
    ['a file that is no map', '- name: hv01\n', ', line 1: must be a map with hosts (and cluster), got a list'],
    ['two sources', 'hosts:\n  - name: hv01\n    address: hv01.example\n    replay: x.json\n', ', line 4: hosts[0].replay: a host has one of address, replay and simulator, not address and replay'],
    [
      'an address with PowerShell syntax',
      "hosts:\n  - name: hv01\n    address: \"hv01'; Remove-Item C:\\\\\"\n",
      `, line 3: hosts[0].address: "hv01'; Remove-Item C:\\\\" is not a host address: "hv01'; Remove-Item C:\\\\" is not a DNS label (1-63 letters, digits or inner hyphens) (expected a DNS name, an IPv4 or an IPv6 address)`,
    ],
    ['a duration that is not one', 'hosts:\n  - name: hv01\n    interval: 15\n', ', line 3: hosts[0].interval: must be a duration such as 500ms, 15s, 1m or 2h, got 15 without a unit'],
    ['a duration below the least', 'hosts:\n  - name: hv01\n    interval: 50ms\n', ', line 3: hosts[0].interval: must be at least 100ms, got "50ms"'],
    [
      'a duration past the timer range',
      'hosts:\n  - name: hv01\n    timeout: 600h\n',
      ', line 3: hosts[0].timeout: must be at most 24d20h31m23s647ms (the longest timer Node can set), got "600h"',
    ],
    [
      'max-age below the interval, on the line of max-age',
      'hosts:\n  - name: hv01\n    interval: 1m\n    max-age: 30s\n',
      ', line 4: hosts[0].max-age: 30s is shorter than the interval (1m), so the data would expire between two samples; make it at least 1m, or 0s to keep the data forever',
    ],
    [
      'an interval above the max-age of the flags, on the line of the interval',
      'hosts:\n  - name: hv01\n    interval: 10m\n',
      ', line 3: hosts[0].interval: 10m is longer than the max-age (5m, from --sample.max-age), so the data would expire between two samples; give this host a max-age of at least 10m, or 0s to keep the data forever',
    ],
    ['two hosts of one name', 'hosts:\n  - name: hv01\n  - name: HV01\n', ', line 3: hosts[1].name: "HV01" is the name of hosts[0] already (names are compared without case)'],
    ['nothing to sample', 'hosts: []\n', ', line 1: hosts: lists no host, and cluster.discover is not true: there would be nothing to sample'],
    ['an empty file', '', ': hosts: lists no host, and cluster.discover is not true: there would be nothing to sample'],
    ['simulator with a bad count', 'hosts:\n  - name: sim\n    simulator: {vms: -1}\n', ', line 3: hosts[0].simulator.vms: must be a whole number from 0 to 100000, got "-1"'],
    ['simulator with a quoted count', 'hosts:\n  - name: sim\n    simulator: {vms: "12"}\n', ', line 3: hosts[0].simulator.vms: must be a whole number from 0 to 100000 without quotes, got "12"'],
    ['a simulator that is no map', 'hosts:\n  - name: s\n    simulator: true\n', ', line 3: hosts[0].simulator: must be a map such as {vms: 12, seed: 1}, got true'],
    ['a cluster key of the wrong type', 'cluster:\n  discover: yes please\n', ', line 2: cluster.discover: must be true or false, got "yes please"'],
    ['an alias of no anchor', 'cluster:\n  discover: true\nhosts:\n  - name: *nope\n', ', line 4: not valid YAML: Unresolved alias (the anchor must be set before the alias): nope'],
  ])('%s', async (_what, text, message) => {
    expect(await errorOf(text)).toBe(message);
  });

  test('a YAML alias bomb is refused with one line naming the file and the line of the first alias', async () => {
    const tens = (name: string, of: string): string => `[${Array.from({ length: 10 }, () => of).join(', ')}]`.replace(/^/, name === '' ? '' : `&${name} `);
    const text = `hosts: [{name: hv01}]\nx: ${tens('a', 'x')}\ny: ${tens('b', '*a')}\nz: ${tens('c', '*b')}\nw: ${tens('', '*c')}\n`;
    expect(await errorOf(text)).toBe(
      ', line 3: refused: its aliases (*a first) expand to too many copies of what they name, as a YAML alias bomb does; write the values out instead of using aliases',
    );
  });

  test('a timeout not shorter than the interval is allowed, with a warning naming the line, the key and the fix', async () => {
    const path = write('hosts:\n  - name: hv01\n    timeout: 1m\n  - name: hv02\n    interval: 30s\n  - name: hv03\n    interval: 1m\n    timeout: 10s\n  - name: hv04\n    interval: 5s\n');
    const file = await loadHostsFile(path, DEFAULTS);
    expect(file.hosts.map((host) => host.timeoutMs)).toEqual([60_000, 10_000, 10_000, 10_000]);
    // hv04's own interval is not longer than the timeout it keeps from the flags (10s): said at its interval.
    expect(file.warnings).toEqual([
      `config file ${JSON.stringify(path)}, line 3: hosts[0].timeout: 1m is not shorter than the interval (15s): samples never overlap, so a sample that runs that long delays the next one; make the timeout shorter than the interval`,
      `config file ${JSON.stringify(path)}, line 10: hosts[3].interval: 5s is not longer than the timeout (10s, from --sample.timeout): samples never overlap, so a sample that runs that long delays the next one; give this host a timeout shorter than its interval`,
    ]);
  });

  test('a file that cannot be read says so', async () => {
    await expect(loadHostsFile(join(dir, 'missing.yml'), DEFAULTS)).rejects.toThrow(/config file ".*missing\.yml": cannot read \(ENOENT\)/);
  });

  test('a long value is abbreviated in the error line', async () => {
    const message = await errorOf(`hosts:\n  - name: hv01\n    interval: ${'9'.repeat(5_000)}x\n`);
    expect(message.length).toBeLessThan(400);
  });
});
