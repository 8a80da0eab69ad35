import { parseArgs } from 'node:util';
import { configSchema, kvpExportKeys, type Config } from '../config';
import { abbreviate, InvalidHostAddressError, validateHostAddress } from '../contract/hostAddress';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration';
import { parseListenAddress } from './listenAddress';

/** A flag error: main prints the message as one line and exits 2. */
export class FlagError extends Error {}

interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly default?: string;
  readonly help: string;
}

export const FLAGS = {
  'config.file': {
    type: 'string',
    help: 'YAML file of the hosts to sample (local, remote over WinRM, replay, simulator; and the nodes of the local failover cluster); each is probed at /probe?target=NAME.',
  },
  source: { type: 'string', help: 'Where samples come from: powershell, replay or simulator (default: powershell on Windows, simulator elsewhere).' },
  'replay.file': { type: 'string', help: 'Sample document to serve with --source=replay; read again at every sample.' },
  'simulator.vms': { type: 'string', default: '12', help: 'Number of VMs of the simulated host.' },
  'simulator.seed': { type: 'string', default: '1', help: 'Seed of the simulated host (same seed, same VMs).' },
  'powershell.path': { type: 'string', help: 'PowerShell executable (default: powershell.exe on Windows, pwsh elsewhere).' },
  'powershell.computer-name': { type: 'string', help: 'Query this Hyper-V host through a CIM session (WinRM) instead of the local one.' },
  'powershell.recycle-after': { type: 'string', default: '1000', help: 'Start a fresh PowerShell process after this many samples.' },
  'sample.interval': { type: 'string', default: '15s', help: 'How often to sample the host.' },
  'sample.timeout': { type: 'string', default: '30s', help: 'How long one sample may take before it is abandoned.' },
  'sample.max-age': { type: 'string', default: '5m', help: 'Stop serving VM metrics when the last good sample is older than this (0s: never).' },
  'sample.full-interval': {
    type: 'string',
    default: '5m',
    help: 'How often to take a Full sample (settings and KVP items); the samples between are cheaper Status samples (0s: every sample is Full).',
  },
  'sample.concurrency': { type: 'string', default: '4', help: 'Most samples in flight at once across hosts; also the number of PowerShell processes.' },
  'kvp.export-keys': {
    type: 'string',
    help: 'Export the KVP items whose whole name matches this regular expression, with their values, as hyperv_vm_kvp_item_info (default: none).',
  },
  'kvp.export-max-per-vm': { type: 'string', default: '32', help: 'Most KVP items exported per VM with --kvp.export-keys; the rest are counted as dropped.' },
  'web.listen-address': { type: 'string', default: ':10062', help: 'Address to listen on for the web interface and telemetry.' },
  'web.telemetry-path': { type: 'string', default: '/metrics', help: 'Path under which to expose metrics.' },
  'web.config.file': { type: 'string', help: 'Web configuration file (exporter-toolkit format) for TLS and basic authentication.' },
  'web.disable-exporter-metrics': { type: 'boolean', help: 'Leave out the process_* and nodejs_* metrics of the exporter itself.' },
  'web.max-requests': { type: 'string', default: '40', help: 'Most concurrent HTTP requests; more get 503 (0: no limit).' },
  'log.level': { type: 'string', default: 'info', help: 'Log level: debug, info, warn or error.' },
  'log.format': { type: 'string', default: 'json', help: 'Log format: json or pretty.' },
  help: { type: 'boolean', help: 'Show this help and exit.' },
  version: { type: 'boolean', help: 'Show the version and exit.' },
} as const satisfies Record<string, FlagSpec>;

export type ParsedCommandLine = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: Config };

function integer(name: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new FlagError(`--${name} must be a whole number, got ${abbreviate(text)}`);
  return Number(text);
}

function duration(name: string, text: string): number {
  const ms = parseDuration(text === '0' ? '0s' : text);
  if (ms === null) throw new FlagError(`--${name} must be a duration such as 500ms, 15s, 1m or 2h, got ${abbreviate(text)}`);
  if (ms > MAX_DURATION_MS) throw new FlagError(`--${name} must be at most ${formatDuration(MAX_DURATION_MS)} (the longest timer Node can set), got ${abbreviate(text)}`);
  return ms;
}

/** --kvp.export-keys, checked to be a regular expression (kept as text: the model compiles it). */
function exportKeys(pattern: string | undefined): string | undefined {
  if (pattern === undefined) return undefined;
  try {
    kvpExportKeys(pattern);
  } catch (error) {
    throw new FlagError(`--kvp.export-keys is not a regular expression: ${oneLine((error as Error).message)}`);
  }
  return pattern;
}

/**
 * argv (without node and the script) → a validated Config. Accepts `--flag=value` and `--flag value`;
 * `sample` as the first argument selects the sample subcommand. Throws FlagError with one clear line.
 */
export function parseCommandLine(argv: readonly string[], platform: NodeJS.Platform = process.platform): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new FlagError(oneLine((error as Error).message));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'sample')) {
    throw new FlagError(`unexpected argument ${abbreviate(positionals.find((p) => p !== 'sample') ?? positionals[1] ?? '')}; the only subcommand is "sample"`);
  }
  const value = (name: keyof typeof FLAGS): string => {
    const v = values[name];
    if (typeof v === 'string') return v;
    const spec: FlagSpec = FLAGS[name];
    return spec.default ?? '';
  };
  const computerName = values['powershell.computer-name'];
  if (computerName !== undefined) {
    try {
      validateHostAddress(computerName);
    } catch (error) {
      if (error instanceof InvalidHostAddressError) throw new FlagError(`--powershell.computer-name: ${error.message}`);
      throw error;
    }
  }
  const listen = parseListenAddress(value('web.listen-address'));
  if (listen === null) throw new FlagError(`--web.listen-address must be [host]:port, got ${abbreviate(value('web.listen-address'))}`);
  try {
    if (listen.host !== '') validateHostAddress(listen.host);
  } catch (error) {
    if (error instanceof InvalidHostAddressError) throw new FlagError(`--web.listen-address: ${error.message}`);
    throw error;
  }

  const candidate = {
    command: positionals[0] === 'sample' ? 'sample' : 'serve',
    source: values.source ?? (platform === 'win32' ? 'powershell' : 'simulator'),
    sourceDefaulted: values.source === undefined,
    replay: { file: values['replay.file'] },
    simulator: { vms: integer('simulator.vms', value('simulator.vms')), seed: integer('simulator.seed', value('simulator.seed')) },
    powershell: {
      path: values['powershell.path'],
      computerName: values['powershell.computer-name'],
      recycleAfterSamples: integer('powershell.recycle-after', value('powershell.recycle-after')),
    },
    sample: {
      intervalMs: duration('sample.interval', value('sample.interval')),
      timeoutMs: duration('sample.timeout', value('sample.timeout')),
      maxAgeMs: duration('sample.max-age', value('sample.max-age')),
      fullIntervalMs: duration('sample.full-interval', value('sample.full-interval')),
      concurrency: integer('sample.concurrency', value('sample.concurrency')),
    },
    configFile: values['config.file'],
    web: {
      listenAddress: listen,
      telemetryPath: value('web.telemetry-path'),
      configFile: values['web.config.file'],
      disableExporterMetrics: values['web.disable-exporter-metrics'] === true,
      maxRequests: integer('web.max-requests', value('web.max-requests')),
    },
    kvp: { exportKeys: exportKeys(values['kvp.export-keys']), exportMaxPerVm: integer('kvp.export-max-per-vm', value('kvp.export-max-per-vm')) },
    log: { level: value('log.level'), format: value('log.format') },
  };
  const result = configSchema.safeParse(candidate);
  if (!result.success) {
    const issue = result.error.issues[0];
    const flag = issue === undefined ? '' : flagNameOf(issue.path);
    throw new FlagError(oneLine(issue?.code === 'custom' ? issue.message : `${flag}: ${issue?.message ?? 'invalid value'}`));
  }
  return { kind: 'run', config: result.data };
}

const FLAG_BY_PATH: Readonly<Record<string, string>> = {
  source: '--source',
  'simulator.vms': '--simulator.vms',
  'simulator.seed': '--simulator.seed',
  'powershell.recycleAfterSamples': '--powershell.recycle-after',
  'sample.intervalMs': '--sample.interval',
  'sample.timeoutMs': '--sample.timeout',
  'sample.maxAgeMs': '--sample.max-age',
  'sample.fullIntervalMs': '--sample.full-interval',
  'sample.concurrency': '--sample.concurrency',
  'web.listenAddress.port': '--web.listen-address',
  'web.maxRequests': '--web.max-requests',
  'kvp.exportMaxPerVm': '--kvp.export-max-per-vm',
  'log.level': '--log.level',
  'log.format': '--log.format',
};

/** The first line of a message, at most 300 characters: error lines stay one short line. */
function oneLine(message: string): string {
  const first = message.split('\n')[0] ?? '';
  return first.length <= 300 ? first : `${first.slice(0, 300)}…`;
}

function flagNameOf(path: ReadonlyArray<PropertyKey>): string {
  const key = path.map(String).join('.');
  return FLAG_BY_PATH[key] ?? key;
}

export function helpText(): string {
  const lines = Object.entries(FLAGS).map(([name, spec]: [string, FlagSpec]) => {
    const flag = spec.type === 'string' ? `--${name}=VALUE` : `--${name}`;
    const fallback = spec.default === undefined ? '' : ` (default ${spec.default})`;
    return `  ${flag.padEnd(38)} ${spec.help}${fallback}`;
  });
  return [
    'usage: hyperv-ic-exporter [sample] [flags]',
    '',
    'Prometheus exporter for Hyper-V integration components (heartbeat, KVP, time sync, shutdown, VSS,',
    'guest service interface) of every VM on a host. "sample" prints one sample document and exits.',
    '',
    'flags:',
    ...lines,
    '',
  ].join('\n');
}
