#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=8 --heap-growing-percent=25
// The runtime settings above keep memory small and flat at 1024 VMs (docs/performance.md): an 8 MiB
// young generation, an old generation let grow 25% over what is live before it is collected, and on
// Linux glibc with two arenas and every block of 128 KiB or more mapped on its own (so given back when
// freed). `env -S` applies them when the file is run as a program; npm's Windows shims copy them too.
// The Dockerfile, the Windows service and `npm start` use the same (src/runtimeSettings.ts reads them).

// First of all: with a listener, SIGUSR1 no longer opens Node's inspector, through which any local
// user could run code as the exporter's account.
process.on('SIGUSR1', () => undefined);
// SIGHUP reloads once the exporter runs (serve, below); one that comes while it starts does nothing.
process.on('SIGHUP', () => undefined);

import type { Server } from 'node:http';
import inspector from 'node:inspector';
import type { Logger } from 'pino';
import { createRequestListener, RELOAD_PATH, requestClassesOf, type ReloadOutcome } from './app';
import { FlagError, helpText, parseCommandLine } from './cli/flags';
import { listenFailure } from './cli/listenAddress';
import type { Config } from './config';
import { HostsFileError } from './config/hostsFile';
import type { SampleSource } from './contract/sample';
import { Diagnostics } from './document/diagnostics';
import { decodeRawSample, parseDocument } from './document/parse';
import { sampleManyHosts, sampleOneHost, sourceOptionsOf, type Sampling } from './hosts';
import { createLogger } from './logger';
import type { ConfigReloadState } from './metrics/configReload';
import type { ExporterInfo } from './metrics/pages';
import { ProcessMetrics } from './metrics/processMetrics';
import { missingSettings, runtimeSettingsOf } from './runtimeSettings';
import { createReloadableHttpServer, type HttpServerHandle } from './server/httpServer';
import { loadWebConfig, WebConfigError } from './server/webConfig';
import { createSource } from './sources/createSource';
import { VERSION } from './version';
import { runsAsLocalSystem } from './windowsAccount';

const FORCED_EXIT_MS = 10_000;
/** Set by the Windows service host: the end of stdin is a request to stop. */
const STOP_ON_STDIN_EOF = 'HYPERV_IC_EXPORTER_STOP_ON_STDIN_EOF';

/** A start-up failure: main prints its one line and ends with this exit code. */
class StartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
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

/**
 * A SIGUSR1 that came while node started, before the listener above, has opened the inspector (it
 * stays open for the life of the process): close it, unless someone started node with --inspect.
 */
function closeInspectorOpenedBySignal(): void {
  const askedFor = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((option) => option.startsWith('--inspect'));
  if (!askedFor && inspector.url() !== undefined) inspector.close();
}
closeInspectorOpenedBySignal();
// Node opens it on the main thread at its next chance: look again once that has passed.
setImmediate(closeInspectorOpenedBySignal);

async function listen(server: Server, config: Config): Promise<void> {
  const { host, port } = config.web.listenAddress;
  await new Promise<void>((resolve, reject) => {
    // EADDRINUSE and the like: one line naming --web.listen-address and what to do.
    server.once('error', (error) => reject(new Error(listenFailure(error, config.web.listenAddress) ?? error.message, { cause: error })));
    if (host === '') server.listen(port, resolve);
    else server.listen(port, host, resolve);
  });
}

async function serve(config: Config, logger: Logger): Promise<void> {
  // Validated before anything listens: a broken web config must not leave an open, unauthenticated port.
  const webConfig = config.web.configFile === undefined ? undefined : await loadWebConfig(config.web.configFile);
  // The files were read just now: as a successful reload, which is what blackbox_exporter reports at start.
  let lastReload: ConfigReloadState = { successful: true, lastSuccessSeconds: Date.now() / 1000 };
  const exporter: ExporterInfo = {
    version: VERSION,
    source: config.configFile === undefined ? config.source : 'config',
    processMetrics: config.web.disableExporterMetrics ? null : new ProcessMetrics(),
    configReload: () => lastReload,
  };

  // Before anything starts: a signal that comes while the exporter starts (docker stop right after
  // docker run, a supervisor that gives up) must find its handler, or the process dies without cleaning up.
  let sampling: Sampling | null = null;
  let server: Server | null = null;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals | 'stdin closed'): Promise<void> => {
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
  // Ctrl+Break in a Windows console (Ctrl+C is SIGINT there too).
  if (process.platform === 'win32') process.on('SIGBREAK', (signal) => void shutdown(signal));
  // The Windows service host (hyperv-ic-exporter-service.exe) asks for a stop by closing this
  // process's stdin: a service has no console to send Ctrl+C to, and Windows has no SIGTERM.
  if (process.env[STOP_ON_STDIN_EOF] === '1') {
    process.stdin.on('end', () => void shutdown('stdin closed'));
    process.stdin.on('error', () => void shutdown('stdin closed'));
    process.stdin.resume();
  }
  // SIGHUP reloads, as Prometheus and its exporters do, instead of ending the process; so does
  // POST /-/reload with --web.enable-lifecycle (Windows has no SIGHUP). One reload at a time.
  let http: HttpServerHandle | null = null;
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (trigger: string): Promise<ReloadOutcome> => {
    const run = async (): Promise<ReloadOutcome> => {
      // A SIGHUP while the exporter starts does nothing (the files are being read for the first time).
      if (sampling === null) return { ok: false, reason: 'the exporter is still starting' };
      if (stopping) return { ok: false, reason: 'the exporter is shutting down' };
      logger.info(`${trigger}: reloading`);
      const running = sampling;
      const failures: string[] = [];
      // Each file on its own: one that does not validate keeps its running configuration, the other is applied.
      for (const [what, step] of [
        ['hosts', () => running.reload()],
        ['web config', async () => http?.reloadWebConfig()],
      ] as const) {
        try {
          await step();
        } catch (error) {
          // A file that does not validate says so in one line; anything else is logged with its stack.
          const known = error instanceof HostsFileError || error instanceof WebConfigError;
          const reason = known ? error.message : `${what} not reloaded: ${(error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''}`;
          logger.error({ err: known ? undefined : error }, `${trigger}: ${reason}; keeping the running configuration`);
          failures.push(reason);
        }
      }
      lastReload = failures.length === 0 ? { successful: true, lastSuccessSeconds: Date.now() / 1000 } : { ...lastReload, successful: false };
      return failures.length === 0 ? { ok: true } : { ok: false, reason: failures.join('; ') };
    };
    const outcome = reloading.then(run, run);
    reloading = outcome.catch(() => undefined);
    return outcome;
  };
  process.on('SIGHUP', () => void reload('SIGHUP'));

  sampling = config.configFile === undefined ? await sampleOneHost({ config, exporter, logger }) : await sampleManyHosts({ config, exporter, logger }, config.configFile);
  if (stopping) return;
  const app = createRequestListener({
    telemetryPath: config.web.telemetryPath,
    version: VERSION,
    logger,
    ...sampling.view,
    ...(config.web.enableLifecycle ? { reload: () => reload(`POST ${RELOAD_PATH}`) } : {}),
  });
  http = createReloadableHttpServer(app, {
    webConfig,
    maxRequests: config.web.maxRequests,
    logger,
    webConfigFile: config.web.configFile,
    // POST reaches the app on this path alone, which answers it 403 unless --web.enable-lifecycle.
    pathMethods: new Map([[RELOAD_PATH, ['POST']]]),
    requestClasses: requestClassesOf(app),
  });
  const listening = http.server;
  server = listening;
  await listen(listening, config);
  closeInspectorOpenedBySignal();
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
  // Allowed (it is the MSI's default, as windows_exporter's), but never silent.
  if (runsAsLocalSystem(process.platform, process.env)) {
    logger.warn(
      'running as LocalSystem, which can do anything on this host; the exporter needs only Hyper-V Administrators: docs/windows-service.md#least-privilege moves it to its virtual account',
    );
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
  for (const warning of parsed.warnings) logger.warn(warning);

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
    // A mistake in --config.file is one of the configuration, as a bad flag is: exit 2.
    if (error instanceof HostsFileError) throw new StartError(error.message, 2);
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
