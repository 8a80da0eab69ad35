import { deflatePrefix, gzipWithPrefix, type DeflatedPrefix } from './gzipSplice';

/**
 * The /metrics body: the model metrics, rendered once per sample (and compressed once, off the event
 * loop), followed by the exporter's own metrics rendered at each scrape. Scrapes only read what the
 * last sample published; they never wait for a sample.
 */
export class ScrapeBody {
  private prefix: Buffer = Buffer.alloc(0);
  private deflated: DeflatedPrefix | null = null;
  private generation = 0;

  /** Publishes a new model rendering; returns once it is compressed too (scrapes do not wait for that). */
  async publish(modelText: string): Promise<void> {
    const generation = ++this.generation;
    const prefix = Buffer.from(modelText, 'utf8');
    this.prefix = prefix;
    this.deflated = null;
    const deflated = await deflatePrefix(prefix);
    // A newer sample may have been published while this one compressed.
    if (generation === this.generation) this.deflated = deflated;
  }

  /** The full body; gzip when asked for and the prefix is compressed already, identity otherwise. */
  compose(exporterText: string, acceptGzip: boolean): { body: Buffer; gzip: boolean } {
    const suffix = Buffer.from(exporterText, 'utf8');
    if (acceptGzip && this.deflated !== null) return { body: gzipWithPrefix(this.deflated, suffix), gzip: true };
    return { body: Buffer.concat([this.prefix, suffix]), gzip: false };
  }
}
