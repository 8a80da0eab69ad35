import fc from 'fast-check';
import { serializeDocument } from '../../src/document/serialize';
import type { ModelCollector } from '../../src/metrics/collectors/collector';
import { COLLECTORS } from '../../src/metrics/collectors';
import { renderModel } from '../../src/metrics/renderModel';
import { SampleProcessor } from '../../src/sampling/sampleProcessor';
import type { RawSample } from '../../src/sources/source';
import { kvpItemXml } from '../../src/sources/simulator/kvpItems';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';

/**
 * The work of a sample follows what changed (instance lines, classes, per-VM model parts, per-VM
 * renderings are all reused), and none of that may change what is served: after every sample of a
 * sequence, the exposition and the diagnostics are exactly those of a processor and collectors that
 * start from nothing.
 */

type Instance = Record<string, unknown>;
type Document = { schemaVersion: number; computerName: string; collectedAt: string; classes: Record<string, Instance[]> };

/** Collectors with nothing remembered: a fresh copy of the modules for each use. */
function freshCollectors(): readonly ModelCollector[] {
  let collectors: readonly ModelCollector[] = [];
  jest.isolateModules(() => {
    collectors = (require('../../src/metrics/collectors') as { COLLECTORS: readonly ModelCollector[] }).COLLECTORS;
  });
  return collectors;
}

function fromScratch(raw: RawSample): { text: string; dropped: unknown } {
  const { model, diagnostics } = new SampleProcessor().process(raw);
  return { text: renderModel(model, freshCollectors()).text, dropped: diagnostics.entries() };
}

function incremental(processor: SampleProcessor, raw: RawSample): { text: string; dropped: unknown } {
  const { model, diagnostics } = processor.process(raw);
  return { text: renderModel(model, COLLECTORS).text, dropped: diagnostics.entries() };
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const guidOf = (instance: Instance): string =>
  String(instance['Name'] ?? instance['SystemName'] ?? /^Microsoft:([^\\]+)/.exec(String(instance['InstanceID']))?.[1] ?? '').toUpperCase();

/** Changes to a document, as a Hyper-V host (or a misbehaving guest) makes them. */
const MUTATIONS: Record<string, (document: Document, n: number) => void> = {
  uptime(document) {
    for (const system of document.classes['Msvm_ComputerSystem']!) {
      if (typeof system['OnTimeInMilliseconds'] === 'number' && system['OnTimeInMilliseconds'] > 0) system['OnTimeInMilliseconds'] += 15_000;
    }
  },
  kvpValue(document, n) {
    const devices = document.classes['Msvm_KvpExchangeComponent']!;
    const device = devices[n % Math.max(1, devices.length)];
    if (device === undefined) return;
    const items = [...((device['GuestIntrinsicExchangeItems'] as string[] | undefined) ?? [])];
    items[n % Math.max(1, items.length)] = kvpItemXml('OSName', `Windows ${n}`, 2);
    device['GuestIntrinsicExchangeItems'] = items;
  },
  kvpBroken(document, n) {
    const device = document.classes['Msvm_KvpExchangeComponent']![n % 3];
    if (device === undefined) return;
    device['GuestExchangeItems'] = ['<not xml', 7, kvpItemXml('x', 'y', 1)];
    const setting = document.classes['Msvm_KvpExchangeComponentSettingData']![n % 3];
    if (setting !== undefined) setting['HostOnlyItems'] = ['<bad', kvpItemXml('Environment', 'lab', 4)];
    // A guest OS name longer than a label may be (cut and counted), an item too large to read.
    device['GuestIntrinsicExchangeItems'] = [kvpItemXml('OSName', 'o'.repeat(200), 2), ...((device['GuestIntrinsicExchangeItems'] as string[] | undefined) ?? []), 'x'.repeat(70_000)];
  },
  rename(document, n) {
    const systems = document.classes['Msvm_ComputerSystem']!;
    const system = systems[1 + (n % (systems.length - 1))];
    // Long names are cut (and counted): one too long to be kept for comparison, two that are kept.
    if (system !== undefined) system['ElementName'] = ['renamed', 'x'.repeat(300), 'tab\there "quoted"', '\u6570'.repeat(200), 'y'.repeat(150)][n % 5];
  },
  status(document, n) {
    const heartbeats = document.classes['Msvm_HeartbeatComponent']!;
    const heartbeat = heartbeats[n % Math.max(1, heartbeats.length)];
    if (heartbeat !== undefined) heartbeat['OperationalStatus'] = [[2, 2], [13], [2, 32782], [12]][n % 4];
  },
  remove(document, n) {
    const systems = document.classes['Msvm_ComputerSystem']!;
    if (systems.length < 3) return;
    const guid = guidOf(systems[1 + (n % (systems.length - 1))]!);
    for (const [name, instances] of Object.entries(document.classes)) document.classes[name] = instances.filter((instance) => guidOf(instance) !== guid);
  },
  add(document, n) {
    const systems = document.classes['Msvm_ComputerSystem']!;
    const template = guidOf(systems[1 + (n % (systems.length - 1))]!);
    const guid = `0000${String(n).padStart(4, '0')}-1111-4222-8333-444455556666`;
    for (const [name, instances] of Object.entries(document.classes)) {
      const copies = instances.filter((instance) => guidOf(instance) === template).map((instance) => JSON.parse(JSON.stringify(instance).split(template).join(guid)) as Instance);
      instances.splice(n % (instances.length + 1), 0, ...copies);
      document.classes[name] = instances;
    }
  },
  duplicate(document, n) {
    for (const name of ['Msvm_ComputerSystem', 'Msvm_HeartbeatComponent']) {
      const instances = document.classes[name]!;
      const instance = instances[1 + (n % Math.max(1, instances.length - 1))];
      if (instance !== undefined) instances.push(clone(instance));
    }
  },
  reorder(document) {
    document.classes['Msvm_ComputerSystem']!.reverse();
    document.classes['Msvm_ShutdownComponent']!.reverse();
  },
  malformed(document, n) {
    document.classes['Msvm_VssComponent']!.splice(n % 3, 0, { SystemName: 'not a guid' });
    document.classes['Msvm_TimeSyncComponentSettingData']!.push({ InstanceID: 'Microsoft:nothing' });
  },
};

function startDocument(vms: number, seed: number): Document {
  return new SimulatedHost({ vms, seed, now: () => Date.UTC(2026, 10, 24) }).next() as Document;
}

describe('incremental sample processing and rendering', () => {
  test('a scripted sequence: every sample as from scratch, and the steady state takes the fast path', () => {
    const processor = new SampleProcessor();
    let document = startDocument(16, 5);
    const steps = ['uptime', 'uptime', 'kvpValue', 'uptime', 'rename', 'rename', 'status', 'remove', 'rename', 'rename', 'uptime', 'uptime', 'add', 'duplicate', 'uptime', 'kvpBroken', 'uptime', 'reorder', 'malformed', 'uptime', 'uptime'];
    let fast = 0;
    steps.forEach((step, n) => {
      document = clone(document);
      MUTATIONS[step]!(document, n);
      const raw = { text: serializeDocument(document) };
      expect({ step, ...incremental(processor, raw) }).toEqual({ step, ...fromScratch(raw) });
      if ((processor as unknown as { modelMemo: { lastFast: boolean } }).modelMemo.lastFast) fast++;
    });
    expect(fast).toBeGreaterThanOrEqual(3);
  });

  test('random sequences of changes, in both layouts and with the simulator\'s objects', () => {
    const step = fc.tuple(fc.constantFrom(...Object.keys(MUTATIONS)), fc.nat(1000), fc.constantFrom('lines', 'lines', 'json', 'object'));
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 12 }), fc.nat(100), fc.array(step, { minLength: 1, maxLength: 12 }), (vms, seed, steps) => {
        const processor = new SampleProcessor();
        let document = startDocument(vms, seed);
        for (const [mutation, n, layout] of steps) {
          document = clone(document);
          MUTATIONS[mutation]!(document, n);
          const raw: RawSample = layout === 'object' ? { document: clone(document) } : { text: layout === 'lines' ? serializeDocument(document) : JSON.stringify(document) };
          expect(incremental(processor, raw)).toEqual(fromScratch(raw));
        }
      }),
      { numRuns: 40 },
    );
  });

  test('a sample that fails between good ones changes nothing of what the next one gives', () => {
    const processor = new SampleProcessor();
    const document = startDocument(8, 1);
    const good = { text: serializeDocument(document) };
    incremental(processor, good);
    expect(() => processor.process({ text: good.text.replace('}}\n', '}\n') })).toThrow();
    expect(() => processor.process({ text: serializeDocument({ ...document, schemaVersion: 2 }) })).toThrow();
    expect(incremental(processor, good)).toEqual(fromScratch(good));
  });
});
