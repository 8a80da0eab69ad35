import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { DROP_REASONS, type DropReason } from '../document/diagnostics';
import { FAILURE_REASONS, type FailureReason } from '../sampling/failureReasons';
import type { SourceName } from '../sources/source';
import type { CollectorRun } from './renderModel';

/**
 * The exporter's own metrics (prom-client): whether sampling works, how long it takes, what it had to
 * drop. They are rendered at every scrape, after the model metrics; the process/Node.js metrics live
 * in a second registry that --web.disable-exporter-metrics leaves out.
 */
export class ExporterMetrics {
  readonly registry = new Registry();
  readonly processRegistry: Registry | null;

  readonly up = new Gauge({
    name: 'hyperv_up',
    help: 'Whether the last sample of the Hyper-V host succeeded (1) or failed (0).',
    registers: [this.registry],
  });
  readonly sampleDuration = new Gauge({
    name: 'hyperv_sample_duration_seconds',
    help: 'Duration of the last sample attempt: obtaining, parsing and rendering the sample document.',
    registers: [this.registry],
  });
  readonly sampleTimestamp = new Gauge({
    name: 'hyperv_sample_timestamp_seconds',
    help: 'Unix time of the last successful sample; the VM metrics are from that sample (time() minus this is their age).',
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'hyperv_sample_failures_total',
    help: 'Failed samples by reason; the last good data keeps being served until --sample.max-age.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly dropped = new Counter({
    name: 'hyperv_sample_dropped_total',
    help: 'Instances and KVP items dropped, and label values cut, by reason, summed over all samples.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly collectorDuration = new Gauge({
    name: 'hyperv_collector_duration_seconds',
    help: 'Time each collector took to render the last good sample.',
    labelNames: ['collector'] as const,
    registers: [this.registry],
  });
  readonly collectorSuccess = new Gauge({
    name: 'hyperv_collector_success',
    help: 'Whether each collector rendered the last good sample without error.',
    labelNames: ['collector'] as const,
    registers: [this.registry],
  });

  constructor(options: { version: string; source: SourceName; processMetrics: boolean }) {
    const buildInfo = new Gauge({
      name: 'hyperv_exporter_build_info',
      help: 'Version of hyperv-ic-exporter and the source it samples; always 1.',
      labelNames: ['version', 'source'] as const,
      registers: [this.registry],
    });
    buildInfo.set({ version: options.version, source: options.source }, 1);
    this.up.set(0);
    for (const reason of FAILURE_REASONS) this.failures.inc({ reason }, 0);
    for (const reason of DROP_REASONS) this.dropped.inc({ reason }, 0);
    if (options.processMetrics) {
      this.processRegistry = new Registry();
      collectDefaultMetrics({ register: this.processRegistry });
      // Gauges named *_total break the naming rules (promtool check metrics); the per-type
      // nodejs_active_handles/requests/resources gauges carry the same numbers.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.processRegistry.removeSingleMetric(name);
      }
    } else {
      this.processRegistry = null;
    }
  }

  recordFailure(reason: FailureReason): void {
    this.failures.inc({ reason });
  }

  recordDropped(reason: DropReason, count: number): void {
    this.dropped.inc({ reason }, count);
  }

  recordCollectorRuns(runs: readonly CollectorRun[]): void {
    for (const run of runs) {
      this.collectorDuration.set({ collector: run.collector }, run.durationSeconds);
      this.collectorSuccess.set({ collector: run.collector }, run.success ? 1 : 0);
    }
  }

  async render(): Promise<string> {
    const own = await this.registry.metrics();
    return this.processRegistry === null ? own : own + (await this.processRegistry.metrics());
  }
}
