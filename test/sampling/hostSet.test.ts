import type { SampleSource } from '../../src/contract/sample';
import { COLLECTORS } from '../../src/metrics/collectors';
import { hostPage, multiHostMetricsPage } from '../../src/metrics/pages';
import { HostSet, type HostSpec } from '../../src/sampling/hostSet';
import { Slots } from '../../src/contract/slots';
import { parseExposition, valueOf } from '../helpers/exposition';
import { sleep, waitFor } from '../helpers/waitFor';
import { ScriptedSource, cleanDocument, memoryLogger, type Behaviour } from './support';

/** Many hosts, each on its own clock, at most as many samples at once as there are slots. */

/** A host whose source is named by its own name (the test's sources are looked up by it). */
function spec(name: string, overrides: Partial<HostSpec<string>> = {}): HostSpec<string> {
  return { name, intervalMs: 100, timeoutMs: 400, fullIntervalMs: 0, maxAgeMs: 0, origin: 'configured', source: name, ...overrides };
}

class CountingSource extends ScriptedSource {
  static inFlight = 0;
  static maxInFlight = 0;

  constructor(behaviour: Behaviour) {
    super(cleanDocument(2));
    this.behaviour = behaviour;
  }

  override async sample(...args: Parameters<ScriptedSource['sample']>): ReturnType<ScriptedSource['sample']> {
    CountingSource.inFlight++;
    CountingSource.maxInFlight = Math.max(CountingSource.maxInFlight, CountingSource.inFlight);
    try {
      return await super.sample(...args);
    } finally {
      CountingSource.inFlight--;
    }
  }
}

function hostSet(sources: Map<string, SampleSource>, slots: number): HostSet<string> {
  return new HostSet<string>({
    createSource: (source) => sources.get(source)!,
    slots: new Slots(slots),
    collectors: COLLECTORS,
    hostPage: async (state) => hostPage(state),
    exporterPage: (hosts) => multiHostMetricsPage(hosts.map(({ spec: s, state }) => ({ name: s.name, health: state.health })), { version: 'test', source: 'config', processMetrics: null }, null),
    logger: memoryLogger('warn').logger,
  });
}

/** Gaps between consecutive sample starts. */
const gaps = (calls: readonly number[]): number[] => calls.slice(1).map((t, i) => t - (calls[i] ?? t));

describe('HostSet', () => {
  let set: HostSet<string> | null = null;
  afterEach(async () => {
    await set?.close();
    set = null;
    CountingSource.inFlight = 0;
    CountingSource.maxInFlight = 0;
  });

  test('a hung host holds one slot; the others keep their interval', async () => {
    const hung = new CountingSource({ kind: 'hangUntilAbort' });
    const healthy = [new CountingSource({ kind: 'ok' }), new CountingSource({ kind: 'ok' })];
    const sources = new Map<string, SampleSource>([['hung', hung], ['a', healthy[0]!], ['b', healthy[1]!]]);
    set = hostSet(sources, 2);
    await set.setConfigured([spec('hung'), spec('a'), spec('b')]);
    await sleep(1_500);
    for (const source of healthy) {
      expect(source.calls.length).toBeGreaterThanOrEqual(8);
      // Within the interval plus the odd wait for the slot the hung host does not hold.
      expect(Math.max(...gaps(source.calls))).toBeLessThan(450);
    }
    // The hung host was given up after its timeout, and tried again.
    expect(hung.calls.length).toBeGreaterThanOrEqual(2);
    expect(set.get('hung')?.health.failures.timeout).toBeGreaterThanOrEqual(1);
    expect(set.get('a')?.health.up).toBe(true);
  });

  test('no more samples run at once than there are slots', async () => {
    const sources = new Map<string, SampleSource>(Array.from({ length: 6 }, (_, i) => [`h${i}`, new CountingSource({ kind: 'slow', ms: 60, document: cleanDocument(2) })]));
    set = hostSet(sources, 2);
    await set.setConfigured([...sources.keys()].map((name) => spec(name)));
    await sleep(800);
    expect(CountingSource.maxInFlight).toBe(2);
    for (const source of sources.values()) expect((source as CountingSource).calls.length).toBeGreaterThanOrEqual(2);
  });

  test('hosts come and go; a discovered host named like a configured one is left out; /metrics has each host labelled', async () => {
    const sources = new Map<string, SampleSource>(['hv01', 'hv02', 'HV01', 'hv03'].map((name) => [name, new CountingSource({ kind: 'ok' })]));
    set = hostSet(sources, 4);
    await set.setConfigured([spec('hv01'), spec('hv02')]);
    await set.setDiscovered([spec('HV01', { origin: 'discovered' }), spec('hv03', { origin: 'discovered' })]);
    expect(set.list().map(({ spec: s }) => `${s.name}:${s.origin}`)).toEqual(['hv01:configured', 'hv02:configured', 'hv03:discovered']);
    expect(set.get('HV03')).not.toBeUndefined();
    expect(set.get('nope')).toBeUndefined();

    await waitFor('every host sampled', () => set!.list().every(({ current }) => current?.health.up === true));
    await waitFor('the exporter page', () => set!.exporter !== null && set!.exporter.identity.toString().includes('hyperv_up{host="hv03"} 1'));
    const page = parseExposition(set.exporter!.identity.toString());
    for (const host of ['hv01', 'hv02', 'hv03']) expect(valueOf(page, 'hyperv_up', { host })).toBe(1);

    await set.setConfigured([spec('hv01')]);
    expect(set.list().map(({ spec: s }) => s.name)).toEqual(['hv01', 'hv03']);
    expect((sources.get('hv02') as CountingSource).closed).toBe(true);
    await set.setDiscovered([]);
    expect(set.list().map(({ spec: s }) => s.name)).toEqual(['hv01']);
    expect((sources.get('hv03') as CountingSource).closed).toBe(true);
  });

  test('a host whose settings change is sampled anew with them', async () => {
    const first = new CountingSource({ kind: 'ok' });
    const second = new CountingSource({ kind: 'ok' });
    let made = 0;
    set = new HostSet<string>({
      createSource: () => (made++ === 0 ? first : second),
      slots: new Slots(1),
      collectors: COLLECTORS,
      hostPage: async (state) => hostPage(state),
      exporterPage: async () => '',
      logger: memoryLogger('warn').logger,
    });
    await set.setConfigured([spec('hv01')]);
    await set.setConfigured([spec('hv01')]);
    expect(made).toBe(1);
    await set.setConfigured([spec('hv01', { source: 'another address' })]);
    expect(made).toBe(2);
    expect(first.closed).toBe(true);
  });
});
