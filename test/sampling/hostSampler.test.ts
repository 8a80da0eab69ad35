import type { RawSample, SampleScope, SampleSource } from '../../src/contract/sample';
import { HostSampler } from '../../src/sampling/hostSampler';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import { withoutTimingSeries } from '../helpers/exposition';
import { sampleOnce, singleHostSampler, statusOf } from './support';

/** A host that answers Full and Status samples of the documents the test gives it, and logs what was asked. */
class TwoScopeSource implements SampleSource {
  readonly name = 'powershell' as const;
  readonly asked: SampleScope[] = [];
  document: Record<string, unknown>;
  failNext = false;

  constructor(document: Record<string, unknown>) {
    this.document = document;
  }

  async sample(scope: SampleScope): Promise<RawSample> {
    this.asked.push(scope);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the host did not answer');
    }
    return { text: JSON.stringify(scope === 'full' ? this.document : statusOf(this.document)) };
  }

  async close(): Promise<void> {}
}

function samplerOf(source: SampleSource, fullIntervalMs: number, clock: { now: number }): HostSampler {
  return singleHostSampler(source, { fullIntervalMs, now: () => clock.now });
}

describe('HostSampler: Full and Status samples', () => {
  const host = new SimulatedHost({ vms: 24, seed: 5, now: () => Date.UTC(2026, 11, 1) });
  const first = host.next();

  test('a Full sample first, Status samples within --sample.full-interval, a Full one after it', async () => {
    const clock = { now: 0 };
    const source = new TwoScopeSource(first);
    const sampler = samplerOf(source, 300_000, clock);
    for (let i = 0; i < 4; i++) {
      await sampleOnce(sampler);
      clock.now += 15_000;
    }
    expect(source.asked).toEqual(['full', 'status', 'status', 'status']);
    clock.now += 300_000;
    await sampleOnce(sampler);
    await sampleOnce(sampler);
    expect(source.asked.slice(4)).toEqual(['full', 'status']);
  });

  test('Status samples plus Full ones serve exactly what Full samples alone serve (timing series aside)', async () => {
    const fullOnly = samplerOf(new TwoScopeSource(first), 0, { now: 0 });
    const mixedSource = new TwoScopeSource(first);
    const mixed = samplerOf(mixedSource, 300_000, { now: 0 });
    for (let i = 0; i < 3; i++) {
      await sampleOnce(fullOnly);
      await sampleOnce(mixed);
    }
    expect(mixedSource.asked).toEqual(['full', 'status', 'status']);
    const served = (sampler: HostSampler): string => withoutTimingSeries(sampler.current!.body.identity.toString('utf8'));
    expect(served(mixed)).toContain('hyperv_vm_guest_info{');
    expect(served(mixed)).toContain('hyperv_vm_integration_component_enabled{');
    expect(served(mixed)).toBe(served(fullOnly));
  });

  test('a Status sample that shows other VMs than the last Full one is replaced by a Full sample at once', async () => {
    const clock = { now: 0 };
    const source = new TwoScopeSource(first);
    const sampler = samplerOf(source, 300_000, clock);
    await sampleOnce(sampler);
    // A VM started: its components (and KVP items) appear.
    const later = new SimulatedHost({ vms: 24, seed: 5, now: () => Date.UTC(2026, 11, 1) });
    for (let i = 0; i < 12; i++) later.next();
    source.document = later.next();
    await sampleOnce(sampler);
    expect(source.asked).toEqual(['full', 'status', 'full']);
    const reference = samplerOf(new TwoScopeSource(source.document), 0, clock);
    await sampleOnce(reference);
    expect(withoutTimingSeries(sampler.current!.body.identity.toString('utf8'))).toBe(withoutTimingSeries(reference.current!.body.identity.toString('utf8')));
  });

  test('after a failed Full sample the next sample is Full; a failed Status sample is followed by a Status one', async () => {
    const clock = { now: 0 };
    const source = new TwoScopeSource(first);
    const sampler = samplerOf(source, 300_000, clock);
    source.failNext = true;
    await sampleOnce(sampler);
    await sampleOnce(sampler);
    source.failNext = true;
    await sampleOnce(sampler);
    await sampleOnce(sampler);
    expect(source.asked).toEqual(['full', 'full', 'status', 'status']);
    expect(sampler.current?.health.failures.source_error).toBe(2);
    expect(sampler.current?.health.up).toBe(true);
  });

  test('a source that answers every request with a Full document (replay, simulator) is served as such', async () => {
    const source: SampleSource = { name: 'replay', sample: async () => ({ document: first }), close: async () => undefined };
    const sampler = samplerOf(source, 300_000, { now: 0 });
    await sampleOnce(sampler);
    await sampleOnce(sampler);
    expect(sampler.current?.model?.vms).toHaveLength(24);
    expect(sampler.current?.health.up).toBe(true);
  });
});
