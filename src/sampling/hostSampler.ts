import type { Logger } from 'pino';
import { failureReasonOf, SampleError, type FailureReason, type SampleSource } from '../contract/sample';
import type { DropReason } from '../document/diagnostics';
import { DEFAULT_LIMITS, type Limits } from '../document/limits';
import type { VmModel } from '../model/hostModel';
import type { KvpExport } from '../model/kvpExport';
import type { ModelCollector } from '../metrics/collectors/collector';
import { NO_SAMPLE_YET } from '../metrics/samplingMetrics';
import { seenSinceText } from '../metrics/seenSince';
import type { CurrentSample, HostState, SampleFailure } from './currentSample';
import { Publisher } from './publisher';
import { chooseScope, runSample, type FullSample, type Sampled, type SampleStepOptions } from './sampleStep';
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

/** What a host's sampling carries from one outcome to the next; each outcome makes a new one. */
interface HostRecord {
  /** What is published: everything a body is rendered from. */
  readonly state: HostState;
  /** The last Full sample and when it succeeded (Unix ms); null until one has. */
  readonly lastFull: { readonly sample: FullSample; readonly at: number } | null;
  /** Per VM id: since when (Unix seconds) it has been in every good sample (hyperv_vm_seen_since_timestamp_seconds). */
  readonly seenSince: ReadonlyMap<string, number>;
  /** For the log: the reason of the last failure since the last success (a repeated reason is logged at debug only). */
  readonly lastFailureReason: FailureReason | null;
  /** For the log: what the last good sample dropped (logged when it changes). */
  readonly lastDropSummary: string;
}

/**
 * One host, sampled: the scheduler calls `sample` (chooseScope, then runSample: source → document →
 * model → exposition) and reports its outcome to `succeeded` or `failed`, which make the host's next
 * record and publish it (Publisher) as one immutable CurrentSample. Full or Status: a Full sample at
 * start, every fullIntervalMs and after a failed Full sample; a Status sample whose VMs are not the last
 * Full sample's (added, removed, started, stopped) is replaced by a Full sample at once.
 */
export class HostSampler implements SampleCallbacks<Sampled> {
  private readonly step: SampleStepOptions;
  private readonly publisher: Publisher;
  private record: HostRecord;

  constructor(private readonly options: HostSamplerOptions) {
    this.step = { collectors: options.collectors, limits: options.limits ?? DEFAULT_LIMITS, kvpExport: options.kvpExport };
    this.publisher = new Publisher(options.bodyText, (error) => options.logger.error({ host: options.host, err: error }, 'rendering the metrics failed'));
    this.record = {
      state: { host: options.host, model: null, modelText: '', health: NO_SAMPLE_YET, lastSuccessAt: null, lastFailure: null, ready: false },
      lastFull: null,
      seenSince: new Map(),
      lastFailureReason: null,
      lastDropSummary: '',
    };
  }

  get host(): string {
    return this.options.host;
  }

  /** The last published sample; null until the first outcome has been published. */
  get current(): CurrentSample | null {
    return this.publisher.current;
  }

  /** Calls `listener` with each newly published sample, until the returned function is called. */
  onPublish(listener: (sample: CurrentSample) => void): () => void {
    return this.publisher.onPublish(listener);
  }

  /** Publishes the state before any sample (hyperv_up 0), so that every endpoint has a body at once. */
  publishInitial(): Promise<void> {
    return this.publisher.publish(this.record.state);
  }

  async sample(signal: AbortSignal): Promise<Sampled> {
    const { source, fullIntervalMs, logger } = this.options;
    const lastFull = this.record.lastFull;
    let outcome = await runSample(source, chooseScope(lastFull?.at ?? null, this.now(), fullIntervalMs), lastFull?.sample ?? null, this.step, signal);
    if (outcome.kind === 'needsFull') {
      logger.debug({ host: this.options.host }, 'the VMs changed since the last Full sample; taking a Full sample');
      // The last Full sample does not fit these VMs: the scope is chosen as if there were none (Full),
      // at once. Its parsed KVP items still spare the Full sample most of its parsing.
      outcome = await runSample(source, chooseScope(null, this.now(), fullIntervalMs), lastFull?.sample ?? null, this.step, signal);
    }
    if (outcome.kind === 'failed') throw outcome.error;
    // A Full document needs no last Full sample: runSample answers a Full request with one or fails.
    if (outcome.kind === 'needsFull') throw new SampleError('invalid_document', 'a Full sample could not be completed');
    return outcome;
  }

  succeeded(sampled: Sampled, durationSeconds: number): void {
    const before = this.record;
    this.record = afterSuccess(before, sampled, durationSeconds, this.now());
    const { host, logger } = this.options;
    for (const run of sampled.collectorRuns) {
      if (!run.success) logger.error({ host, err: run.error, collector: run.collector }, 'collector failed; its metrics are left out');
    }
    // What was dropped is logged when it changes, not at every sample.
    if (this.record.lastDropSummary !== before.lastDropSummary && this.record.lastDropSummary !== '') {
      logger.warn({ host, dropped: Object.fromEntries(sampled.dropped.map((e) => [e.reason, { count: e.count, example: e.example }])) }, 'sample had data that was dropped or cut');
    }
    const vms = sampled.model.vms.length;
    if (before.lastFailureReason !== null) logger.info({ host, vms }, 'sampling recovered');
    else logger.debug({ host, vms, scope: sampled.scope, durationSeconds }, 'sample done');
    void this.publisher.publish(this.record.state);
  }

  failed(error: unknown, durationSeconds: number): void {
    const failure: SampleFailure = { reason: failureReasonOf(error), message: error instanceof Error ? error.message : String(error), at: new Date(this.now()) };
    const { reason, message } = failure;
    const before = this.record;
    this.record = afterFailure(before, failure, durationSeconds);
    // Every failure is logged, a repeated reason at debug only, so that a long outage does not flood the log.
    // A PowerShell that cannot be started is an error: no sample will succeed until --powershell.path is right.
    const level = reason === before.lastFailureReason ? 'debug' : reason === 'powershell_not_found' ? 'error' : 'warn';
    // Say what is served now: the last good data only when there is some.
    const serving =
      before.state.model !== null
        ? 'serving the last good data'
        : before.state.lastSuccessAt === null
          ? 'no sample has succeeded yet, so no VM metrics are served'
          : 'the last good data is older than max-age and no longer served';
    this.options.logger[level]({ host: this.options.host, reason, err: error instanceof SampleError ? undefined : error }, `sample failed (${reason}): ${message}; ${serving}`);
    void this.publisher.publish(this.record.state);
  }

  expired(): void {
    this.record = { ...this.record, state: { ...this.record.state, model: null, modelText: '' } };
    this.options.logger.warn({ host: this.options.host }, 'no successful sample within --sample.max-age; VM metrics are no longer served');
    void this.publisher.publish(this.record.state);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** The record after a good sample: its model served, its drops counted, and a Full sample kept for the Status samples after it. */
function afterSuccess(record: HostRecord, sampled: Sampled, durationSeconds: number, nowMs: number): HostRecord {
  const seconds = nowMs / 1000;
  const seenSince = seenSinceAfter(record.seenSince, sampled.model.vms, seconds);
  const health = record.state.health;
  const dropped: Partial<Record<DropReason, number>> = { ...health.dropped };
  for (const entry of sampled.dropped) dropped[entry.reason] = (dropped[entry.reason] ?? 0) + entry.count;
  return {
    state: {
      ...record.state,
      model: sampled.model,
      // The VM metrics served: the collectors' families of this sample, then since when each VM has been
      // seen, which no collector can say (it is kept from sample to sample, in the record).
      modelText: sampled.modelText + seenSinceText(sampled.model.vms, seenSince),
      lastSuccessAt: new Date(nowMs),
      ready: true,
      health: { ...health, up: true, durationSeconds, lastSuccessSeconds: seconds, collectorRuns: sampled.collectorRuns, dropped },
    },
    lastFull: sampled.full === null ? record.lastFull : { sample: sampled.full, at: nowMs },
    seenSince,
    lastFailureReason: null,
    lastDropSummary: sampled.dropped.map((e) => `${e.reason}=${e.count}`).join(','),
  };
}

/** The record after a failed sample: the failure counted by reason; the last good data is kept. */
function afterFailure(record: HostRecord, failure: SampleFailure, durationSeconds: number): HostRecord {
  const { reason } = failure;
  const health = record.state.health;
  return {
    ...record,
    state: {
      ...record.state,
      lastFailure: failure,
      health: { ...health, up: false, durationSeconds, failures: { ...health.failures, [reason]: (health.failures[reason] ?? 0) + 1 } },
    },
    lastFailureReason: reason,
  };
}

/** Since when each VM of a good sample has been in every good sample: a VM that was missing from one starts again now. */
function seenSinceAfter(previous: ReadonlyMap<string, number>, vms: readonly VmModel[], seconds: number): ReadonlyMap<string, number> {
  return new Map(vms.map((vm) => [vm.id, previous.get(vm.id) ?? seconds]));
}
