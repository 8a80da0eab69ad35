import type { Logger } from 'pino';
import type { Config } from './config';
import { loadHostsFile, type HostSourceConfig } from './config/hostsFile';
import type { SampleSource } from './contract/sample';
import { Slots } from './contract/slots';
import type { Limits } from './document/limits';
import { discoveredHosts } from './hosts/discoveredHosts';
import { PowerShellProcesses } from './hosts/powershellProcesses';
import { hostSourceOptionsOf, hostSpecOf, kvpExportOf, sourceOptionsOf, timingOf } from './hosts/specs';
import { COLLECTORS } from './metrics/collectors';
import type { ModelCollector } from './metrics/collectors/collector';
import { hostPage, multiHostMetricsPage, singleHostMetricsPage, type ExporterInfo } from './metrics/pages';
import type { KvpExport } from './model/kvpExport';
import { ClusterDiscovery } from './sampling/clusterDiscovery';
import type { CurrentSample } from './sampling/currentSample';
import { HostSampler } from './sampling/hostSampler';
import { HostSet } from './sampling/hostSet';
import { Scheduler } from './sampling/scheduler';
import type { ServedSamples } from './sampling/servedSamples';
import { createSource } from './sources/createSource';

export { sourceOptionsOf } from './hosts/specs';

/**
 * The samplers an exporter runs, and what the HTTP app serves of them: one host from the --source flags
 * (/metrics), or the hosts of --config.file and of the failover cluster (/probe?target=, /targets,
 * /metrics with each host's sampling health). main wires this to the HTTP server and the signals.
 * What a host is sampled with comes from hosts/specs.ts, which cluster nodes are hosts from
 * hosts/discoveredHosts.ts, and the PowerShell processes they share from hosts/powershellProcesses.ts.
 */

/** What serve() runs: the app's view of the samples, and how to reload and stop it. */
export interface Sampling {
  readonly view: ServedSamples;
  /**
   * Read --config.file again (multi-host only). A file that does not validate rejects (with the file's
   * one-line error) and keeps the running hosts; the caller logs and counts it.
   */
  readonly reload: () => Promise<void>;
  readonly stop: () => Promise<void>;
}

/** What the sampling of the hosts needs besides the configuration. */
export interface SamplingOptions {
  readonly config: Config;
  readonly exporter: ExporterInfo;
  readonly logger: Logger;
  /** For the tests: modules every PowerShell process imports before collect.ps1 (the CIM stand-ins). */
  readonly preloadModules?: readonly string[];
  /** For the tests (one host only): the host's source, instead of the one of the --source flags. */
  readonly source?: SampleSource;
}

/** What the app serves for one host (no --config.file): /metrics is that host's published body. */
export function oneHostView(source: string, current: () => CurrentSample | null): ServedSamples {
  return {
    source,
    metrics: () => current()?.body ?? null,
    hosts: () => [{ name: source, current: current() }],
    ready: () => current()?.ready === true,
  };
}

/** How the one host of --source is sampled, besides its source. */
export interface OneHostSamplerOptions {
  readonly exporter: ExporterInfo;
  readonly logger: Logger;
  readonly fullIntervalMs: number;
  readonly kvpExport?: KvpExport;
  /** For the tests: other collectors, limits or clock than the exporter's. */
  readonly collectors?: readonly ModelCollector[];
  readonly limits?: Limits;
  readonly now?: () => number;
}

/** The sampler of the one host of --source: its body is /metrics, its metrics and the exporter's own. */
export function oneHostSampler(source: SampleSource, options: OneHostSamplerOptions): HostSampler {
  const { exporter, ...rest } = options;
  return new HostSampler({ ...rest, host: source.name, source, collectors: options.collectors ?? COLLECTORS, bodyText: (state) => singleHostMetricsPage(state, exporter) });
}

/** One host, from the --source flags: /metrics serves its metrics and the exporter's own. */
export async function sampleOneHost({ config, exporter, logger, preloadModules, source: given }: SamplingOptions): Promise<Sampling> {
  // One host: one sample's work at a time, and one PowerShell process if it samples through PowerShell.
  const slots = new Slots(1);
  const powershell = new PowerShellProcesses(slots, { executable: config.powershell.path, recycleAfterSamples: config.powershell.recycleAfterSamples, preloadModules, logger });
  const source = given ?? createSource(sourceOptionsOf(config, () => powershell.pool()), logger);
  const sampler = oneHostSampler(source, { exporter, logger, fullIntervalMs: config.sample.fullIntervalMs, kvpExport: kvpExportOf(config) });
  await sampler.publishInitial();
  const scheduler = new Scheduler({ intervalMs: config.sample.intervalMs, timeoutMs: config.sample.timeoutMs, maxAgeMs: config.sample.maxAgeMs, slots }, sampler);
  scheduler.start();
  return {
    view: oneHostView(config.source, () => sampler.current),
    reload: async () => logger.info('reload: no --config.file to read again'),
    stop: async () => {
      await scheduler.stop();
      await source.close();
      await powershell.close();
    },
  };
}

/** The hosts of --config.file (and of the failover cluster): each served at /probe?target=, /metrics has the exporter's own. */
export async function sampleManyHosts({ config, exporter, logger, preloadModules }: SamplingOptions, configFile: string): Promise<Sampling> {
  const timing = timingOf(config);
  let file = await loadHostsFile(configFile, timing);
  for (const warning of file.warnings) logger.warn(warning);
  // One bound on the samples at once across the hosts; the PowerShell processes they share are as many.
  const slots = new Slots(config.sample.concurrency);
  const powershell = new PowerShellProcesses(slots, { executable: config.powershell.path, recycleAfterSamples: config.powershell.recycleAfterSamples, preloadModules, logger });
  let discovery: ClusterDiscovery | null = null;
  const hostSet = new HostSet<HostSourceConfig>({
    createSource: (source) => createSource(hostSourceOptionsOf(source, config, () => powershell.pool()), logger),
    slots,
    collectors: COLLECTORS,
    kvpExport: kvpExportOf(config),
    hostPage: async (state) => hostPage(state),
    exporterPage: (hosts) => multiHostMetricsPage(hosts.map(({ spec, state }) => ({ name: spec.name, health: state.health })), exporter, discovery?.lastSucceeded ?? null),
    logger,
  });
  const discover = async (refreshMs: number): Promise<void> => {
    discovery = new ClusterDiscovery({
      readNodes: (signal) => powershell.readClusterNodes(signal),
      onNodes: (nodes) => hostSet.setDiscovered(discoveredHosts(nodes, file.hosts, timing).map((host) => hostSpecOf(host, 'discovered'))),
      refreshMs,
      timeoutMs: config.sample.timeoutMs,
      logger: logger.child({ discovery: 'cluster' }),
    });
    await discovery.start();
  };

  await hostSet.setConfigured(file.hosts.map((host) => hostSpecOf(host, 'configured')));
  if (file.cluster.discover) await discover(file.cluster.refreshMs);
  return {
    view: {
      source: 'config',
      metrics: () => hostSet.exporter,
      hosts: () => hostSet.list().map(({ spec, current }) => ({ name: spec.name, current })),
      // Every host has been tried once: each answers /probe with what its first sample gave.
      ready: () => hostSet.list().every(({ current }) => current !== null && current.health.durationSeconds !== null),
      probe: (target) => hostSet.get(target),
      targets: () => hostSet.list().map(({ spec }) => ({ targets: [spec.name], labels: { __meta_hyperv_ic_origin: spec.origin } })),
    },
    reload: async () => {
      // A file that does not validate rejects with its one line; the running hosts are kept.
      file = await loadHostsFile(configFile, timing);
      for (const warning of file.warnings) logger.warn(`reload: ${warning}`);
      await hostSet.setConfigured(file.hosts.map((host) => hostSpecOf(host, 'configured')));
      if (file.cluster.discover && discovery === null) {
        await discover(file.cluster.refreshMs);
      } else if (!file.cluster.discover && discovery !== null) {
        discovery.stop();
        discovery = null;
        await hostSet.setDiscovered([]);
      }
      logger.info({ hosts: hostSet.list().length }, 'reload: hosts read again');
    },
    stop: async () => {
      discovery?.stop();
      await hostSet.close();
      await powershell.close();
    },
  };
}
