import type { HostConfig } from '../../src/config/hostsFile';
import { Slots } from '../../src/contract/slots';
import { discoveredHosts } from '../../src/hosts/discoveredHosts';
import { PowerShellProcesses } from '../../src/hosts/powershellProcesses';
import { isThisComputer, shortName } from '../../src/hosts/thisComputer';
import pino from 'pino';
import { hostname } from 'node:os';

/** What hosts.ts knows, one file each: which cluster nodes are hosts, which is this computer, and the PowerShell processes they share. */

const TIMING = { intervalMs: 15_000, timeoutMs: 10_000, fullIntervalMs: 300_000, maxAgeMs: 300_000 };

describe('this computer', () => {
  test.each([
    ['HV01', 'hv01', true],
    ['hv01.corp.example', 'HV01', true],
    ['HV01', 'hv01.corp.example', true],
    ['hv02', 'hv01', false],
    ['hv010', 'hv01', false],
  ])('%s on %s: %s', (node, local, expected) => {
    expect(isThisComputer(node, local)).toBe(expected);
  });

  test('a short name is the first label, lower-cased', () => {
    expect(shortName('HV01.corp.example')).toBe('hv01');
    expect(shortName('hv01')).toBe('hv01');
  });
});

describe('discoveredHosts', () => {
  const configured: HostConfig[] = [
    { name: 'hv01', source: { kind: 'powershell' }, ...TIMING },
    { name: 'other', source: { kind: 'powershell', computerName: 'HV02.corp.example' }, ...TIMING },
    { name: 'lab', source: { kind: 'replay', file: 'lab.json' }, ...TIMING },
  ];

  test('a node a configured host samples (by name, or by address, with or without domain) is left to it', () => {
    const nodes = ['HV01', 'hv01.corp.example', 'hv02', 'HV02.CORP.EXAMPLE', 'hv03'].map((name) => ({ name, state: 0 }));
    expect(discoveredHosts(nodes, configured, TIMING).map((host) => host.name)).toEqual(['hv03']);
  });

  test('this computer\'s node is sampled locally, the others through WinRM, each with the default timing', () => {
    const nodes = [{ name: hostname(), state: 0 }, { name: 'hv03', state: 0 }];
    expect(discoveredHosts(nodes, [], TIMING)).toEqual([
      { name: hostname(), source: { kind: 'powershell' }, ...TIMING },
      { name: 'hv03', source: { kind: 'powershell', computerName: 'hv03' }, ...TIMING },
    ]);
  });
});

describe('PowerShellProcesses', () => {
  test('the cluster read runs in a slot: with none free it waits, and gives up with its signal', async () => {
    const slots = new Slots(1);
    const release = await slots.acquire(new AbortController().signal);
    const processes = new PowerShellProcesses(slots, { recycleAfterSamples: 10, logger: pino({ level: 'silent' }) });
    const controller = new AbortController();
    const reading = processes.readClusterNodes(controller.signal);
    controller.abort(new Error('no slot in time'));
    await expect(reading).rejects.toThrow('no slot in time');
    release();
    await processes.close();
  });

  test('the pool has as many processes as there are slots, and is made once', async () => {
    const processes = new PowerShellProcesses(new Slots(3), { executable: 'pwsh', recycleAfterSamples: 10, logger: pino({ level: 'silent' }) });
    const pool = processes.pool();
    expect(pool.options.size).toBe(3);
    expect(processes.pool()).toBe(pool);
    await processes.close();
  });
});
