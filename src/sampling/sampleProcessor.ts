import { ClassParseCache } from '../document/classReuse';
import { Diagnostics } from '../document/diagnostics';
import { KvpItemCache } from '../document/kvp';
import { InstanceLineCache } from '../document/lineCache';
import { DEFAULT_LIMITS, type Limits } from '../document/limits';
import { decodeRawSample, decodeRawSampleInSlices } from '../document/parse';
import { buildHostModel, HostModelMemo } from '../model/buildHostModel';
import type { HostModel } from '../model/hostModel';
import type { RawSample } from '../sources/source';

export interface ProcessedSample {
  readonly model: HostModel;
  readonly diagnostics: Diagnostics;
}

/**
 * Raw sample → host model: the one path every source's output takes. Keeps what the last sample made
 * of each part of the document (instance lines, classes, KVP items, per-VM model parts), so that the
 * work of a sample follows what changed; one instance per running exporter. The model and the
 * diagnostics are the same as without any of it.
 */
export class SampleProcessor {
  private readonly kvpCache = new KvpItemCache();
  private readonly lineCache = new InstanceLineCache();
  private readonly classCache = new ClassParseCache();
  private readonly modelMemo = new HostModelMemo();

  constructor(private readonly limits: Limits = DEFAULT_LIMITS) {}

  /** Throws SampleError('invalid_document') for a document that is not valid at all. */
  process(raw: RawSample): ProcessedSample {
    return this.build(decodeRawSample(raw, this.limits, this.lineCache));
  }

  /**
   * process(raw), with `pause()` awaited between slices of the text's parsing (the largest part of
   * the work), so that scrapes are served in between. What `pause` throws (an abort) is thrown as it
   * is, and the caches then keep what they had.
   */
  async processInSlices(raw: RawSample, pause: () => Promise<void>): Promise<ProcessedSample> {
    const decoded = await decodeRawSampleInSlices(raw, this.limits, this.lineCache, pause);
    await pause();
    return this.build(decoded);
  }

  private build(decoded: unknown): ProcessedSample {
    const diagnostics = new Diagnostics();
    const document = this.classCache.parse(decoded, diagnostics, this.limits);
    const model = buildHostModel(document, this.kvpCache, diagnostics, this.limits, this.modelMemo);
    return { model, diagnostics };
  }
}
