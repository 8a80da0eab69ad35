import { SampleError, type RawSample, type SampleScope, type SampleSource } from '../../src/contract/sample';
import { DEFAULT_LIMITS } from '../../src/document/limits';
import { COLLECTORS } from '../../src/metrics/collectors';
import { chooseScope, runSample, type FullSample, type SampleOutcome, type Sampled } from '../../src/sampling/sampleStep';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import { statusOf } from './support';

/** The sample step on its own: which scope, and what one sample comes to. */

const STEP = { collectors: COLLECTORS, limits: DEFAULT_LIMITS };

/** A source that answers each request with the next of `answers` (a document, or an error to throw), and records the scopes asked for. */
function sourceOf(...answers: Array<unknown>): SampleSource & { asked: SampleScope[] } {
  const asked: SampleScope[] = [];
  return {
    name: 'replay',
    asked,
    async sample(scope): Promise<RawSample> {
      asked.push(scope);
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return { text: JSON.stringify(answer) };
    },
    close: async () => undefined,
  };
}

const run = (source: SampleSource, scope: SampleScope, lastFull: FullSample | null, signal = new AbortController().signal): Promise<SampleOutcome> =>
  runSample(source, scope, lastFull, STEP, signal);

function sampled(outcome: SampleOutcome): Sampled {
  if (outcome.kind !== 'sampled') throw new Error(`expected a sample, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe('chooseScope', () => {
  test.each([
    ['no Full sample yet', null, 1_000, 300_000, 'full'],
    ['every sample Full', 0, 1_000, 0, 'full'],
    ['within the full interval', 0, 299_999, 300_000, 'status'],
    ['the full interval has passed', 0, 300_000, 300_000, 'full'],
  ] as const)('%s: %s', (_what, lastFullAt, now, fullIntervalMs, scope) => {
    expect(chooseScope(lastFullAt, now, fullIntervalMs)).toBe(scope);
  });
});

describe('runSample', () => {
  const host = new SimulatedHost({ vms: 6, seed: 3, now: () => Date.UTC(2026, 11, 1) });
  const first = host.next() as Record<string, unknown>;

  test('a Full sample: the model, its exposition, and what the Status samples after it are completed from', async () => {
    const outcome = sampled(await run(sourceOf(first), 'full', null));
    expect(outcome.scope).toBe('full');
    expect(outcome.model.vms).toHaveLength(6);
    expect(outcome.modelText).toContain('hyperv_vm_info{');
    expect(outcome.collectorRuns.map((r) => r.collector)).toEqual(COLLECTORS.map((c) => c.name));
    expect(outcome.full?.model).toBe(outcome.model);
    expect(outcome.full?.kvpItemParses.size).toBeGreaterThan(0);
  });

  test('the next Full sample takes the KVP items it has seen from the last one, parsed', async () => {
    const one = sampled(await run(sourceOf(first), 'full', null));
    const two = sampled(await run(sourceOf(first), 'full', one.full));
    expect([...two.full!.kvpItemParses.keys()]).toEqual([...one.full!.kvpItemParses.keys()]);
    for (const [xml, parsed] of two.full!.kvpItemParses) expect(parsed).toBe(one.full!.kvpItemParses.get(xml));
    expect(two.modelText).toBe(one.modelText);
  });

  test('a Status sample of the same VMs is completed from the last Full one', async () => {
    const full = sampled(await run(sourceOf(first), 'full', null));
    const status = sampled(await run(sourceOf(statusOf(first)), 'status', full.full));
    expect(status.scope).toBe('status');
    expect(status.full).toBeNull();
    expect(status.model).toEqual(full.model);
    expect(status.modelText).toBe(full.modelText);
  });

  test('a Status sample of other VMs than the last Full one needs a Full sample; so does one without a last Full sample', async () => {
    const full = sampled(await run(sourceOf(first), 'full', null));
    const fewer = { ...first, classes: { ...(first['classes'] as Record<string, unknown[]>), Msvm_ComputerSystem: (first['classes'] as Record<string, unknown[]>)['Msvm_ComputerSystem']!.slice(0, -1) } };
    expect(await run(sourceOf(statusOf(fewer)), 'status', full.full)).toEqual({ kind: 'needsFull' });
    expect(await run(sourceOf(statusOf(first)), 'status', null)).toEqual({ kind: 'needsFull' });
  });

  test('a source that answers a Full request with a Status document fails it; one that answers a Status request with a Full document is taken at its word', async () => {
    const full = sampled(await run(sourceOf(first), 'full', null));
    const outcome = await run(sourceOf(statusOf(first)), 'full', full.full);
    expect(outcome.kind).toBe('failed');
    expect((outcome as { error: SampleError }).error.reason).toBe('invalid_document');
    expect(sampled(await run(sourceOf(first), 'status', full.full)).scope).toBe('full');
  });

  test('never rejects: what the source or the parser throws is the outcome', async () => {
    const boom = new Error('boom');
    expect(await run(sourceOf(boom), 'full', null)).toEqual({ kind: 'failed', error: boom });
    const garbage: SampleSource = { name: 'replay', sample: async () => ({ text: 'garbage' }), close: async () => undefined };
    const outcome = await run(garbage, 'full', null);
    expect(outcome.kind === 'failed' && outcome.error instanceof SampleError && outcome.error.reason).toBe('invalid_document');
  });

  test('an abort ends the sample at the next stage, with the abort\'s reason', async () => {
    const controller = new AbortController();
    const reason = new SampleError('timeout', 'sample took too long');
    const aborting: SampleSource = {
      name: 'replay',
      sample: async () => {
        controller.abort(reason);
        return { text: JSON.stringify(first) };
      },
      close: async () => undefined,
    };
    expect(await run(aborting, 'full', null, controller.signal)).toEqual({ kind: 'failed', error: reason });
  });
});
