import type { Logger } from 'pino';
import type { DropReason } from '../document/diagnostics';
import type { HostModel } from '../model/hostModel';
import { COLLECTORS } from '../metrics/collectors';
import type { ModelCollector } from '../metrics/collectors/collector';
import type { ExporterMetrics } from '../metrics/exporterMetrics';
import { renderModel } from '../metrics/renderModel';
import type { ScrapeBody } from '../metrics/scrapeBody';
import type { SampleSource } from '../sources/source';
import { SampleError, type FailureReason } from './failureReasons';
import type { SampleCallbacks } from './scheduler';
import type { SampleProcessor } from './sampleProcessor';

export interface SamplerState {
  /** The last good sample's model; null before the first success or after it expired. */
  readonly model: HostModel | null;
  readonly lastSuccessAt: Date | null;
  /** At least one sample has succeeded since start (the /-/ready condition). */
  readonly ready: boolean;
}

export function failureReasonOf(error: unknown): FailureReason {
  return error instanceof SampleError ? error.reason : 'source_error';
}

/**
 * One sample end to end: source → processor → collectors → scrape body, and the exporter's own
 * metrics and log lines about it. The scheduler decides when; this decides what.
 */
export class Sampler implements SampleCallbacks {
  private current: SamplerState = { model: null, lastSuccessAt: null, ready: false };
  private pendingModel: HostModel | null = null;
  private lastDropSummary = '';
  private lastFailureReason: FailureReason | null = null;
  private outcomeCount = 0;

  constructor(
    private readonly deps: {
      readonly source: SampleSource;
      readonly processor: SampleProcessor;
      readonly metrics: ExporterMetrics;
      readonly body: ScrapeBody;
      readonly logger: Logger;
      readonly collectors?: readonly ModelCollector[];
      readonly now?: () => Date;
    },
  ) {}

  get state(): SamplerState {
    return this.current;
  }

  /** Counts samples that ended (succeeded, failed, expired): the exporter's own metrics change then. */
  get outcomes(): number {
    return this.outcomeCount;
  }

  async sample(signal: AbortSignal): Promise<void> {
    const raw = await this.deps.source.sample(signal);
    signal.throwIfAborted();
    // The work is done in slices of about a millisecond with the event loop free in between, so that a
    // scrape that comes during a sample is answered at once (from the last published sample).
    const pause = async (): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      signal.throwIfAborted();
    };
    const { model, diagnostics } = await this.deps.processor.processInSlices(raw, pause);
    await pause();
    const rendered = renderModel(model, this.deps.collectors ?? COLLECTORS);
    await pause();
    this.deps.metrics.recordCollectorRuns(rendered.runs);
    for (const run of rendered.runs) {
      if (!run.success) this.deps.logger.error({ err: run.error, collector: run.collector }, 'collector failed; its metrics are left out');
    }
    this.recordDiagnostics(diagnostics.entries());
    this.pendingModel = model;
    // Scrapes see the new text at once; compression finishes in the background.
    void this.deps.body.publish(rendered.families).catch((err: unknown) => this.deps.logger.error({ err }, 'compressing the metrics failed'));
  }

  succeeded(durationSeconds: number): void {
    this.outcomeCount++;
    const now = (this.deps.now ?? (() => new Date()))();
    this.current = { model: this.pendingModel, lastSuccessAt: now, ready: true };
    this.deps.metrics.up.set(1);
    this.deps.metrics.sampleDuration.set(durationSeconds);
    this.deps.metrics.sampleTimestamp.set(now.getTime() / 1000);
    if (this.lastFailureReason !== null) this.deps.logger.info({ vms: this.pendingModel?.vms.length }, 'sampling recovered');
    else this.deps.logger.debug({ vms: this.pendingModel?.vms.length, durationSeconds }, 'sample done');
    this.lastFailureReason = null;
  }

  failed(error: unknown, durationSeconds: number): void {
    this.outcomeCount++;
    const reason = failureReasonOf(error);
    this.deps.metrics.up.set(0);
    this.deps.metrics.sampleDuration.set(durationSeconds);
    this.deps.metrics.recordFailure(reason);
    const message = error instanceof Error ? error.message : String(error);
    // Log every failure, but a repeated reason at debug only, so a long outage does not flood the log.
    const level = reason === this.lastFailureReason ? 'debug' : 'warn';
    this.deps.logger[level]({ reason, err: error instanceof SampleError ? undefined : error }, `sample failed (${reason}): ${message}; serving the last good data`);
    this.lastFailureReason = reason;
  }

  expired(): void {
    this.outcomeCount++;
    this.current = { ...this.current, model: null };
    void this.deps.body.publish('');
    this.deps.logger.warn('no successful sample within --sample.max-age; VM metrics are no longer served');
  }

  private recordDiagnostics(entries: ReadonlyArray<{ reason: DropReason; count: number; example: string }>): void {
    for (const entry of entries) this.deps.metrics.recordDropped(entry.reason, entry.count);
    // Log what was dropped when it changes, not at every sample.
    const summary = entries.map((e) => `${e.reason}=${e.count}`).join(',');
    if (summary !== this.lastDropSummary && summary !== '') {
      this.deps.logger.warn({ dropped: Object.fromEntries(entries.map((e) => [e.reason, { count: e.count, example: e.example }])) }, 'sample had data that was dropped or cut');
    }
    this.lastDropSummary = summary;
  }
}
