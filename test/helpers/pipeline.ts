import type { RawSample, SampleSource } from '../../src/contract/sample';
import { Diagnostics } from '../../src/document/diagnostics';
import { DEFAULT_LIMITS, type Limits } from '../../src/document/limits';
import type { HostModel } from '../../src/model/hostModel';
import type { KvpExport } from '../../src/model/kvpExport';
import { COLLECTORS } from '../../src/metrics/collectors';
import type { ModelCollector } from '../../src/metrics/collectors/collector';
import { renderCollector, type CollectorRun } from '../../src/metrics/renderModel';
import { modelOf, readDocument, runSample, type Sampled } from '../../src/sampling/sampleStep';

/** A sample document through the sampler's own sample step. */

/** A Full sample document through runSample (no last Full sample): what it made, or the failure it came to (thrown). */
export async function sampleOf(raw: RawSample, options: { limits?: Limits; kvpExport?: KvpExport; collectors?: readonly ModelCollector[] } = {}): Promise<Sampled> {
  const source: SampleSource = { name: 'replay', sample: async () => raw, close: async () => undefined };
  const step = { collectors: options.collectors ?? COLLECTORS, limits: options.limits ?? DEFAULT_LIMITS, kvpExport: options.kvpExport };
  const outcome = await runSample(source, 'full', null, step, new AbortController().signal);
  if (outcome.kind === 'failed') throw outcome.error;
  if (outcome.kind === 'needsFull') throw new Error('a Full sample came to need a Full sample');
  return outcome;
}

/**
 * The same, synchronously, for the property tests: the stages runSample runs between the source and
 * the collectors (readDocument, modelOf), without its pauses. Throws what they throw.
 */
export function processSample(raw: RawSample, limits: Limits = DEFAULT_LIMITS, kvpExport?: KvpExport): { model: HostModel; diagnostics: Diagnostics } {
  const diagnostics = new Diagnostics();
  const modelled = modelOf(readDocument(raw, diagnostics, limits), null, diagnostics, { collectors: [], limits, kvpExport });
  if (modelled === null) throw new Error('a Status document is completed from a Full sample: use sampleOf on a sampler');
  return { model: modelled.model, diagnostics };
}

/** A model through each collector as runSample renders it (renderCollector), without its pauses between collectors. */
export function renderModel(model: HostModel, collectors: readonly ModelCollector[]): { text: string; runs: CollectorRun[] } {
  const rendered = collectors.map((collector) => renderCollector(model, collector));
  return { text: rendered.map((r) => r.text).join(''), runs: rendered.map((r) => r.run) };
}
