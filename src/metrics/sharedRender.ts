export interface SharedRenderOptions {
  /** How long one rendering is shared (default 1000 ms). */
  readonly maxAgeMs?: number;
  /** Renders again as soon as this value changes (e.g. the sampler state, replaced after each sample). */
  readonly version?: () => unknown;
  readonly now?: () => number;
}

/**
 * Renders text at most once per `maxAgeMs` however many callers ask: callers within that time, and
 * callers while a render is running, get the same text. Meant for the exporter's own metrics at
 * /metrics: given the same exporter text, ScrapeBody hands out the same body, so a burst of scrapes
 * (several Prometheus servers, a load test) is served from memory instead of being rendered, copied
 * and compressed one by one.
 */
export class SharedRender {
  private text: Promise<string> | null = null;
  private renderedAt = 0;
  private renderedVersion: unknown = undefined;
  private readonly maxAgeMs: number;
  private readonly version: () => unknown;
  private readonly now: () => number;

  constructor(
    private readonly render: () => Promise<string>,
    options: SharedRenderOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.version = options.version ?? (() => undefined);
    this.now = options.now ?? (() => performance.now());
  }

  get(): Promise<string> {
    const now = this.now();
    const version = this.version();
    if (this.text === null || now - this.renderedAt >= this.maxAgeMs || version !== this.renderedVersion) {
      this.renderedAt = now;
      this.renderedVersion = version;
      const text = this.render();
      this.text = text;
      // A failed render is not shared: the next caller tries again.
      text.catch(() => {
        if (this.text === text) this.text = null;
      });
    }
    return this.text;
  }

  /** The next caller renders again. */
  invalidate(): void {
    this.text = null;
  }
}
