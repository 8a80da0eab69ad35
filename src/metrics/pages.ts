import { configReloadText, type ConfigReloadState } from './configReload';
import { ExpositionWriter, gauge } from './exposition';
import type { ProcessMetrics } from './processMetrics';
import { buildInfoText, SAMPLING_FAMILIES, writeSamplingMetrics, type SamplingHealth } from './samplingMetrics';

/** The exporter's own metrics that are not about one host: its build, and its process (unless left out). */
export interface ExporterInfo {
  readonly version: string;
  /** The `source` label of hyperv_exporter_build_info. */
  readonly source: string;
  readonly processMetrics: ProcessMetrics | null;
  /** How the last reload of the configuration files went (main keeps it); absent: not written. */
  readonly configReload?: () => ConfigReloadState;
}

/** What the exporter says of itself on /metrics, after the hosts' metrics: build, last reload, process. */
async function exporterText(exporter: ExporterInfo): Promise<string> {
  const reload = exporter.configReload === undefined ? '' : configReloadText(exporter.configReload());
  return buildInfoText(exporter.version, exporter.source) + reload + ((await exporter.processMetrics?.text()) ?? '');
}

/** What a host body is made of. */
export interface HostPageInput {
  readonly modelText: string;
  readonly health: SamplingHealth;
}

/** One host's metrics and its sampling metrics (unlabelled): a /probe?target= body. */
export function hostPage(host: HostPageInput): string {
  const sampling = new ExpositionWriter();
  writeSamplingMetrics(sampling, host.health);
  return host.modelText + sampling.text(SAMPLING_FAMILIES);
}

/** The /metrics body of an exporter that samples one host: that host's page, and the exporter's own metrics. */
export async function singleHostMetricsPage(host: HostPageInput, exporter: ExporterInfo): Promise<string> {
  return hostPage(host) + (await exporterText(exporter));
}

/**
 * The /metrics body of an exporter that samples several hosts (--config.file): each host's sampling
 * metrics with a `host` label (the /probe target), so that one scrape shows which hosts fail, and the
 * exporter's own metrics. The hosts' VM metrics are at /probe?target=.
 */
export async function multiHostMetricsPage(
  hosts: ReadonlyArray<{ readonly name: string; readonly health: SamplingHealth }>,
  exporter: ExporterInfo,
  clusterDiscovery: boolean | null,
): Promise<string> {
  const sampling = new ExpositionWriter();
  for (const host of hosts) writeSamplingMetrics(sampling, host.health, { host: host.name });
  const discovery = new ExpositionWriter();
  if (clusterDiscovery !== null) discovery.sample(CLUSTER_DISCOVERY_FAMILY, '', clusterDiscovery ? 1 : 0);
  return sampling.text(SAMPLING_FAMILIES) + discovery.text([CLUSTER_DISCOVERY_FAMILY]) + (await exporterText(exporter));
}

/** hyperv_cluster_discovery_success: only with cluster.discover, after the first read. */
export const CLUSTER_DISCOVERY_FAMILY = gauge('hyperv_cluster_discovery_success', 'Whether the last read of the failover cluster\'s nodes (cluster.discover) succeeded; the hosts of the last good read are sampled meanwhile.');
