import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostsFileError, loadHostsFile } from '../../src/config/hostsFile';

/** --config.file: what a valid file gives, and one clear line naming the file, the line and the key for each mistake. */

const DEFAULTS = { intervalMs: 15_000, timeoutMs: 30_000, fullIntervalMs: 300_000, maxAgeMs: 300_000 };
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

  test.each([
    ['a YAML syntax error', 'hosts:\n  - name: hv01\n   address: x\n', /^, line \d: not valid YAML/],
    ['an unknown key', 'hosts:\n  - name: hv01\n    adress: hv01.example\n', /^, line 2: hosts\[0\]: Unrecognized key: "adress"/],
    ['a missing name', 'hosts:\n  - address: hv01.example\n', /^, line 2: hosts\[0\]\.name: /],
    ['a name that is no target name', 'hosts:\n  - name: "hv 01"\n', /^, line 2: hosts\[0\]\.name: must be 1 to 63 letters/],
    ['two sources', 'hosts:\n  - name: hv01\n    address: hv01.example\n    replay: x.json\n', /^, line 4: hosts\[0\]\.replay: a host has one of address, replay and simulator/],
    ['an address with PowerShell syntax', "hosts:\n  - name: hv01\n    address: \"hv01'; Remove-Item C:\\\\\"\n", /^, line 3: hosts\[0\]\.address: .* is not a host address/],
    ['a duration that is not one', 'hosts:\n  - name: hv01\n    interval: 15\n', /^, line 3: hosts\[0\]\.interval: /],
    ['a duration past the timer range', 'hosts:\n  - name: hv01\n    timeout: 600h\n', /^, line 3: hosts\[0\]\.timeout: must be at most 24d20h31m23s647ms/],
    ['max-age below the interval', 'hosts:\n  - name: hv01\n    interval: 1m\n    max-age: 30s\n', /^, line 2: hosts\[0\]\.max-age: must be at least the interval/],
    ['two hosts of one name', 'hosts:\n  - name: hv01\n  - name: HV01\n', /^, line 3: hosts\[1\]\.name: "HV01" is the name of hosts\[0\] already/],
    ['nothing to sample', 'hosts: []\n', /^: hosts: lists no host, and cluster\.discover is not true/],
    ['simulator with a bad count', 'hosts:\n  - name: sim\n    simulator: {vms: -1}\n', /^, line 3: hosts\[0\]\.simulator\.vms: /],
    ['a cluster key of the wrong type', 'cluster:\n  discover: yes please\n', /^, line 2: cluster\.discover: /],
  ])('%s is one line naming the line and the key', async (_what, text, message) => {
    expect(await errorOf(text)).toMatch(message);
  });

  test('a file that cannot be read says so', async () => {
    await expect(loadHostsFile(join(dir, 'missing.yml'), DEFAULTS)).rejects.toThrow(/config file ".*missing\.yml": cannot read \(ENOENT\)/);
  });

  test('a long value is abbreviated in the error line', async () => {
    const message = await errorOf(`hosts:\n  - name: hv01\n    interval: ${'9'.repeat(5_000)}x\n`);
    expect(message.length).toBeLessThan(400);
  });
});
