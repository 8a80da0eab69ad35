import type { RawSample } from '../../src/contract/sample';
import { Diagnostics } from '../../src/document/diagnostics';
import { DEFAULT_LIMITS, type Limits } from '../../src/document/limits';
import { decodeRawSample, parseDocument } from '../../src/document/parse';
import { buildHostModel } from '../../src/model/buildHostModel';
import type { HostModel } from '../../src/model/hostModel';
import type { KvpExport } from '../../src/model/kvpExport';

/** A Full sample document → the host model and what was dropped, through the stages HostSampler runs. */
export function processSample(raw: RawSample, limits: Limits = DEFAULT_LIMITS, kvpExport?: KvpExport): { model: HostModel; diagnostics: Diagnostics } {
  const diagnostics = new Diagnostics();
  const model = buildHostModel(parseDocument(decodeRawSample(raw, limits), diagnostics, limits), diagnostics, { limits, kvpExport });
  return { model, diagnostics };
}
