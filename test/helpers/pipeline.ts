import type { RawSample } from '../../src/contract/sample';
import { Diagnostics } from '../../src/document/diagnostics';
import { DEFAULT_LIMITS, type Limits } from '../../src/document/limits';
import { decodeRawSample, parseDocument } from '../../src/document/parse';
import { buildHostModel } from '../../src/model/buildHostModel';
import type { HostModel } from '../../src/model/hostModel';
import type { KvpExport } from '../../src/model/kvpExport';
import type { ModelCollector } from '../../src/metrics/collectors/collector';
import { renderCollector, type CollectorRun } from '../../src/metrics/renderModel';

/** A Full sample document → the host model and what was dropped, through the stages HostSampler runs. */
export function processSample(raw: RawSample, limits: Limits = DEFAULT_LIMITS, kvpExport?: KvpExport): { model: HostModel; diagnostics: Diagnostics } {
  const diagnostics = new Diagnostics();
  const model = buildHostModel(parseDocument(decodeRawSample(raw, limits), diagnostics, limits), diagnostics, { limits, kvpExport });
  return { model, diagnostics };
}

/** A model through every collector at once, as HostSampler renders it (without its pauses between collectors). */
export function renderModel(model: HostModel, collectors: readonly ModelCollector[]): { text: string; runs: CollectorRun[] } {
  const rendered = collectors.map((collector) => renderCollector(model, collector));
  return { text: rendered.map((r) => r.text).join(''), runs: rendered.map((r) => r.run) };
}
