import { FAILURE_REASONS, type FailureReason } from '../contract/sample';
import { DROP_REASONS, type DropReason } from '../document/diagnostics';
import { counter, ExpositionWriter, gauge, labelText } from './exposition';
import type { CollectorRun } from './renderModel';

/** How sampling one host has gone: what the exporter's own hyperv_* metrics say about it. */
export interface SamplingHealth {
  /** The last sample attempt succeeded. */
  readonly up: boolean;
  /** Duration of the last sample attempt; null before the first ended. */
  readonly durationSeconds: number | null;
  /** Unix time of the last successful sample; null before the first. */
  readonly lastSuccessSeconds: number | null;
  /** Failed samples by reason, since start. */
  readonly failures: Readonly<Partial<Record<FailureReason, number>>>;
  /** What samples dropped or cut, by reason, since start. */
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
  /** How each collector did on the last good sample. */
  readonly collectorRuns: readonly CollectorRun[];
}

export const NO_SAMPLE_YET: SamplingHealth = { up: false, durationSeconds: null, lastSuccessSeconds: null, failures: {}, dropped: {}, collectorRuns: [] };

const up = gauge('hyperv_up', 'Whether the last sample of the Hyper-V host succeeded (1) or failed (0).');
const duration = gauge('hyperv_sample_duration_seconds', 'Duration of the last sample attempt: obtaining, parsing and rendering the sample document.');
const timestamp = gauge(
  'hyperv_sample_timestamp_seconds',
  'Unix time of the last successful sample; the VM metrics are from that sample (time() minus this is their age).',
);
const failures = counter('hyperv_sample_failures_total', 'Failed samples by reason; the last good data keeps being served until --sample.max-age.');
const dropped = counter('hyperv_sample_dropped_total', 'Instances and KVP items dropped, and label values cut, by reason, summed over all samples.');
const collectorDuration = gauge('hyperv_collector_duration_seconds', 'Time each collector took to render the last good sample.');
const collectorSuccess = gauge('hyperv_collector_success', 'Whether each collector rendered the last good sample without error.');

export const SAMPLING_FAMILIES = [up, duration, timestamp, failures, dropped, collectorDuration, collectorSuccess] as const;

/**
 * The sampling metrics of hosts: unlabelled for the one host of a /metrics or /probe body, or with a
 * `host` label for each host where one body speaks of several. Every failure and drop reason is
 * written from the start, with 0, so that rate() works before it first happens.
 */
export function writeSamplingMetrics(out: ExpositionWriter, health: SamplingHealth, hostLabels: Readonly<Record<string, string>> = {}): void {
  const base = labelText(hostLabels);
  const withLabel = (name: string, value: string): string => (base === '' ? `${name}="${value}"` : `${base},${name}="${value}"`);
  out.sample(up, base, health.up ? 1 : 0);
  out.sample(duration, base, health.durationSeconds ?? 0);
  out.sample(timestamp, base, health.lastSuccessSeconds ?? 0);
  for (const reason of FAILURE_REASONS) out.sample(failures, withLabel('reason', reason), health.failures[reason] ?? 0);
  for (const reason of DROP_REASONS) out.sample(dropped, withLabel('reason', reason), health.dropped[reason] ?? 0);
  for (const run of health.collectorRuns) {
    out.sample(collectorDuration, withLabel('collector', run.collector), run.durationSeconds);
    out.sample(collectorSuccess, withLabel('collector', run.collector), run.success ? 1 : 0);
  }
}

export const BUILD_INFO_FAMILY = gauge('hyperv_exporter_build_info', 'Version of hyperv-ic-exporter and the source it samples; always 1.');

/** hyperv_exporter_build_info. */
export function buildInfoText(version: string, source: string): string {
  const out = new ExpositionWriter();
  out.sample(BUILD_INFO_FAMILY, labelText({ version, source }), 1);
  return out.text([BUILD_INFO_FAMILY]);
}
