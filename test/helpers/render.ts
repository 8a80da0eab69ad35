import type { ModelCollector } from '../../src/metrics/collectors/collector';
import { renderCollector, type CollectorRun } from '../../src/metrics/renderModel';
import type { HostModel } from '../../src/model/hostModel';

/** A model through every collector at once, as the sampler renders it (without its pauses between collectors). */
export function renderModel(model: HostModel, collectors: readonly ModelCollector[]): { text: string; runs: CollectorRun[] } {
  const rendered = collectors.map((collector) => renderCollector(model, collector));
  return { text: rendered.map((r) => r.text).join(''), runs: rendered.map((r) => r.run) };
}
