import type { RenderedFamily } from './familyText';
import { gzipWithPrefix, type DeflatedPrefix } from './gzipSplice';
import { encodeFamily, familiesOfText, IncrementalDeflate, type ModelText } from './incrementalDeflate';

/** A /metrics body: the bytes to write in order (one buffer, or the model's families and the rest). */
export interface ComposedBody {
  readonly chunks: readonly Buffer[];
  readonly length: number;
  readonly gzip: boolean;
}

interface Composed {
  readonly exporterText: string;
  readonly deflated: DeflatedPrefix | null;
  readonly model: ModelText;
  readonly result: ComposedBody;
}

const NO_MODEL: ModelText = { families: [], length: 0 };

/**
 * The /metrics body: the model metrics, compressed once per sample (only the families that changed,
 * off the event loop), followed by the exporter's own metrics rendered at each scrape. Scrapes only
 * read what the last sample published; they never wait for a sample. Only the compressed form is kept
 * as bytes (Prometheus asks for gzip); an uncompressed scrape is encoded from the rendered text.
 *
 * A body is built once for each exporter text: scrapes that come with the same text as the one before
 * (the exporter metrics rendered once for several scrapes) get the same bytes without any copying or
 * compressing. Bodies handed out are never written to again.
 */
export class ScrapeBody {
  private model: ModelText = NO_MODEL;
  private deflated: DeflatedPrefix | null = null;
  private generation = 0;
  private lastGzip: Composed | null = null;
  private lastIdentity: Composed | null = null;
  private identityText: string | null = null;
  private readonly compressor = new IncrementalDeflate();

  /**
   * Publishes a new model rendering (the collectors' families, or text); returns once it is
   * compressed too (scrapes do not wait for that).
   */
  async publish(rendering: readonly RenderedFamily[] | string): Promise<void> {
    const generation = ++this.generation;
    const { text, provisional, done } = this.compressor.deflate(typeof rendering === 'string' ? familiesOfText(rendering) : rendering);
    this.model = text;
    this.lastGzip = null;
    this.lastIdentity = null;
    this.identityText = null;
    // At once: the families that did not change as compressed before, the others stored as they are.
    this.deflated = provisional;
    const deflated = await done;
    // A newer sample may have been published while this one compressed.
    if (generation === this.generation) this.deflated = deflated;
  }

  /** Bytes of the model metrics last published (uncompressed). */
  get modelBytes(): number {
    return this.model.length;
  }

  /** The full body; gzip when asked for and the model metrics are compressed already, identity otherwise. */
  compose(exporterText: string, acceptGzip: boolean): ComposedBody {
    const gzip = acceptGzip && this.deflated !== null;
    const last = gzip ? this.lastGzip : this.lastIdentity;
    if (last !== null && last.exporterText === exporterText && last.model === this.model && last.deflated === this.deflated) return last.result;
    const suffix = Buffer.from(exporterText, 'utf8');
    const length = this.model.length + suffix.length;
    let result: ComposedBody;
    if (gzip && this.deflated !== null) {
      const body = gzipWithPrefix(this.deflated, suffix);
      result = { chunks: [body], length: body.length, gzip: true };
    } else if (this.identityText === exporterText) {
      // An uncompressed body is as large as the model metrics: made into one buffer and kept only once
      // a second scrape asked for it with the same exporter text (a burst of scrapes); the odd browser
      // or curl gets it family by family, and nothing is kept.
      result = { chunks: [Buffer.concat([...this.model.families.map(encodeFamily), suffix], length)], length, gzip: false };
    } else {
      result = { chunks: [...this.model.families.map(encodeFamily), suffix], length, gzip: false };
    }
    const composed: Composed = { exporterText, deflated: this.deflated, model: this.model, result };
    if (gzip) this.lastGzip = composed;
    else if (this.identityText === exporterText) this.lastIdentity = composed;
    else this.identityText = exporterText;
    return result;
  }
}
