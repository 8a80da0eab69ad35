import { FLAGS, FlagError, helpText, parseCommandLine } from '../../src/cli/flags';

function run(argv: string[], platform: NodeJS.Platform = 'linux') {
  const parsed = parseCommandLine(argv, platform);
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed;
}

function config(argv: string[], platform: NodeJS.Platform = 'linux') {
  return run(argv, platform).config;
}

/** The one line `argv` is refused with. */
function refusal(argv: string[]): string {
  try {
    parseCommandLine(argv, 'linux');
  } catch (error) {
    expect(error).toBeInstanceOf(FlagError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`${JSON.stringify(argv)} was accepted`);
}

describe('parseCommandLine', () => {
  test('defaults: the whole Config, simulator off Windows, powershell on Windows', () => {
    expect(config([])).toEqual({
      command: 'serve',
      source: 'simulator',
      sourceDefaulted: true,
      replay: {},
      simulator: { vms: 12, seed: 1 },
      powershell: { recycleAfterSamples: 1000 },
      sample: { intervalMs: 15_000, timeoutMs: 10_000, maxAgeMs: 300_000, fullIntervalMs: 300_000, concurrency: 4 },
      web: { listenAddress: { host: '', port: 10062 }, telemetryPath: '/metrics', disableExporterMetrics: false, maxRequests: 40, enableLifecycle: false },
      kvp: { exportMaxPerVm: 32 },
      log: { level: 'info', format: 'json' },
    });
    expect(config([], 'win32').source).toBe('powershell');
    expect(config([], 'win32').sourceDefaulted).toBe(true);
    expect(config(['--source=simulator'], 'win32')).toMatchObject({ source: 'simulator', sourceDefaulted: false });
  });

  test('exporter-style flags in both --flag=value and --flag value forms', () => {
    const c = config([
      '--source=replay',
      '--replay.file',
      'host.json',
      '--web.listen-address=[::1]:9999',
      '--web.telemetry-path=/hyperv',
      '--sample.interval=1m30s',
      '--sample.timeout=500ms',
      '--sample.max-age=10m',
      '--web.disable-exporter-metrics',
      '--log.level=debug',
      '--log.format=pretty',
    ]);
    expect(c).toMatchObject({
      source: 'replay',
      sourceDefaulted: false,
      replay: { file: 'host.json' },
      web: { listenAddress: { host: '::1', port: 9999 }, telemetryPath: '/hyperv', disableExporterMetrics: true },
      sample: { intervalMs: 90_000, timeoutMs: 500, maxAgeMs: 600_000 },
      log: { level: 'debug', format: 'pretty' },
    });
  });

  test('every flag reaches its place in Config', () => {
    const c = config([
      '--config.file=hosts.yml',
      '--simulator.vms=3',
      '--simulator.seed=7',
      '--powershell.path=/opt/pwsh',
      '--powershell.recycle-after=5',
      '--sample.full-interval=0',
      '--sample.concurrency=2',
      '--kvp.export-keys=Ip.*',
      '--kvp.export-max-per-vm=8',
      '--web.config.file=web.yml',
      '--web.max-requests=0',
      '--web.enable-lifecycle',
    ]);
    expect(c).toMatchObject({
      configFile: 'hosts.yml',
      simulator: { vms: 3, seed: 7 },
      powershell: { path: '/opt/pwsh', recycleAfterSamples: 5 },
      sample: { fullIntervalMs: 0, concurrency: 2 },
      kvp: { exportKeys: 'Ip.*', exportMaxPerVm: 8 },
      web: { configFile: 'web.yml', maxRequests: 0, enableLifecycle: true },
    });
  });

  test('the last of a repeated flag wins; "--" ends the flags', () => {
    expect(config(['--simulator.vms=3', '--simulator.vms', '4']).simulator.vms).toBe(4);
    expect(refusal(['--', '--simulator.vms=3'])).toBe('unexpected argument "--simulator.vms=3"; the only subcommand is "sample"');
  });

  test('a valid --powershell.computer-name is kept as given', () => {
    expect(config(['--source=powershell', '--powershell.computer-name=hv02.corp.example.com']).powershell.computerName).toBe('hv02.corp.example.com');
  });

  test('the sample subcommand', () => {
    expect(config(['sample', '--source=simulator']).command).toBe('sample');
  });

  test('help and version', () => {
    expect(parseCommandLine(['--help']).kind).toBe('help');
    expect(parseCommandLine(['--version']).kind).toBe('version');
    // As before: help wins over values that would be refused, not over unknown flags.
    expect(parseCommandLine(['--sample.interval=often', '--help']).kind).toBe('help');
    expect(refusal(['--help', '--nope'])).toBe('unknown flag --nope');
    expect(helpText()).toContain('--web.listen-address=VALUE');
    expect(helpText()).toContain('(default :10062)');
  });

  test('--help lists every flag of the table once, with its default', () => {
    const help = helpText();
    for (const flag of FLAGS) {
      const line = help.split('\n').filter((l) => l.startsWith(`  --${flag.name}${flag.type === 'boolean' ? ' ' : '='}`));
      expect(line).toHaveLength(1);
      if ('default' in flag && typeof flag.default === 'string') expect(line[0]).toContain(`(default ${flag.default})`);
    }
  });
});

// Issue #20, item 2: every mistake is one line naming the flag, saying what is wrong with units, and the fix.
describe('refused flags: the exact line', () => {
  test.each([
    // Unknown flags, with the flags they are closest to.
    [['--listen=:9999'], 'unknown flag --listen; did you mean --web.listen-address?'],
    [['--sample-interval=1s'], 'unknown flag --sample-interval; did you mean --sample.interval?'],
    [['-sample.interval=1s'], 'unknown flag -sample.interval; did you mean --sample.interval?'],
    [['--Sample.Interval=1s'], 'unknown flag --Sample.Interval; did you mean --sample.interval?'],
    [['--log.levle=debug'], 'unknown flag --log.levle; did you mean --log.level?'],
    [['--web.listen=:1'], 'unknown flag --web.listen; did you mean --web.listen-address?'],
    [['--listen-adress=:1'], 'unknown flag --listen-adress; did you mean --web.listen-address?'],
    [['--interval=1m'], 'unknown flag --interval; did you mean --sample.interval or --sample.full-interval?'],
    [['--path=pwsh'], 'unknown flag --path; did you mean --powershell.path or --web.telemetry-path?'],
    [['-h'], 'unknown flag -h; did you mean --help?'],
    [['-v'], 'unknown flag -v; did you mean --version?'],
    [['--nope'], 'unknown flag --nope'],
    [['--sample'], 'unknown flag --sample'],
    // Values.
    [['--sample.interval=0s'], '--sample.interval must be at least 100ms, got "0s"'],
    [['--sample.timeout=50ms'], '--sample.timeout must be at least 100ms, got "50ms"'],
    [['--sample.interval=15'], '--sample.interval must be a duration such as 500ms, 15s, 1m or 2h, got "15"'],
    [['--source=hyperv'], '--source must be powershell, replay or simulator, got "hyperv"'],
    [['--log.level=verbose'], '--log.level must be debug, info, warn or error, got "verbose"'],
    [['--log.format=text'], '--log.format must be json or pretty, got "text"'],
    [['--simulator.vms=-3'], '--simulator.vms must be a whole number from 0 to 100000, got "-3"'],
    [['--simulator.vms=100001'], '--simulator.vms must be at most 100000, got "100001"'],
    [['--sample.concurrency=0'], '--sample.concurrency must be at least 1, got "0"'],
    [['--powershell.recycle-after=many'], '--powershell.recycle-after must be a whole number of at least 1, got "many"'],
    [['--web.listen-address=10062'], '--web.listen-address must be [host]:port such as :10062, 127.0.0.1:10062 or [::1]:10062, got "10062"'],
    [['--web.listen-address=:70000'], '--web.listen-address must have a port from 0 to 65535, got ":70000"'],
    [
      ['--web.listen-address=bad_host!:10062'],
      '--web.listen-address: "bad_host!" is not a host address: "bad_host!" is not a DNS label (1-63 letters, digits or inner hyphens) (expected a DNS name, an IPv4 or an IPv6 address)',
    ],
    [
      ['--powershell.computer-name=$(whoami)'],
      '--powershell.computer-name: "$(whoami)" is not a host address: "$(whoami)" is not a DNS label (1-63 letters, digits or inner hyphens) (expected a DNS name, an IPv4 or an IPv6 address)',
    ],
    [['--web.telemetry-path=metrics'], '--web.telemetry-path must be a path like /metrics (not /, /probe, /targets or under /-/), got "metrics"'],
    [['--web.telemetry-path=/-/ready'], '--web.telemetry-path must be a path like /metrics (not /, /probe, /targets or under /-/), got "/-/ready"'],
    [['--kvp.export-keys=('], '--kvp.export-keys must be a regular expression (JavaScript syntax), got "(": Unterminated group'],
    [['--replay.file='], '--replay.file must name a file, got ""'],
    // The form of the command line.
    [['--web.disable-exporter-metrics=true'], '--web.disable-exporter-metrics takes no value, got "true"; give --web.disable-exporter-metrics alone'],
    [['--source'], '--source needs a value, such as --source=powershell'],
    [['--sample.interval'], '--sample.interval needs a value, such as --sample.interval=15s'],
    [['--source', '--log.level=debug'], '--source needs a value, but "--log.level=debug" after it is a flag; write --source=VALUE (also for a value that starts with "-")'],
    [['serve'], 'unexpected argument "serve"; the only subcommand is "sample"'],
    // What one flag cannot say alone.
    [['--source=replay'], '--source=replay needs --replay.file=FILE, the sample document to serve'],
    [['--config.file=hosts.yml', '--source=simulator'], "--source does not go with --config.file: the file names each host's source; leave out --source"],
    [['--config.file=hosts.yml', '--powershell.computer-name=hv01'], '--powershell.computer-name does not go with --config.file: give each host its address in the file instead'],
    [
      ['--sample.max-age=5s', '--sample.interval=15s'],
      '--sample.max-age=5s is shorter than --sample.interval=15s, so the data would expire between two samples; make --sample.max-age at least 15s, or 0s to keep the data forever',
    ],
    [
      ['--sample.interval=10m'],
      '--sample.max-age=5m is shorter than --sample.interval=10m, so the data would expire between two samples; make --sample.max-age at least 10m, or 0s to keep the data forever',
    ],
  ])('%j', (argv, message) => {
    expect(refusal(argv)).toBe(message);
  });

  test('a very long unknown flag is shown abbreviated', () => {
    const message = refusal([`--${'x'.repeat(5_000)}=1`]);
    expect(message).toMatch(/^unknown flag "--x{78}"… \(5002 characters\)$/);
  });
});

// The docs say to keep --sample.interval longer than --sample.timeout: samples never overlap, so a
// timeout at least as long as the interval lets one slow sample push back the next. Allowed, but said.
describe('--sample.timeout not shorter than --sample.interval: a warning', () => {
  test('--sample.timeout=1m --sample.interval=15s: one line naming both flags and the fix', () => {
    expect(run(['--sample.timeout=1m', '--sample.interval=15s']).warnings).toEqual([
      '--sample.timeout=1m is not shorter than --sample.interval=15s: samples never overlap, so a sample that runs that long delays the next one; make --sample.timeout shorter than --sample.interval',
    ]);
  });

  test('a timeout equal to the (default) interval is warned about too', () => {
    expect(run(['--sample.timeout=15s']).warnings).toEqual([
      '--sample.timeout=15s is not shorter than --sample.interval=15s: samples never overlap, so a sample that runs that long delays the next one; make --sample.timeout shorter than --sample.interval',
    ]);
  });

  test('no warning for a shorter timeout, given or the default (10s, shorter than the default interval)', () => {
    expect(run([]).warnings).toEqual([]);
    expect(run(['--sample.timeout=14s']).warnings).toEqual([]);
    expect(run(['--sample.interval=11s']).warnings).toEqual([]);
    expect(run(['--sample.interval=200ms', '--sample.timeout=100ms']).warnings).toEqual([]);
  });

  test('the default timeout is warned about too when the interval is not longer than it', () => {
    expect(run(['--sample.interval=5s']).warnings).toEqual([
      '--sample.timeout (default 10s) is not shorter than --sample.interval=5s: samples never overlap, so a sample that runs that long delays the next one; make --sample.timeout shorter than --sample.interval',
    ]);
  });
});

// Node's timers hold at most 2^31-1 ms and turn a longer delay into 1 ms: a longer interval sampled in
// a busy loop, a longer timeout failed every sample at once. Each duration flag refuses such a value.
describe('durations that a timer cannot honour', () => {
  const DURATION_FLAGS = ['--sample.interval', '--sample.timeout', '--sample.max-age', '--sample.full-interval'] as const;
  const SAMPLE_KEY = { '--sample.interval': 'intervalMs', '--sample.timeout': 'timeoutMs', '--sample.max-age': 'maxAgeMs', '--sample.full-interval': 'fullIntervalMs' } as const;

  test.each(DURATION_FLAGS)('%s=600h is refused with one line naming the flag and the longest duration', (flag) => {
    // Only the flag under test is wrong: max-age 0 (never expire) allows any interval; max-age 600h is above the interval.
    const message = refusal([flag === '--sample.max-age' ? '--sample.interval=1h' : '--sample.max-age=0s', `${flag}=600h`]);
    expect(message).toBe(`${flag} must be at most 24d20h31m23s647ms (the longest timer Node can set), got "600h"`);
  });

  test.each(DURATION_FLAGS)('%s: 2147483647ms is the longest accepted, 2147483648ms is refused', (flag) => {
    // (max-age 0: never expire, so that a long interval is allowed; the flag under test comes last and wins.)
    expect(config(['--sample.max-age=0s', `${flag}=2147483647ms`]).sample).toMatchObject({ [SAMPLE_KEY[flag]]: 2_147_483_647 });
    expect(refusal(['--sample.max-age=0s', `${flag}=2147483648ms`])).toMatch(new RegExp(`^${flag.replace(/\./g, '\\.')} must be at most`));
    // The same limit written with days, as the message writes it.
    expect(config(['--sample.max-age=0s', `${flag}=24d20h31m23s647ms`]).sample).toMatchObject({ [SAMPLE_KEY[flag]]: 2_147_483_647 });
  });

  test.each(DURATION_FLAGS)('%s with 400 digits is refused as too long, with one short line naming the flag', (flag) => {
    const value = `${'9'.repeat(400)}s`;
    const message = refusal([`${flag}=${value}`]);
    expect(message.startsWith(`${flag} must be at most 24d20h31m23s647ms`)).toBe(true);
    expect(message.length).toBeLessThan(300);
    expect(message).toContain('(401 characters)');
  });

  test('the combination of the report: --sample.interval=600h --sample.max-age=0 is refused', () => {
    expect(refusal(['--sample.interval=600h', '--sample.max-age=0'])).toMatch(/^--sample\.interval must be at most 24d20h31m23s647ms/);
  });
});
