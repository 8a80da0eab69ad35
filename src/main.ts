#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2 --heap-growing-percent=25
// The runtime settings above keep memory small and flat at 1024 VMs (docs/performance.md): a 2 MiB
// young generation, an old generation let grow 25% over what is live before it is collected, and on
// Linux glibc with two arenas and every block of 128 KiB or more mapped on its own (so given back when
// freed). `env -S` applies them when the file is run as a program; npm's Windows shims copy them too.
// The Dockerfile, the Windows service and `npm start` use the same (src/runtimeSettings.ts reads them).

// First of all: with a listener, SIGUSR1 no longer opens Node's inspector, through which any local
// user could run code as the exporter's account.
process.on('SIGUSR1', () => undefined);

import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createRequestListener, oneHostView, type AppDependencies } from './app';
import { FlagError, helpText, parseCommandLine } from './cli/flags';
import { kvpExportKeys, type Config } from './config';
import { HostsFileError, loadHostsFile, type HostConfig, type HostSourceConfig } from './config/hostsFile';
import type { SampleSource } from './contract/sample';
import { Diagnostics } from './document/diagnostics';
import { decodeRawSample, parseDocument } from './document/parse';
import { createLogger } from './logger';
import { COLLECTORS } from './metrics/collectors';
import { hostPage, multiHostMetricsPage, singleHostMetricsPage, type ExporterInfo } from './metrics/pages';
import { ProcessMetrics } from './metrics/processMetrics';
import type { KvpExport } from './model/kvpExport';
import { missingSettings, runtimeSettingsOf } from './runtimeSettings';
import { ClusterDiscovery } from './sampling/clusterDiscovery';
import type { HostState } from './sampling/currentSample';
import { HostSampler } from './sampling/hostSampler';
import { HostSet, type HostSpec } from './sampling/hostSet';
import { Scheduler } from './sampling/scheduler';
import { Slots } from './sampling/slots';
import { createReloadableHttpServer, type HttpServerHandle } from './server/httpServer';
import { loadWebConfig } from './server/webConfig';
import { createSource, type SourceOptions } from './sources/createSource';
import { readClusterNodes } from './sources/powershell/clusterNodes';
import type { PowerShellPool } from './sources/powershell/pool';
import { createPowerShellPool } from './sources/powershell/powershellSource';
import { VERSION } from './version';

const FORCED_EXIT_MS = 10_000;

/** A start-up failure: main prints its one line and ends with this exit code. */
class StartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function sourceOptionsOf(config: Config): SourceOptions {
  switch (config.source) {
    case 'replay':
      return { kind: 'replay', file: config.replay.file ?? '' };
    case 'simulator':
      return { kind: 'simulator', vms: config.simulator.vms, seed: config.simulator.seed };
    case 'powershell':
      return { kind: 'powershell', executable: config.powershell.path, computerName: config.powershell.computerName, recycleAfterSamples: config.powershell.recycleAfterSamples };
  }
}

/** `sample`: one Full sample document from the configured source to stdout, as the source produced it. */
async function printOneSample(source: SampleSource, config: Config): Promise<void> {
  const raw = await source.sample('full', AbortSignal.timeout(config.sample.timeoutMs));
  const text = 'text' in raw ? raw.text : JSON.stringify(raw.document);
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  // Say on stderr when the document would not be accepted, so that a recording for a bug report is checked.
  parseDocument(decodeRawSample(raw), new Diagnostics());
}

async function listen(server: Server, config: Config): Promise<void> {
  const { host, port } = config.web.listenAddress;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (host === '') server.listen(port, resolve);
    else server.listen(port, host, resolve);
  });
}

/** What serve() runs: the app's view of the samples, and how to reload and stop it. */
interface Sampling {
  readonly view: Omit<AppDependencies, 'telemetryPath' | 'version' | 'logger'>;
  /** SIGHUP: read --config.file again (multi-host only); a file that does not validate keeps the running hosts. */
  readonly reload: () => Promise<void>;
  readonly stop: () => Promise<void>;
}

/** One host, from the --source flags: /metrics serves its metrics and the exporter's own. */
async function sampleOneHost(config: Config, exporter: ExporterInfo, kvpExport: KvpExport, logger: Logger): Promise<Sampling> {
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

/** Whether a cluster node is the machine the exporter runs on (then it is sampled locally, not over WinRM). */
function isThisComputer(name: string): boolean {
  const local = hostname().toLowerCase();
  const node = name.toLowerCase();
  return node === local || node === local.split('.')[0] || node.split('.')[0] === local;
}

/** The hosts of --config.file (and of the failover cluster): each served at /probe?target=, /metrics has the exporter's own. */
async function sampleManyHosts(config: Config, configFile: string, exporter: ExporterInfo, kvpExport: KvpExport, logger: Logger): Promise<Sampling> {
  const timing = { intervalMs: config.sample.intervalMs, timeoutMs: config.sample.timeoutMs, fullIntervalMs: config.sample.fullIntervalMs, maxAgeMs: config.sample.maxAgeMs };
  let file = await loadHostsFile(configFile, timing);
  // One pool of PowerShell processes for every host, as many as samples may run at once.
  let pool: PowerShellPool | null = null;
  const powershellPool = (): PowerShellPool =>
    (pool ??= createPowerShellPool({ executable: config.powershell.path, recycleAfterSamples: config.powershell.recycleAfterSamples, size: config.sample.concurrency, logger }));
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
        const configuredNames = new Set(file.hosts.map((host) => host.name.toLowerCase()));
        const discovered = nodes.filter((node) => !configuredNames.has(node.name.toLowerCase()));
        for (const node of discovered) {
          if (!sources.has(node.name.toLowerCase()) || file.hosts.every((host) => host.name.toLowerCase() !== node.name.toLowerCase())) {
            sources.set(node.name.toLowerCase(), isThisComputer(node.name) ? { kind: 'powershell' } : { kind: 'powershell', computerName: node.name });
          }
        }
        await hostSet.setDiscovered(discovered.map((node) => specOf({ name: node.name, source: sources.get(node.name.toLowerCase())!, ...timing }, 'discovered')));
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
      let next;
      try {
        next = await loadHostsFile(configFile, timing);
      } catch (error) {
        logger.error({ err: error instanceof HostsFileError ? undefined : error }, `SIGHUP: ${(error as Error).message}; keeping the running hosts`);
        return;
      }
      file = next;
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

async function serve(config: Config, logger: Logger): Promise<void> {
  // Validated before anything listens: a broken web config must not leave an open, unauthenticated port.
  const webConfig = config.web.configFile === undefined ? undefined : await loadWebConfig(config.web.configFile);
  const exporter: ExporterInfo = {
    version: VERSION,
    source: config.configFile === undefined ? config.source : 'config',
    processMetrics: config.web.disableExporterMetrics ? null : new ProcessMetrics(),
  };
  const kvpExport = { keys: config.kvp.exportKeys === undefined ? null : kvpExportKeys(config.kvp.exportKeys), maxPerVm: config.kvp.exportMaxPerVm };

  // Before anything starts: a signal that comes while the exporter starts (docker stop right after
  // docker run, a supervisor that gives up) must find its handler, or the process dies without cleaning up.
  let sampling: Sampling | null = null;
  let server: Server | null = null;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, FORCED_EXIT_MS).unref();
    const running = server;
    if (running !== null) {
      const closed = new Promise<void>((resolve) => running.close(() => resolve()));
      running.closeIdleConnections();
      setTimeout(() => running.closeAllConnections(), 1000).unref();
      await Promise.all([closed, sampling?.stop()]);
    } else {
      await sampling?.stop();
    }
    logger.info('stopped');
    logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
  // SIGHUP reloads, as Prometheus and its exporters do, instead of ending the process.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      if (stopping || sampling === null) return;
      logger.info('SIGHUP: reloading');
      await sampling.reload();
      if (config.web.configFile !== undefined && http !== null) await http.reloadWebConfig();
    });
  });

  let http: HttpServerHandle | null = null;
  sampling = config.configFile === undefined ? await sampleOneHost(config, exporter, kvpExport, logger) : await sampleManyHosts(config, config.configFile, exporter, kvpExport, logger);
  if (stopping) return;
  const listener = createRequestListener({ telemetryPath: config.web.telemetryPath, version: VERSION, logger, ...sampling.view });
  http = createReloadableHttpServer(listener, { webConfig, maxRequests: config.web.maxRequests, logger, webConfigFile: config.web.configFile });
  const listening = http.server;
  server = listening;
  await listen(listening, config);
  logger.info({ address: listening.address(), source: exporter.source, version: VERSION }, 'listening');
}

function logStartNotes(config: Config, logger: Logger): void {
  if (config.sourceDefaulted && config.configFile === undefined && config.source === 'simulator' && config.command === 'serve') {
    logger.warn('no --source given and this is not Windows: serving the built-in simulated host; use --source=powershell on a Hyper-V host');
  }
  if (config.command !== 'serve') return;
  // Started some other way than shipped (a hand-written service wrapper, say): say what it costs.
  let missing: string[] = [];
  try {
    missing = missingSettings(runtimeSettingsOf(__filename), process);
  } catch {
    // This file without its first line (bundled, say): nothing to compare with.
  }
  if (missing.length > 0) {
    logger.info({ missing }, 'started without the runtime settings of docs/performance.md#runtime-settings; memory use will be higher (about twice at 1024 VMs)');
  }
}

async function main(argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (error instanceof FlagError) throw new StartError(`${error.message} (see --help)`, 2);
    throw error;
  }
  if (parsed.kind === 'help') return void process.stdout.write(helpText());
  if (parsed.kind === 'version') return void process.stdout.write(`hyperv-ic-exporter ${VERSION}\n`);
  const config = parsed.config;
  const logger = createLogger(config.log);
  // Never half-alive: an error nothing handled is logged and ends the process.
  const crash = (error: unknown): void => {
    logger.fatal({ err: error }, 'unexpected error; exiting');
    logger.flush();
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  logStartNotes(config, logger);

  if (config.command === 'sample') {
    if (config.configFile !== undefined) throw new StartError('sample takes one host from the --source flags, not --config.file (see --help)', 2);
    const source = createSource(sourceOptionsOf(config), logger);
    try {
      await printOneSample(source, config);
    } catch (error) {
      throw new StartError(error instanceof Error ? error.message : String(error), 1);
    } finally {
      await source.close();
    }
    return;
  }
  try {
    await serve(config, logger);
  } catch (error) {
    throw new StartError(`cannot start: ${error instanceof Error ? error.message : String(error)}`, 1);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // One short line, and the exit only once it has been written whole.
  const line = message.split('\n')[0] ?? '';
  const code = error instanceof StartError ? error.exitCode : 1;
  process.stderr.write(`hyperv-ic-exporter: ${line.length > 500 ? `${line.slice(0, 500)}…` : line}\n`, () => process.exit(code));
});
