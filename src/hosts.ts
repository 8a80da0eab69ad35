import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { kvpExportKeys, type Config } from './config';
import { loadHostsFile, type HostConfig, type HostSourceConfig } from './config/hostsFile';
import { Slots } from './contract/slots';
import { COLLECTORS } from './metrics/collectors';
import { hostPage, multiHostMetricsPage, singleHostMetricsPage, type ExporterInfo } from './metrics/pages';
import type { KvpExport } from './model/kvpExport';
import { ClusterDiscovery } from './sampling/clusterDiscovery';
import type { Body, CurrentSample, HostState } from './sampling/currentSample';
import { HostSampler } from './sampling/hostSampler';
import { HostSet, type HostSpec } from './sampling/hostSet';
import { Scheduler } from './sampling/scheduler';
import { createSource, type SourceOptions } from './sources/createSource';
import { readClusterNodes } from './sources/powershell/clusterNodes';
import type { PowerShellPool } from './sources/powershell/pool';
import { createPowerShellPool } from './sources/powershell/powershellSource';

/**
 * The samplers an exporter runs, and what the HTTP app reads of them: one host from the --source flags
 * (/metrics), or the hosts of --config.file and of the failover cluster (/probe?target=, /targets,
 * /metrics with each host's sampling health). main wires this to the HTTP server and the signals.
 */

/** What the HTTP app serves (AppDependencies in app.ts, less what main adds). */
export interface SamplingView {
  readonly source: string;
  readonly metrics: () => Body | null;
  readonly hosts: () => ReadonlyArray<{ readonly name: string; readonly current: CurrentSample | null }>;
  readonly ready: () => boolean;
  readonly probe?: (target: string) => CurrentSample | null | undefined;
  readonly targets?: () => ReadonlyArray<{ readonly targets: readonly string[]; readonly labels: Readonly<Record<string, string>> }>;
}

/** What serve() runs: the app's view of the samples, and how to reload and stop it. */
export interface Sampling {
  readonly view: SamplingView;
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
}

/** What the app serves for one host (no --config.file): /metrics is that host's published body. */
export function oneHostView(source: string, current: () => CurrentSample | null): SamplingView {
  return {
    source,
    metrics: () => current()?.body ?? null,
    hosts: () => [{ name: source, current: current() }],
    ready: () => current()?.ready === true,
  };
}

function kvpExportOf(config: Config): KvpExport {
  return { keys: config.kvp.exportKeys === undefined ? null : kvpExportKeys(config.kvp.exportKeys), maxPerVm: config.kvp.exportMaxPerVm };
}

/** The source of the one host of the --source flags. */
export function sourceOptionsOf(config: Config): SourceOptions {
  switch (config.source) {
    case 'replay':
      return { kind: 'replay', file: config.replay.file ?? '' };
    case 'simulator':
      return { kind: 'simulator', vms: config.simulator.vms, seed: config.simulator.seed };
    case 'powershell':
      return { kind: 'powershell', executable: config.powershell.path, computerName: config.powershell.computerName, recycleAfterSamples: config.powershell.recycleAfterSamples };
  }
}

/** One host, from the --source flags: /metrics serves its metrics and the exporter's own. */
export async function sampleOneHost({ config, exporter, logger }: SamplingOptions): Promise<Sampling> {
  const kvpExport = kvpExportOf(config);
  const source = createSource(sourceOptionsOf(config), logger);
  const bodyText = (state: HostState): Promise<string> => singleHostMetricsPage(state, exporter);
  const sampler = new HostSampler({ host: config.source, source, collectors: COLLECTORS, fullIntervalMs: config.sample.fullIntervalMs, bodyText, kvpExport, logger });
  await sampler.publishInitial();
  const scheduler = new Scheduler(config.sample, sampler);
  scheduler.start();
  return {
    view: oneHostView(config.source, () => sampler.current),
    reload: async () => logger.info('SIGHUP: no --config.file to read again'),
    stop: async () => {
      await scheduler.stop();
      await source.close();
    },
  };
}

/** The spec of a configured host. */
function specOf(host: HostConfig, origin: HostSpec['origin']): HostSpec {
  return {
    name: host.name,
    intervalMs: host.intervalMs,
    timeoutMs: host.timeoutMs,
    fullIntervalMs: host.fullIntervalMs,
    maxAgeMs: host.maxAgeMs,
    origin,
    sourceKey: JSON.stringify(host.source),
  };
}

/** A host name without its domain, lower-cased: `HV01.corp.example` → `hv01`. */
function shortName(name: string): string {
  return (name.split('.')[0] ?? '').toLowerCase();
}

/** Whether a cluster node is the machine the exporter runs on (then it is sampled locally, not over WinRM). */
function isThisComputer(name: string): boolean {
  const local = hostname().toLowerCase();
  const node = name.toLowerCase();
  return node === local || node === shortName(local) || shortName(node) === local;
}

/** The hosts of --config.file (and of the failover cluster): each served at /probe?target=, /metrics has the exporter's own. */
export async function sampleManyHosts({ config, exporter, logger, preloadModules }: SamplingOptions, configFile: string): Promise<Sampling> {
  const kvpExport = kvpExportOf(config);
  const timing = { intervalMs: config.sample.intervalMs, timeoutMs: config.sample.timeoutMs, fullIntervalMs: config.sample.fullIntervalMs, maxAgeMs: config.sample.maxAgeMs };
  let file = await loadHostsFile(configFile, timing);
  for (const warning of file.warnings) logger.warn(warning);
  // One pool of PowerShell processes for every host, as many as samples may run at once.
  let pool: PowerShellPool | null = null;
  const powershellPool = (): PowerShellPool =>
    (pool ??= createPowerShellPool({ executable: config.powershell.path, recycleAfterSamples: config.powershell.recycleAfterSamples, size: config.sample.concurrency, preloadModules, logger }));
  const sources = new Map<string, HostSourceConfig>();
  const hostSet = new HostSet({
    createSource: (spec) => {
      const source = sources.get(spec.name.toLowerCase()) ?? { kind: 'powershell' };
      if (source.kind !== 'powershell') return createSource(source, logger);
      return createSource({ kind: 'powershell', computerName: source.computerName, recycleAfterSamples: config.powershell.recycleAfterSamples, pool: powershellPool() }, logger);
    },
    slots: new Slots(config.sample.concurrency),
    collectors: COLLECTORS,
    kvpExport,
    hostPage: async (state) => hostPage(state),
    exporterPage: (hosts) => multiHostMetricsPage(hosts.map(({ spec, state }) => ({ name: spec.name, health: state.health })), exporter, discoveryStatus()),
    logger,
  });
  const configure = async (hosts: readonly HostConfig[]): Promise<void> => {
    for (const host of hosts) sources.set(host.name.toLowerCase(), host.source);
    await hostSet.setConfigured(hosts.map((host) => specOf(host, 'configured')));
  };

  let discovery: ClusterDiscovery | null = null;
  const discoveryStatus = (): boolean | null => discovery?.lastSucceeded ?? null;
  const discover = (refreshMs: number): ClusterDiscovery =>
    new ClusterDiscovery({
      readNodes: (signal) => readClusterNodes(powershellPool(), signal),
      onNodes: async (nodes) => {
        // A node that a configured host already samples (by name, or by its address) is left to it.
        const configured = new Set(
          file.hosts.flatMap((host) => [
            host.name.toLowerCase(),
            ...(host.source.kind === 'powershell' && host.source.computerName !== undefined ? [host.source.computerName.toLowerCase(), shortName(host.source.computerName)] : []),
          ]),
        );
        const discovered = nodes.filter((node) => !configured.has(node.name.toLowerCase()) && !configured.has(shortName(node.name)));
        const specs = discovered.map((node) => {
          // This machine's own node is sampled locally, the others through WinRM.
          const source: HostSourceConfig = isThisComputer(node.name) ? { kind: 'powershell' } : { kind: 'powershell', computerName: node.name };
          sources.set(node.name.toLowerCase(), source);
          return specOf({ name: node.name, source, ...timing }, 'discovered');
        });
        await hostSet.setDiscovered(specs);
      },
      refreshMs,
      timeoutMs: config.sample.timeoutMs,
      logger: logger.child({ discovery: 'cluster' }),
    });

  await configure(file.hosts);
  if (file.cluster.discover) {
    discovery = discover(file.cluster.refreshMs);
    await discovery.start();
  }
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
      for (const warning of file.warnings) logger.warn(`SIGHUP: ${warning}`);
      await configure(file.hosts);
      if (file.cluster.discover && discovery === null) {
        discovery = discover(file.cluster.refreshMs);
        await discovery.start();
      } else if (!file.cluster.discover && discovery !== null) {
        discovery.stop();
        discovery = null;
        await hostSet.setDiscovered([]);
      }
      logger.info({ hosts: hostSet.list().length }, 'SIGHUP: hosts read again');
    },
    stop: async () => {
      discovery?.stop();
      await hostSet.close();
      await pool?.close();
    },
  };
}

