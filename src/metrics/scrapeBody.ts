import { gzipWithPrefix, type DeflatedPrefix } from './gzipSplice';
import { IncrementalDeflate } from './incrementalDeflate';

interface Composed {
  readonly exporterText: string;
  readonly deflated: DeflatedPrefix | null;
  readonly prefix: Buffer;
  readonly result: { body: Buffer; gzip: boolean };
}

/**
 * The /metrics body: the model metrics, rendered once per sample (and compressed once, off the event
 * loop, only the families that changed), followed by the exporter's own metrics rendered at each
 * scrape. Scrapes only read what the last sample published; they never wait for a sample.
 *
 * A body is built once for each exporter text: scrapes that come with the same text as the one before
 * (the exporter metrics rendered once for several scrapes) get the same bytes without any copying or
 * compressing. Bodies handed out are never written to again.
 */
export class ScrapeBody {
  private prefix: Buffer = Buffer.alloc(0);
  private deflated: DeflatedPrefix | null = null;
  private generation = 0;
  private lastGzip: Composed | null = null;
  private lastIdentity: Composed | null = null;
  private identityText: string | null = null;
  private readonly compressor = new IncrementalDeflate();

  /** Publishes a new model rendering; returns once it is compressed too (scrapes do not wait for that). */
  async publish(modelText: string): Promise<void> {
    const generation = ++this.generation;
    const prefix = Buffer.from(modelText, 'utf8');
    this.prefix = prefix;
    this.lastGzip = null;
    this.lastIdentity = null;
    this.identityText = null;
    const { provisional, done } = this.compressor.deflate(prefix);
    // At once: the families that did not change as compressed before, the others stored as they are.
    this.deflated = provisional;
    const deflated = await done;
    // A newer sample may have been published while this one compressed.
    if (generation === this.generation) this.deflated = deflated;
  }

  /** Bytes of the model metrics last published (uncompressed). */
  get modelBytes(): number {
    return this.prefix.length;
  }

  /** The full body; gzip when asked for and the prefix is compressed already, identity otherwise. */
  compose(exporterText: string, acceptGzip: boolean): { body: Buffer; gzip: boolean } {
    const gzip = acceptGzip && this.deflated !== null;
    const last = gzip ? this.lastGzip : this.lastIdentity;
    if (last !== null && last.exporterText === exporterText && last.prefix === this.prefix && last.deflated === this.deflated) return last.result;
    const suffix = Buffer.from(exporterText, 'utf8');
    const result =
      gzip && this.deflated !== null
        ? { body: gzipWithPrefix(this.deflated, suffix), gzip: true }
        : { body: Buffer.concat([this.prefix, suffix]), gzip: false };
    const composed: Composed = { exporterText, deflated: this.deflated, prefix: this.prefix, result };
    if (gzip) {
      this.lastGzip = composed;
    } else if (this.identityText === exporterText) {
      // An uncompressed body is as large as the model metrics: kept only once a second scrape asked
      // for it with the same exporter text (a burst of scrapes), not for the odd browser or curl.
      this.lastIdentity = composed;
    } else {
      this.identityText = exporterText;
    }
    return result;
  }
}
