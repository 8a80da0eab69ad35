import { kvpExportKeys, LOG_FORMATS, LOG_LEVELS, type Config } from '../config';
import { abbreviate, InvalidHostAddressError, validateHostAddress } from '../contract/hostAddress';
import { SOURCE_NAMES } from '../contract/sample';
import { formatDuration, readDuration } from './duration';
import { readListenAddress, type ListenAddress } from './listenAddress';
import { closestNames } from './suggest';
import { got, listOf, readChoice, readInteger, ValueProblem } from './values';

/** A flag error: main prints the message as one line and exits 2. */
export class FlagError extends Error {}

/** The dotted paths into T whose value is a V (an optional value counts as its type): where a flag's value goes. */
type PathTo<T, V> = {
  [K in keyof T & string]-?: NonNullable<T[K]> extends V ? K : NonNullable<T[K]> extends object ? `${K}.${PathTo<NonNullable<T[K]>, V>}` : never;
}[keyof T & string];

interface About {
  /** The flag without its dashes: `sample.interval`. */
  readonly name: string;
  readonly help: string;
}

/**
 * One flag: its name, its type (how its text is read and checked, with a message a person reads), its
 * default (as text, read as if given; a function when it depends on the platform), its bounds, its
 * help and where its value goes in Config (`to`). A flag without a value and without a default leaves
 * its place in Config undefined.
 */
export type FlagSpec = About &
  (
    | { readonly type: 'boolean'; /** absent: an action (--help, --version) */ readonly to?: PathTo<Config, boolean> }
    | { readonly type: 'file'; readonly to: PathTo<Config, string> }
    | { readonly type: 'enum'; readonly values: readonly string[]; readonly default: string | ((platform: NodeJS.Platform) => string); readonly to: PathTo<Config, string> }
    | { readonly type: 'integer'; readonly default: string; readonly min: number; readonly max?: number; readonly to: PathTo<Config, number> }
    | { readonly type: 'duration'; readonly default: string; /** ms */ readonly min: number; readonly to: PathTo<Config, number> }
    | { readonly type: 'regex'; readonly to: PathTo<Config, string> }
    | { readonly type: 'host address'; readonly to: PathTo<Config, string> }
    | { readonly type: 'listen address'; readonly default: string; readonly to: PathTo<Config, ListenAddress> }
    | { readonly type: 'url path'; readonly default: string; readonly to: PathTo<Config, string> }
  );

/** Every flag, in the order of --help. README's flag table follows it (test/cli/flagTable.test.ts). */
export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'config.file',
    type: 'file',
    to: 'configFile',
    help: 'YAML file of the hosts to sample (local, remote over WinRM, replay, simulator; and the nodes of the local failover cluster); each is probed at /probe?target=NAME.',
  },
  {
    name: 'source',
    type: 'enum',
    values: SOURCE_NAMES,
    default: (platform) => (platform === 'win32' ? 'powershell' : 'simulator'),
    to: 'source',
    help: 'Where samples come from: powershell, replay or simulator (default: powershell on Windows, simulator elsewhere).',
  },
  { name: 'replay.file', type: 'file', to: 'replay.file', help: 'Sample document to serve with --source=replay; read again at every sample.' },
  { name: 'simulator.vms', type: 'integer', default: '12', min: 0, max: 100_000, to: 'simulator.vms', help: 'Number of VMs of the simulated host.' },
  { name: 'simulator.seed', type: 'integer', default: '1', min: 0, max: 0xffffffff, to: 'simulator.seed', help: 'Seed of the simulated host (same seed, same VMs).' },
  { name: 'powershell.path', type: 'file', to: 'powershell.path', help: 'PowerShell executable (default: powershell.exe on Windows, pwsh elsewhere).' },
  {
    name: 'powershell.computer-name',
    type: 'host address',
    to: 'powershell.computerName',
    help: 'Query this Hyper-V host through a CIM session (WinRM) instead of the local one.',
  },
  {
    name: 'powershell.recycle-after',
    type: 'integer',
    default: '1000',
    min: 1,
    to: 'powershell.recycleAfterSamples',
    help: 'Start a fresh PowerShell process after this many samples.',
  },
  { name: 'sample.interval', type: 'duration', default: '15s', min: 100, to: 'sample.intervalMs', help: 'How often to sample the host.' },
  {
    name: 'sample.timeout',
    type: 'duration',
    default: '10s',
    min: 100,
    to: 'sample.timeoutMs',
    help: 'How long one sample may take before it is abandoned; keep it shorter than --sample.interval.',
  },
  {
    name: 'sample.max-age',
    type: 'duration',
    default: '5m',
    min: 0,
    to: 'sample.maxAgeMs',
    help: 'Stop serving VM metrics when the last good sample is older than this (0s: never).',
  },
  {
    name: 'sample.full-interval',
    type: 'duration',
    default: '5m',
    min: 0,
    to: 'sample.fullIntervalMs',
    help: 'How often to take a Full sample (settings and KVP items); the samples between are cheaper Status samples (0s: every sample is Full).',
  },
  {
    name: 'sample.concurrency',
    type: 'integer',
    default: '4',
    min: 1,
    max: 64,
    to: 'sample.concurrency',
    help: 'Most samples in flight at once across hosts; also the number of PowerShell processes.',
  },
  {
    name: 'kvp.export-keys',
    type: 'regex',
    to: 'kvp.exportKeys',
    help: 'Export the KVP items whose whole name matches this regular expression, with their values, as hyperv_vm_kvp_item_info (default: none).',
  },
  {
    name: 'kvp.export-max-per-vm',
    type: 'integer',
    default: '32',
    min: 0,
    max: 1024,
    to: 'kvp.exportMaxPerVm',
    help: 'Most KVP items exported per VM with --kvp.export-keys; the rest are counted as dropped.',
  },
  { name: 'web.listen-address', type: 'listen address', default: ':10062', to: 'web.listenAddress', help: 'Address to listen on for the web interface and telemetry.' },
  { name: 'web.telemetry-path', type: 'url path', default: '/metrics', to: 'web.telemetryPath', help: 'Path under which to expose metrics.' },
  { name: 'web.config.file', type: 'file', to: 'web.configFile', help: 'Web configuration file (exporter-toolkit format) for TLS and basic authentication.' },
  {
    name: 'web.disable-exporter-metrics',
    type: 'boolean',
    to: 'web.disableExporterMetrics',
    help: 'Leave out the process_* and nodejs_* metrics of the exporter itself.',
  },
  { name: 'web.max-requests', type: 'integer', default: '40', min: 0, to: 'web.maxRequests', help: 'Most concurrent HTTP requests; more get 503 (0: no limit).' },
  {
    name: 'web.enable-lifecycle',
    type: 'boolean',
    to: 'web.enableLifecycle',
    help: 'Serve POST /-/reload, which reads --web.config.file and --config.file again as SIGHUP does (off: 403).',
  },
  { name: 'log.level', type: 'enum', values: LOG_LEVELS, default: 'info', to: 'log.level', help: 'Log level: debug, info, warn or error.' },
  { name: 'log.format', type: 'enum', values: LOG_FORMATS, default: 'json', to: 'log.format', help: 'Log format: json or pretty.' },
  { name: 'help', type: 'boolean', help: 'Show this help and exit.' },
  { name: 'version', type: 'boolean', help: 'Show the version and exit.' },
];

const BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((flag) => [flag.name, flag]));

/** The flag of this name; throws for a name the table does not have (a mistake in the code, not in the command line). */
export function flagSpec(name: string): FlagSpec {
  const flag = BY_NAME.get(name);
  if (flag === undefined) throw new Error(`no flag --${name}`);
  return flag;
}

export type ParsedCommandLine = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: Config; warnings: readonly string[] };

/** What a value looks like, for "needs a value, such as …". */
function example(flag: FlagSpec): string {
  if ('default' in flag && typeof flag.default === 'string') return flag.default;
  if (flag.type === 'enum') return flag.values[0] ?? 'VALUE';
  return flag.type === 'file' ? 'FILE' : flag.type === 'host address' ? 'HOST' : 'VALUE';
}

/** A name as written on the command line, shown as it is when it is short and plain. */
function shown(written: string): string {
  return /^[-\w.]{1,60}$/.test(written) ? written : abbreviate(written);
}

function unknownFlag(written: string): FlagError {
  const names = closestNames(written.replace(/^-+/, ''), FLAGS.map((flag) => flag.name));
  const hint = names.length === 0 ? '' : `; did you mean ${listOf(names.map((name) => `--${name}`))}?`;
  return new FlagError(`unknown flag ${shown(written)}${hint}`);
}

/** The command line as flags (last one wins) and positional arguments; unknown flags are refused here. */
function tokenize(argv: readonly string[]): { given: Map<string, string | true>; positionals: string[] } {
  const given = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const written = equals < 0 ? arg : arg.slice(0, equals);
    const inline = equals < 0 ? undefined : arg.slice(equals + 1);
    const flag = written.startsWith('--') ? BY_NAME.get(written.slice(2)) : undefined;
    if (flag === undefined) throw unknownFlag(written);
    if (flag.type === 'boolean') {
      if (inline !== undefined) throw new FlagError(`--${flag.name} takes no value, ${got(inline)}; give --${flag.name} alone`);
      given.set(flag.name, true);
    } else if (inline !== undefined) {
      given.set(flag.name, inline);
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new FlagError(`--${flag.name} needs a value, such as --${flag.name}=${example(flag)}`);
      // As node's parseArgs: a value that looks like a flag is taken for a forgotten value.
      if (next.length > 1 && next.startsWith('-')) {
        throw new FlagError(`--${flag.name} needs a value, but ${abbreviate(next)} after it is a flag; write --${flag.name}=VALUE (also for a value that starts with "-")`);
      }
      given.set(flag.name, next);
      i++;
    }
  }
  return { given, positionals };
}

/** The text of a flag: as given, or its default; undefined when it has neither. */
function textOf(flag: FlagSpec, given: ReadonlyMap<string, string | true>, platform: NodeJS.Platform): string | undefined {
  const value = given.get(flag.name);
  if (typeof value === 'string') return value;
  if (!('default' in flag)) return undefined;
  return typeof flag.default === 'function' ? flag.default(platform) : flag.default;
}

/** What the telemetry path may not be: the other endpoints. */
function telemetryPathProblem(path: string): string | null {
  if (!path.startsWith('/') || path === '/' || path.startsWith('/-/') || path === '/probe' || path === '/targets') {
    return `must be a path like /metrics (not /, /probe, /targets or under /-/), ${got(path)}`;
  }
  return null;
}

/** A flag's text → its value in Config; throws ValueProblem. */
function read(flag: FlagSpec, text: string): unknown {
  switch (flag.type) {
    case 'boolean':
      return true;
    case 'file':
      if (text === '') throw new ValueProblem(`must name a file, ${got(text)}`);
      return text;
    case 'enum':
      return readChoice(text, flag.values);
    case 'integer':
      return readInteger(text, flag);
    case 'duration':
      return readDuration(text, flag.min);
    case 'regex':
      try {
        kvpExportKeys(text);
      } catch (error) {
        const why = (error as Error).message.split(': ').pop() ?? '';
        throw new ValueProblem(`must be a regular expression (JavaScript syntax), ${got(text)}: ${why}`);
      }
      return text;
    case 'host address':
      try {
        validateHostAddress(text);
      } catch (error) {
        if (error instanceof InvalidHostAddressError) throw new ValueProblem(error.message);
        throw error;
      }
      // Kept as given; the PowerShell source quotes it (validateHostAddress has refused anything else).
      return text;
    case 'listen address':
      return readListenAddress(text);
    case 'url path': {
      const problem = telemetryPathProblem(text);
      if (problem !== null) throw new ValueProblem(problem);
      return text;
    }
  }
}

/** `--name must …` or, for a reason that is a sentence of its own, `--name: …`. */
function flagMessage(name: string, reason: string): string {
  return reason.startsWith('must ') ? `--${name} ${reason}` : `--${name}: ${reason}`;
}

/** Sets `path` of `target` to `value`, making the objects on the way; undefined: only the objects on the way. */
function put(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = target;
  for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  if (value !== undefined) at[keys[keys.length - 1]!] = value;
}

/**
 * argv (without node and the script) → a validated Config. Accepts `--flag=value` and `--flag value`;
 * `sample` as the first argument selects the sample subcommand. Throws FlagError with one clear line.
 * `warnings`: what is allowed but likely not meant, one line each, for main to log.
 */
export function parseCommandLine(argv: readonly string[], platform: NodeJS.Platform = process.platform): ParsedCommandLine {
  const { given, positionals } = tokenize(argv);
  if (given.has('help')) return { kind: 'help' };
  if (given.has('version')) return { kind: 'version' };
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'sample')) {
    throw new FlagError(`unexpected argument ${abbreviate(positionals.find((p) => p !== 'sample') ?? positionals[1] ?? '')}; the only subcommand is "sample"`);
  }

  const draft: Record<string, unknown> = { command: positionals[0] === 'sample' ? 'sample' : 'serve', sourceDefaulted: !given.has('source') };
  for (const flag of FLAGS) {
    if (flag.to === undefined) continue;
    if (flag.type === 'boolean') {
      put(draft, flag.to, given.has(flag.name));
      continue;
    }
    const value = textOf(flag, given, platform);
    try {
      put(draft, flag.to, value === undefined ? undefined : read(flag, value));
    } catch (error) {
      if (error instanceof ValueProblem) throw new FlagError(flagMessage(flag.name, error.reason));
      throw error;
    }
  }
  const config = draft as unknown as Config;

  // What one flag cannot say alone.
  if (config.configFile !== undefined && given.has('source')) {
    throw new FlagError("--source does not go with --config.file: the file names each host's source; leave out --source");
  }
  if (config.configFile !== undefined && config.powershell.computerName !== undefined) {
    throw new FlagError('--powershell.computer-name does not go with --config.file: give each host its address in the file instead');
  }
  if (config.source === 'replay' && config.replay.file === undefined) {
    throw new FlagError('--source=replay needs --replay.file=FILE, the sample document to serve');
  }
  const { intervalMs, timeoutMs, maxAgeMs } = config.sample;
  const [interval, timeout, maxAge] = [intervalMs, timeoutMs, maxAgeMs].map(formatDuration);
  if (maxAgeMs > 0 && maxAgeMs < intervalMs) {
    throw new FlagError(
      `--sample.max-age=${maxAge} is shorter than --sample.interval=${interval}, so the data would expire between two samples; make --sample.max-age at least ${interval}, or 0s to keep the data forever`,
    );
  }
  const warnings: string[] = [];
  // Given or by default (10s, for a shorter --sample.interval): samples never overlap, so it is allowed, but said.
  if (timeoutMs >= intervalMs) {
    const written = given.has('sample.timeout') ? `--sample.timeout=${timeout}` : `--sample.timeout (default ${timeout})`;
    warnings.push(
      `${written} is not shorter than --sample.interval=${interval}: samples never overlap, so a sample that runs that long delays the next one; make --sample.timeout shorter than --sample.interval`,
    );
  }
  return { kind: 'run', config, warnings };
}

export function helpText(): string {
  const lines = FLAGS.map((flag) => {
    const written = flag.type === 'boolean' ? `--${flag.name}` : `--${flag.name}=VALUE`;
    const fallback = 'default' in flag && typeof flag.default === 'string' ? ` (default ${flag.default})` : '';
    return `  ${written.padEnd(38)} ${flag.help}${fallback}`;
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
