import { Diagnostics } from '../document/diagnostics';
import { KvpItemCache } from '../document/kvp';
import { DEFAULT_LIMITS, type Limits } from '../document/limits';
import { decodeRawSample, parseDocument } from '../document/parse';
import { buildHostModel } from '../model/buildHostModel';
import type { HostModel } from '../model/hostModel';
import type { RawSample } from '../sources/source';

export interface ProcessedSample {
  readonly model: HostModel;
  readonly diagnostics: Diagnostics;
}

/**
 * Raw sample → host model: the one path every source's output takes. Keeps the KVP parse cache
 * between samples, so it is one instance per running exporter.
 */
export class SampleProcessor {
  private readonly kvpCache = new KvpItemCache();

  constructor(private readonly limits: Limits = DEFAULT_LIMITS) {}

  /** Throws SampleError('invalid_document') for a document that is not valid at all. */
  process(raw: RawSample): ProcessedSample {
    const diagnostics = new Diagnostics();
    const document = parseDocument(decodeRawSample(raw, this.limits), diagnostics, this.limits);
    const model = buildHostModel(document, this.kvpCache, diagnostics, this.limits);
    return { model, diagnostics };
  }
}
