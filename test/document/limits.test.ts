/**
 * What one sample document may cost (docs/limits.md#memory-and-time). A document holds at most
 * maxDocumentBytes, and at most maxVmsPerHost VMs are read from it (Hyper-V runs at most 1 024 VMs per
 * host): the VMs beyond are dropped and counted as vm_over_limit. Without that limit, 124 MiB of full VMs
 * (68 000 of them) made 381 MB of metrics and a 2.1 GB process.
 *
 * The bound is checked with the built code (dist/) in a child node started with the exporter's runtime
 * settings and an old-generation limit a little above what docs/limits.md says the largest accepted
 * documents need: it must process each of them twice in a row (the exporter keeps one sample while it
 * makes the next), or run out of memory and fail the test.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPONENT_CLASSES, COMPUTER_SYSTEM, COMPUTER_SYSTEM_CLASS } from '../../src/document/classes';
import { Diagnostics } from '../../src/document/diagnostics';
import { DEFAULT_LIMITS, type Limits } from '../../src/document/limits';
import { instancesOf, parseDocument } from '../../src/document/parse';
import { buildHostModel } from '../../src/model/buildHostModel';
import { runtimeSettingsOf } from '../../src/runtimeSettings';
import { ALL_OK, buildDocument, builtMain, guid, kvpItem, requireBuild, type VmSpec } from '../sampling/support';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

/** A seeded shuffle, so that the order of the VMs in a document says nothing about which are read. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const vmIdsOf = (systems: ReadonlyArray<{ Name: string }>): string[] => systems.map((s) => s.Name.toLowerCase()).filter((name) => name.startsWith('00000000-')).sort();

describe('maxVmsPerHost: the VMs read from one document', () => {
  test('is 4 096, four times the VMs Hyper-V runs on one host, and the documented figure', () => {
    expect(DEFAULT_LIMITS.maxVmsPerHost).toBe(4096);
    expect(DEFAULT_LIMITS.maxDocumentBytes).toBe(64 * MiB);
  });

  test('5 000 running VMs in any order: the 4 096 with the lowest GUIDs are read, 904 dropped and counted', () => {
    const vms: VmSpec[] = Array.from({ length: 5000 }, (_, i) => ({ guid: guid(i + 1), name: `vm-${i + 1}`, components: ALL_OK }));
    for (const seed of [1, 2]) {
      const document = buildDocument('HV-MANY', shuffled(vms, seed));
      const diagnostics = new Diagnostics();
      const parsed = parseDocument(document, diagnostics);
      expect(parsed.computerName).toBe('HV-MANY');
      expect(instancesOf(parsed, COMPUTER_SYSTEM).find((system) => system.Name === 'HV-MANY')).toBeDefined();
      expect(vmIdsOf(instancesOf(parsed, COMPUTER_SYSTEM))).toEqual(Array.from({ length: 4096 }, (_, i) => guid(i + 1)));
      const model = buildHostModel(parsed, diagnostics);
      expect(model.vms.map((vm) => vm.id)).toEqual(Array.from({ length: 4096 }, (_, i) => guid(i + 1)));
      expect(model.vms.every((vm) => vm.components.every((component) => component.present && component.status === 'ok'))).toBe(true);
      // The components and settings of the VMs not read are ignored, not counted a second time.
      expect(diagnostics.entries()).toEqual([
        { reason: 'vm_over_limit', count: 904, example: 'Msvm_ComputerSystem: 5000 VMs, the 4096 with the lowest GUIDs read' },
      ]);
    }
  });

  test('at the limit nothing is dropped; the host is always read; a VM listed twice counts once more', () => {
    const limits: Limits = { ...DEFAULT_LIMITS, maxVmsPerHost: 3 };
    const parse = (vms: readonly VmSpec[]): { ids: string[]; names: string[]; dropped: ReturnType<Diagnostics['entries']> } => {
      const diagnostics = new Diagnostics();
      const parsed = parseDocument(buildDocument('HV-FEW', vms), diagnostics, limits);
      const systems = instancesOf(parsed, COMPUTER_SYSTEM);
      return { ids: vmIdsOf(systems), names: systems.map((s) => s.Name), dropped: diagnostics.entries() };
    };
    const three = [3, 1, 2].map((n) => ({ guid: guid(n) }));
    expect(parse(three)).toEqual({ ids: [guid(1), guid(2), guid(3)], names: ['HV-FEW', guid(3), guid(1), guid(2)], dropped: [] });
    // Upper-case GUIDs sort as their lower-case selves; the document's order is kept for what is read.
    const five = [{ guid: guid(5) }, { guid: guid(0xa).toUpperCase() }, { guid: guid(2) }, { guid: guid(9) }, { guid: guid(1) }];
    const cut = parse(five);
    expect(cut.ids).toEqual([guid(1), guid(2), guid(5)]);
    expect(cut.names).toEqual(['HV-FEW', guid(5), guid(2), guid(1)]);
    expect(cut.dropped).toEqual([{ reason: 'vm_over_limit', count: 2, example: 'Msvm_ComputerSystem: 5 VMs, the 3 with the lowest GUIDs read' }]);
    // A duplicate within the limit takes a place (the model then drops it as instance_duplicate).
    expect(parse([{ guid: guid(1) }, { guid: guid(1) }, { guid: guid(2) }, { guid: guid(3) }]).ids).toEqual([guid(1), guid(1), guid(2)]);
  });
});

// ---------------------------------------------------------------------------------------------------
// The largest accepted documents, written in pieces (the test process never holds one whole)

/** Writes a sample document of the given classes (instance JSON texts) to `path`; returns its size. */
function writeDocument(path: string, classes: ReadonlyMap<string, readonly string[]>): number {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, '{"schemaVersion":1,"computerName":"HV-WORST","collectedAt":"2026-11-24T10:00:00.000Z","classes":{');
    let first = true;
    for (const [className, instances] of classes) {
      writeSync(fd, `${first ? '' : ','}${JSON.stringify(className)}:[`);
      for (let i = 0; i < instances.length; i += 1000) writeSync(fd, `${i === 0 ? '' : ','}${instances.slice(i, i + 1000).join(',')}`);
      writeSync(fd, ']');
      first = false;
    }
    writeSync(fd, '}}');
  } finally {
    closeSync(fd);
  }
  return statSync(path).size;
}

const HOST = JSON.stringify({ Name: 'HV-WORST', ElementName: 'HV-WORST', EnabledState: 2, HealthState: 5, OperationalStatus: [2], OnTimeInMilliseconds: null });
const ROOM = 1024; // for the document's head and the host

/** A running VM that makes as many and as long series as the exporter writes for one VM. */
function fullVm(n: number, pools: { intrinsic?: string[]; guest?: string[]; host?: string[]; hostOnly?: string[] } = {}): Array<readonly [string, string]> {
  const id = guid(n).toUpperCase();
  const long = (text: string): string => `${text} ${'x'.repeat(200)}`; // cut to 128 characters, and counted
  const addresses = Array.from({ length: DEFAULT_LIMITS.maxGuestAddressesPerVm }, (_, a) => `10.${a}.${(n >> 8) & 255}.${n & 255}`).join(';');
  const intrinsic = pools.intrinsic ?? [
    kvpItem('OSName', long('Windows Server 2022 Datacenter')),
    kvpItem('OSVersion', long('10.0.20348')),
    kvpItem('FullyQualifiedDomainName', long(`vm-${n}.example.com`)),
    kvpItem('IntegrationServicesVersion', long('10.0.20348.1')),
    kvpItem('NetworkAddressIPv4', addresses),
  ];
  const out: Array<readonly [string, string]> = [
    [COMPUTER_SYSTEM_CLASS, JSON.stringify({ Name: id, ElementName: long(`vm-${n}`), EnabledState: 2, HealthState: 5, OperationalStatus: [2, 32776], OnTimeInMilliseconds: 3_600_000 + n, LastSuccessfulBackupTime: '2026-11-24T09:00:00.0000000Z' })],
  ];
  for (const c of COMPONENT_CLASSES) {
    const setting: Record<string, unknown> = { InstanceID: `Microsoft:${id}\\${c.guid.toUpperCase()}`, EnabledState: 2 };
    if (c.component === 'heartbeat') Object.assign(setting, { Interval: 2000, Latency: 1000, ErrorThreshold: 2 });
    if (c.component === 'kvp_exchange') Object.assign(setting, { HostExchangeItems: pools.host ?? [], HostOnlyItems: pools.hostOnly ?? [] });
    const device: Record<string, unknown> = { SystemName: id, DeviceID: `Microsoft:${c.guid.toUpperCase()}`, EnabledState: 2, OperationalStatus: [6, 32775] };
    if (c.component === 'kvp_exchange') Object.assign(device, { GuestIntrinsicExchangeItems: intrinsic, GuestExchangeItems: pools.guest ?? [] });
    out.push([c.settingClass, JSON.stringify(setting)], [c.deviceClass, JSON.stringify(device)]);
  }
  return out;
}

/** As many VMs as fit in `maxBytes`; returns how many. */
function writeVms(path: string, maxBytes: number, vm: (n: number) => Array<readonly [string, string]>): number {
  const classes = new Map<string, string[]>([[COMPUTER_SYSTEM_CLASS, [HOST]]]);
  for (const c of COMPONENT_CLASSES) classes.set(c.deviceClass, []).set(c.settingClass, []);
  let size = ROOM;
  let n = 0;
  for (;;) {
    const instances = vm(n + 1);
    const add = instances.reduce((sum, [, text]) => sum + text.length + 1, 0);
    if (size + add > maxBytes) break;
    size += add;
    n++;
    for (const [className, text] of instances) classes.get(className)!.push(text);
  }
  writeDocument(path, classes);
  return n;
}

interface ChildOutcome {
  readonly vms: number;
  readonly dropped: Record<string, number>;
  readonly exposition: number;
  readonly peakRss: number;
}

interface BoundedRun {
  readonly status: number | null;
  readonly signal: string | null;
  readonly outcome: ChildOutcome | null;
  readonly output: string;
}

/** The children processInBoundedHeap started, so that afterAll can end one no test waited for. */
const children = new Set<ChildProcess>();

/**
 * Samples `file` twice with the built code in a child node started as the exporter is shipped (its
 * runtime settings), limited to `heapMiB` of old generation: read, decode, parse, model, render,
 * compress, and keep the result while the next sample is made. Resolves when the child has ended.
 */
function processInBoundedHeap(file: string, heapMiB: number): Promise<BoundedRun> {
  requireBuild();
  const dist = join(builtMain, '..');
  const module = (path: string): string => JSON.stringify(join(dist, path));
  const script = `
    const fs = require('node:fs');
    const zlib = require('node:zlib');
    const { Diagnostics } = require(${module('document/diagnostics.js')});
    const { decodeRawSample, parseDocument } = require(${module('document/parse.js')});
    const { buildHostModel } = require(${module('model/buildHostModel.js')});
    const { renderCollector } = require(${module('metrics/renderModel.js')});
    const { COLLECTORS } = require(${module('metrics/collectors/index.js')});
    let kept = null;
    for (let i = 0; i < 2; i++) {
      const diagnostics = new Diagnostics();
      const text = fs.readFileSync(${JSON.stringify(file)}).toString('utf8');
      const model = buildHostModel(parseDocument(decodeRawSample({ text }), diagnostics), diagnostics);
      const exposition = COLLECTORS.map((collector) => renderCollector(model, collector).text).join('');
      const identity = Buffer.from(exposition, 'utf8');
      kept = { model, text: exposition, identity, gzip: zlib.gzipSync(identity), dropped: diagnostics.entries() };
    }
    const peakRss = Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
    console.log(JSON.stringify({ vms: kept.model.vms.length, dropped: Object.fromEntries(kept.dropped.map((d) => [d.reason, d.count])), exposition: kept.identity.length, peakRss }));`;
  const settings = runtimeSettingsOf(builtMain);
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...settings.nodeOptions, `--max-old-space-size=${heapMiB}`, '-e', script],
      { encoding: 'utf8', timeout: 50_000, env: { ...process.env, ...settings.env, NODE_OPTIONS: '' }, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        children.delete(child);
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        const last = stdout.trim().split('\n').pop() ?? '';
        let outcome: ChildOutcome | null = null;
        try {
          outcome = JSON.parse(last) as ChildOutcome;
        } catch {
          // out of memory, or another failure: the output says which
        }
        const failure = error !== null && status === null ? `\n${error.message}` : '';
        resolve({ status, signal: error?.signal ?? null, outcome, output: `${stdout}${stderr}${failure}`.slice(-1500) });
      },
    );
    children.add(child);
  });
}

/** (a): the host, then minimal VMs, 1 000 at a time, as many as fit in `maxBytes`; returns how many VMs. */
function writeTinyVms(file: string, maxBytes: number): number {
  const fd = openSync(file, 'w');
  let size = 0;
  const write = (text: string): void => void (size += writeSync(fd, text));
  write(`{"schemaVersion":1,"computerName":"HV-WORST","classes":{"Msvm_ComputerSystem":[${HOST}`);
  let n = 0;
  for (;;) {
    const chunk = Array.from({ length: 1000 }, (_, i) => `,{"Name":"${guid(n + i + 1)}"}`).join('');
    if (size + chunk.length + 4 > maxBytes) break;
    write(chunk);
    n += 1000;
  }
  write(']}}');
  closeSync(fd);
  return n;
}

const linux = process.platform === 'linux';
const linuxOnly = linux ? describe : describe.skip;
const MAX = DEFAULT_LIMITS.maxDocumentBytes;
const VM_LIMIT = DEFAULT_LIMITS.maxVmsPerHost!;

let dir = '';
let tiny: { file: string; vms: number; run: Promise<BoundedRun> } | null = null;
let full: { file: string; vms: number; run: Promise<BoundedRun> } | null = null;

// The two children are most of this file's time, and need nothing from the tests in this process: each
// starts as soon as its document is written (the second is written while the first child runs), and
// both run while the tests before theirs do. Each child's peak RSS is its own.
beforeAll(() => {
  if (!linux) return;
  dir = mkdtempSync(join(tmpdir(), 'hyperv-limits-'));
  const tinyFile = join(dir, 'tiny-vms.json');
  const tinyVms = writeTinyVms(tinyFile, MAX);
  tiny = { file: tinyFile, vms: tinyVms, run: processInBoundedHeap(tinyFile, 320) };
  const fullFile = join(dir, 'full-vms.json');
  const fullVms = writeVms(fullFile, MAX, (n) => fullVm(n));
  full = { file: fullFile, vms: fullVms, run: processInBoundedHeap(fullFile, 512) };
});
afterAll(() => {
  // Only a child that no test waited for (a filtered or failed run) is still running.
  for (const child of children) child.kill('SIGKILL');
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

linuxOnly('the largest accepted documents, processed twice within the heap docs/limits.md gives them', () => {
  test('(b) full VMs up to the size limit: 4 096 read (the rest counted), in a 512 MiB heap and under 1 GiB of RSS', async () => {
    const { file, vms, run } = full!;
    expect(statSync(file).size).toBeLessThanOrEqual(MAX);
    expect(vms).toBeGreaterThan(2 * VM_LIMIT);
    const result = await run;
    expect({ status: result.status, signal: result.signal, output: result.outcome === null ? result.output : '' }).toEqual({ status: 0, signal: null, output: '' });
    expect(result.outcome).toMatchObject({ vms: VM_LIMIT, dropped: { vm_over_limit: vms - VM_LIMIT } });
    // The exposition of 4 096 VMs with every label at its longest is about 90 MB; all the VMs of the
    // document would make about three times that.
    expect(result.outcome!.exposition).toBeLessThan(128 * MiB);
    expect(result.outcome!.peakRss).toBeLessThan(1024 * MiB);
  });

  test('(a) minimal VMs up to the size limit: 100 000 instances and 4 096 VMs read, in a 320 MiB heap', async () => {
    const { file, vms: n, run } = tiny!;
    expect(statSync(file).size).toBeLessThanOrEqual(MAX);
    expect(n).toBeGreaterThan(1_000_000);
    const result = await run;
    expect({ status: result.status, signal: result.signal, output: result.outcome === null ? result.output : '' }).toEqual({ status: 0, signal: null, output: '' });
    expect(result.outcome).toMatchObject({
      vms: VM_LIMIT,
      dropped: { instance_over_limit: n + 1 - DEFAULT_LIMITS.maxInstancesPerClass, vm_over_limit: DEFAULT_LIMITS.maxInstancesPerClass - 1 - VM_LIMIT },
    });
    expect(result.outcome!.peakRss).toBeLessThan(640 * MiB);
  });
});
