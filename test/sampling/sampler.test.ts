import pino from 'pino';
import { serializeDocument } from '../../src/document/serialize';
import { ExporterMetrics } from '../../src/metrics/exporterMetrics';
import { ScrapeBody } from '../../src/metrics/scrapeBody';
import { Sampler } from '../../src/sampling/sampler';
import { SampleProcessor } from '../../src/sampling/sampleProcessor';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import type { RawSample } from '../../src/sources/source';

describe('Sampler: a sample leaves the event loop free between slices of its work', () => {
  let now = Date.UTC(2026, 10, 24);
  const host = new SimulatedHost({ vms: 512, seed: 11, now: () => (now += 15_000) });
  const texts = [serializeDocument(host.next()), serializeDocument(host.next())];

  function setup(): { sampler: Sampler; body: ScrapeBody; next: (raw: RawSample) => void } {
    let pending: RawSample = { text: '' };
    const source = { name: 'replay' as const, sample: async () => pending, close: async () => undefined };
    const metrics = new ExporterMetrics({ version: '9.9.9', source: 'replay', processMetrics: false });
    const body = new ScrapeBody();
    const sampler = new Sampler({ source, processor: new SampleProcessor(), metrics, body, logger: pino({ level: 'silent' }) });
    return { sampler, body, next: (raw) => (pending = raw) };
  }

  /** Counts turns of the event loop (setImmediate callbacks) until stopped. */
  function ticker(): { stop: () => number } {
    let turns = 0;
    let running = true;
    const turn = (): void => {
      if (!running) return;
      turns++;
      setImmediate(turn);
    };
    setImmediate(turn);
    return {
      stop: () => {
        running = false;
        return turns;
      },
    };
  }

  test('other work runs many times during one sample of a 5 MB document', async () => {
    expect(texts[0]!.length).toBeGreaterThan(4 * 1024 * 1024);
    const { sampler, body, next } = setup();
    next({ text: texts[0]! });
    const turns = ticker();
    await sampler.sample(new AbortController().signal);
    // At least one turn per mebibyte of lines, and between parsing, rendering and publishing.
    expect(turns.stop()).toBeGreaterThanOrEqual(6);
    expect(body.modelBytes).toBeGreaterThan(0);
  });

  test('aborted between slices: the sample rejects with the abort and publishes nothing', async () => {
    const { sampler, body, next } = setup();
    next({ text: texts[0]! });
    await sampler.sample(new AbortController().signal);
    const served = (): string => Buffer.concat(body.compose('', false).chunks).toString();
    const published = served();
    next({ text: texts[1]! });
    const controller = new AbortController();
    let turns = 0;
    const abortSoon = (): void => {
      if (++turns === 3) controller.abort(new Error('timed out'));
      else setImmediate(abortSoon);
    };
    setImmediate(abortSoon);
    await expect(sampler.sample(controller.signal)).rejects.toThrow('timed out');
    expect(served()).toBe(published);
    // The next sample of the same text goes through as usual.
    await sampler.sample(new AbortController().signal);
    expect(served()).not.toBe(published);
  });
});
