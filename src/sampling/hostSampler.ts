import type { Logger } from 'pino';
import { failureReasonOf, SampleError, type FailureReason, type SampleScope, type SampleSource } from '../contract/sample';
import { Diagnostics, type DropReason } from '../document/diagnostics';
import { DEFAULT_LIMITS, type Limits } from '../document/limits';
import { KvpItemReader } from '../document/kvp';
import { decodeRawSample, parseDocument, type ParsedDocument } from '../document/parse';
import { vmSetOf } from '../document/vmSet';
import { buildHostModel } from '../model/buildHostModel';
import type { KvpExport } from '../model/kvpExport';
import type { HostModel } from '../model/hostModel';
import type { ModelCollector } from '../metrics/collectors/collector';
import { renderCollector, type CollectorRun } from '../metrics/renderModel';
import { NO_SAMPLE_YET, type SamplingHealth } from '../metrics/samplingMetrics';
import { seenSinceText } from '../metrics/seenSince';
import { compressBody, type CurrentSample, type HostState } from './currentSample';
import type { SampleCallbacks } from './scheduler';

export interface HostSamplerOptions {
  /** The host's name: the `target` of /probe and the `host` label of the exporter's own metrics. */
  readonly host: string;
  readonly source: SampleSource;
  readonly collectors: readonly ModelCollector[];
  /** How often a Full sample is taken; the samples between are Status samples (0: every sample is Full). */
  readonly fullIntervalMs: number;
  /** The exposition a host's body is made of (main decides what goes with the model metrics). */
  readonly bodyText: (state: HostState) => Promise<string>;
  readonly logger: Logger;
  readonly limits?: Limits;
  /** Which KVP items become series of their own (--kvp.export-keys); default none. */
  readonly kvpExport?: KvpExport;
  readonly now?: () => number;
}

/** What a sample made, kept until the scheduler says it succeeded. */
interface Pending {
  readonly model: HostModel;
  readonly modelText: string;
  readonly runs: readonly CollectorRun[];
  readonly dropped: ReadonlyArray<{ reason: DropReason; count: number; example: string }>;
  /** Set when this was a Full sample: what the next Status samples are completed with. */
  readonly full: FullSample | null;
  readonly scope: SampleScope;
}

/** The last Full sample: its model (setting data, KVP items) and its VMs (see vmSetOf). */
interface FullSample {
  readonly model: HostModel;
  readonly vms: string;
}

/** The event loop is let go between the stages of a sample, so that scrapes are answered meanwhile. */
async function yieldToEventLoop(signal: AbortSignal): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}

/**
 * One host, sampled: source → document → model → exposition, and the outcome published as one
 * immutable CurrentSample. Decides Full or Status: a Full sample at start, every fullIntervalMs, after
 * a failed Full sample, and whenever a Status sample shows other VMs than the last Full one (then a
 * Full sample is taken at once instead); the model of a Status sample takes setting data and KVP
 * items from the last Full sample's model. The scheduler decides when.
 */
export class HostSampler implements SampleCallbacks {
  private state: HostState;
  private published: CurrentSample | null = null;
  private publishing = 0;
  private pending: Pending | null = null;
  private full: FullSample | null = null;
  private lastFullAt = 0;
  /** Per VM id: when it first showed in the good samples since it last did not (hyperv_vm_seen_since_timestamp_seconds). */
  private readonly seenSince = new Map<string, number>();
  private readonly kvpItems = new KvpItemReader();
  private readonly failures: Partial<Record<FailureReason, number>> = {};
  private readonly dropped: Partial<Record<DropReason, number>> = {};
  private lastDropSummary = '';
  private lastFailureReason: FailureReason | null = null;
  private readonly limits: Limits;
  private readonly now: () => number;
  private readonly listeners: Array<(sample: CurrentSample) => void> = [];

  constructor(private readonly options: HostSamplerOptions) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.now = options.now ?? Date.now;
    this.state = { host: options.host, model: null, modelText: '', health: NO_SAMPLE_YET, lastSuccessAt: null, lastFailure: null, ready: false };
  }

  get host(): string {
    return this.options.host;
  }

  /** The last published sample; null until the first outcome has been published. */
  get current(): CurrentSample | null {
    return this.published;
  }

  /** Calls `listener` with each newly published sample, until the returned function is called. */
  onPublish(listener: (sample: CurrentSample) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** Publishes the state before any sample (hyperv_up 0), so that every endpoint has a body at once. */
  publishInitial(): Promise<void> {
    return this.publish();
  }

  async sample(signal: AbortSignal): Promise<void> {
    this.pending = null;
    const full = this.full;
    const wantFull = full === null || this.options.fullIntervalMs === 0 || this.now() - this.lastFullAt >= this.options.fullIntervalMs;
    let diagnostics = new Diagnostics();
    let document = await this.obtain(wantFull ? 'full' : 'status', diagnostics, signal);
    if (document.scope === 'status' && (full === null || vmSetOf(document) !== full.vms)) {
      // Other VMs than at the last Full sample (added, removed, started, stopped): its setting data
      // and KVP items do not fit them. A Full sample instead, at once.
      this.options.logger.debug({ host: this.options.host }, 'the VMs changed since the last Full sample; taking a Full sample');
      diagnostics = new Diagnostics();
      document = await this.obtain('full', diagnostics, signal);
      if (document.scope !== 'full') throw new SampleError('invalid_document', 'asked for a Full sample, the source returned a Status one');
    }
    if (document.scope === 'full') this.kvpItems.begin();
    const model = buildHostModel(document, diagnostics, {
      limits: this.limits,
      kvpExport: this.options.kvpExport,
      fullModel: document.scope === 'status' ? (full?.model ?? null) : null,
      readKvpItem: (xml) => this.kvpItems.read(xml),
    });
    await yieldToEventLoop(signal);
    // One collector at a time, the event loop let go between them: a 1024-VM host renders 6 MB.
    let text = '';
    const runs: CollectorRun[] = [];
    for (const collector of this.options.collectors) {
      const rendered = renderCollector(model, collector);
      text += rendered.text;
      runs.push(rendered.run);
      await yieldToEventLoop(signal);
    }
    for (const run of runs) {
      if (!run.success) this.options.logger.error({ host: this.options.host, err: run.error, collector: run.collector }, 'collector failed; its metrics are left out');
    }
    this.pending = {
      model,
      modelText: text,
      runs,
      dropped: diagnostics.entries(),
      full: document.scope === 'full' ? { model, vms: vmSetOf(document) } : null,
      scope: document.scope,
    };
  }

  succeeded(durationSeconds: number): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    if (pending.full !== null) {
      this.full = pending.full;
      this.lastFullAt = this.now();
    }
    this.recordDrops(pending.dropped);
    const now = new Date(this.now());
    const present = new Set(pending.model.vms.map((vm) => vm.id));
    for (const id of this.seenSince.keys()) if (!present.has(id)) this.seenSince.delete(id);
    for (const id of present) if (!this.seenSince.has(id)) this.seenSince.set(id, now.getTime() / 1000);
    const logger = this.options.logger;
    if (this.lastFailureReason !== null) logger.info({ host: this.options.host, vms: pending.model.vms.length }, 'sampling recovered');
    else logger.debug({ host: this.options.host, vms: pending.model.vms.length, scope: pending.scope, durationSeconds }, 'sample done');
    this.lastFailureReason = null;
    this.state = {
      ...this.state,
      model: pending.model,
      modelText: pending.modelText + seenSinceText(pending.model.vms, this.seenSince),
      lastSuccessAt: now,
      ready: true,
      health: this.health({ up: true, durationSeconds, lastSuccessSeconds: now.getTime() / 1000, collectorRuns: pending.runs }),
    };
    void this.publish();
  }

  failed(error: unknown, durationSeconds: number): void {
    this.pending = null;
    const reason = failureReasonOf(error);
    this.failures[reason] = (this.failures[reason] ?? 0) + 1;
    const message = error instanceof Error ? error.message : String(error);
    // Every failure is logged, a repeated reason at debug only, so that a long outage does not flood the log.
    // A PowerShell that cannot be started is an error: no sample will succeed until --powershell.path is right.
    const level = reason === this.lastFailureReason ? 'debug' : reason === 'powershell_not_found' ? 'error' : 'warn';
    // Say what is served now: the last good data only when there is some.
    const serving =
      this.state.model !== null
        ? 'serving the last good data'
        : this.state.lastSuccessAt === null
          ? 'no sample has succeeded yet, so no VM metrics are served'
          : 'the last good data is older than max-age and no longer served';
    this.options.logger[level]({ host: this.options.host, reason, err: error instanceof SampleError ? undefined : error }, `sample failed (${reason}): ${message}; ${serving}`);
    this.lastFailureReason = reason;
    this.state = { ...this.state, lastFailure: { reason, message, at: new Date(this.now()) }, health: this.health({ up: false, durationSeconds }) };
    void this.publish();
  }

  expired(): void {
    this.state = { ...this.state, model: null, modelText: '' };
    this.options.logger.warn({ host: this.options.host }, 'no successful sample within --sample.max-age; VM metrics are no longer served');
    void this.publish();
  }

  /** A sample document from the source, parsed; the event loop is let go before and after parsing. */
  private async obtain(scope: SampleScope, diagnostics: Diagnostics, signal: AbortSignal): Promise<ParsedDocument> {
    const raw = await this.options.source.sample(scope, signal);
    signal.throwIfAborted();
    await yieldToEventLoop(signal);
    const document = parseDocument(decodeRawSample(raw, this.limits), diagnostics, this.limits);
    await yieldToEventLoop(signal);
    return document;
  }

  private health(changes: Partial<SamplingHealth>): SamplingHealth {
    return { ...this.state.health, ...changes, failures: { ...this.failures }, dropped: { ...this.dropped } };
  }

  private recordDrops(entries: ReadonlyArray<{ reason: DropReason; count: number; example: string }>): void {
    for (const entry of entries) this.dropped[entry.reason] = (this.dropped[entry.reason] ?? 0) + entry.count;
    // What was dropped is logged when it changes, not at every sample.
    const summary = entries.map((e) => `${e.reason}=${e.count}`).join(',');
    if (summary !== this.lastDropSummary && summary !== '') {
      this.options.logger.warn(
        { host: this.options.host, dropped: Object.fromEntries(entries.map((e) => [e.reason, { count: e.count, example: e.example }])) },
        'sample had data that was dropped or cut',
      );
    }
    this.lastDropSummary = summary;
  }

  /** Renders and compresses the state into a CurrentSample; a newer outcome's publication wins. */
  private async publish(): Promise<void> {
    const state = this.state;
    const generation = ++this.publishing;
    try {
      const body = await compressBody(await this.options.bodyText(state));
      if (generation !== this.publishing) return;
      this.published = { ...state, body };
      for (const listener of [...this.listeners]) listener(this.published);
    } catch (error) {
      this.options.logger.error({ host: this.options.host, err: error }, 'rendering the metrics failed');
    }
  }
}
