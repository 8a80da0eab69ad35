#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2 --heap-growing-percent=25
// The runtime settings above keep memory small and flat at 1024 VMs (docs/performance.md): a 2 MiB
// young generation, an old generation let grow 25% over what is live before it is collected, and on
// Linux glibc with two arenas and every block of 128 KiB or more mapped on its own (so given back when
// freed). `env -S` applies them when the file is run as a program; npm's Windows shims copy them too.
// The Dockerfile, the Windows service and `npm start` use the same (src/runtimeSettings.ts reads them).
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createRequestListener } from './app';
import { FlagError, helpText, parseCommandLine } from './cli/flags';
import type { Config } from './config';
import { Diagnostics } from './document/diagnostics';
import { decodeRawSample, parseDocument } from './document/parse';
import { serializeDocument } from './document/serialize';
import { isRecord } from './document/wire';
import { createLogger } from './logger';
import { missingSettings, runtimeSettingsOf } from './runtimeSettings';
import { ExporterMetrics } from './metrics/exporterMetrics';
import { ScrapeBody } from './metrics/scrapeBody';
import { SharedRender } from './metrics/sharedRender';
import { Sampler } from './sampling/sampler';
import { SampleProcessor } from './sampling/sampleProcessor';
import { Scheduler } from './sampling/scheduler';
import { createHttpServer } from './server/httpServer';
import { loadWebConfig } from './server/webConfig';
import { createSource } from './sources/createSource';
import type { SampleSource } from './sources/source';
import { VERSION } from './version';

const FORCED_EXIT_MS = 10_000;

function fail(message: string, code: number): never {
  process.stderr.write(`hyperv-ic-exporter: ${message}\n`);
  process.exit(code);
}

/** `sample`: one sample document from the configured source to stdout, as the source produced it. */
async function printOneSample(source: SampleSource, config: Config): Promise<void> {
  const raw = await source.sample(AbortSignal.timeout(config.sample.timeoutMs));
  // The layout collect.ps1 writes (one instance per line), so a recording replays the same way.
  const text = 'text' in raw ? raw.text : isRecord(raw.document) ? serializeDocument(raw.document) : JSON.stringify(raw.document);
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  // Say on stderr when the document would not be accepted, so a recording for a bug report is checked.
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

async function serve(config: Config, source: SampleSource, logger: Logger): Promise<void> {
  // Validated before anything listens: a broken web config must not leave an open, unauthenticated port.
  const webConfig = config.web.configFile === undefined ? undefined : await loadWebConfig(config.web.configFile);
  const metrics = new ExporterMetrics({ version: VERSION, source: config.source, processMetrics: !config.web.disableExporterMetrics });
  const body = new ScrapeBody();
  const sampler = new Sampler({ source, processor: new SampleProcessor(), metrics, body, logger });
  const scheduler = new Scheduler(config.sample, sampler);
  // Scrapes close together share one rendering of the exporter's own metrics, renewed after every sample.
  const exporterMetricsText = new SharedRender(() => metrics.render(), { maxAgeMs: 1000, version: () => sampler.outcomes });
  const listener = createRequestListener({
    telemetryPath: config.web.telemetryPath,
    version: VERSION,
    source: config.source,
    state: () => sampler.state,
    body,
    exporterMetricsText: () => exporterMetricsText.get(),
    logger,
  });
  const server = createHttpServer(listener, { webConfig, maxRequests: config.web.maxRequests, logger });

  // Before listening: a signal that comes while the exporter starts (docker stop right after docker
  // run, a supervisor that gives up) must find its handler, or the process dies without cleaning up.
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
    await scheduler.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
    await closed;
    await source.close();
    logger.info('stopped');
    logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
  await listen(server, config);
  const address = server.address();
  logger.info({ address, source: config.source, version: VERSION }, 'listening');
  if (!stopping) scheduler.start();
}

async function main(argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (error instanceof FlagError) fail(`${error.message} (see --help)`, 2);
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

  if (config.sourceDefaulted && config.source === 'simulator' && config.command === 'serve') {
    logger.warn('no --source given and this is not Windows: serving the built-in simulated host; use --source=powershell on a Hyper-V host');
  }
  if (config.command === 'serve') {
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
  const source = createSource(config, logger);
  if (config.command === 'sample') {
    try {
      await printOneSample(source, config);
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error), 1);
    } finally {
      await source.close();
    }
    return;
  }
  try {
    await serve(config, source, logger);
  } catch (error) {
    await source.close();
    fail(`cannot start: ${error instanceof Error ? error.message : String(error)}`, 1);
  }
}

void main(process.argv.slice(2));
