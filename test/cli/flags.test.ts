import { FlagError, helpText, parseCommandLine } from '../../src/cli/flags';

function config(argv: string[], platform: NodeJS.Platform = 'linux') {
  const parsed = parseCommandLine(argv, platform);
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed.config;
}

describe('parseCommandLine', () => {
  test('defaults: simulator off Windows, powershell on Windows, :10062, /metrics, 15s/30s/5m', () => {
    const linux = config([]);
    expect(linux).toMatchObject({
      command: 'serve',
      source: 'simulator',
      sourceDefaulted: true,
      simulator: { vms: 12, seed: 1 },
      sample: { intervalMs: 15_000, timeoutMs: 30_000, maxAgeMs: 300_000 },
      web: { listenAddress: { host: '', port: 10062 }, telemetryPath: '/metrics', disableExporterMetrics: false, maxRequests: 40 },
      log: { level: 'info', format: 'json' },
    });
    expect(config([], 'win32').source).toBe('powershell');
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

  test('a valid --powershell.computer-name is kept', () => {
    expect(config(['--source=powershell', '--powershell.computer-name=hv02.corp.example.com']).powershell.computerName).toBe('hv02.corp.example.com');
  });

  test('the sample subcommand', () => {
    expect(config(['sample', '--source=simulator']).command).toBe('sample');
  });

  test('help and version', () => {
    expect(parseCommandLine(['--help']).kind).toBe('help');
    expect(parseCommandLine(['--version']).kind).toBe('version');
    expect(helpText()).toContain('--web.listen-address=VALUE');
    expect(helpText()).toContain('(default :10062)');
  });

  test.each([
    [['--nope'], /Unknown option '--nope'/],
    [['--source=hyperv'], /--source/],
    [['--source=replay'], /--source=replay needs --replay.file/],
    [['--sample.interval=15'], /--sample.interval must be a duration/],
    [['--sample.interval=0s'], /--sample.interval/],
    [['--web.listen-address=10062'], /--web.listen-address must be \[host\]:port/],
    [['--web.listen-address=:70000'], /--web.listen-address/],
    [['--web.listen-address=bad_host!:10062'], /--web.listen-address: "bad_host!" is not a host address/],
    [['--web.telemetry-path=metrics'], /--web.telemetry-path must be a path/],
    [['--web.telemetry-path=/-/ready'], /--web.telemetry-path must be a path/],
    [['--simulator.vms=-3'], /--simulator.vms/],
    [['--log.level=verbose'], /--log.level/],
    [['--sample.max-age=5s', '--sample.interval=15s'], /--sample.max-age must be at least --sample.interval/],
    [['serve'], /unexpected argument "serve"/],
    [['--powershell.computer-name=hv01; Remove-Item C:\\'], /--powershell.computer-name/],
    [['--powershell.computer-name=$(whoami)'], /--powershell.computer-name/],
  ])('%j is refused with one clear line', (argv, message) => {
    let error: unknown;
    try {
      parseCommandLine(argv as string[]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlagError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});

// Node's timers hold at most 2^31-1 ms and turn a longer delay into 1 ms: a longer interval sampled in
// a busy loop, a longer timeout failed every sample at once. Each duration flag refuses such a value.
describe('durations that a timer cannot honour', () => {
  const DURATION_FLAGS = ['--sample.interval', '--sample.timeout', '--sample.max-age', '--sample.full-interval'] as const;
  const SAMPLE_KEY = { '--sample.interval': 'intervalMs', '--sample.timeout': 'timeoutMs', '--sample.max-age': 'maxAgeMs', '--sample.full-interval': 'fullIntervalMs' } as const;

  function refusal(argv: string[]): string {
    try {
      parseCommandLine(argv, 'linux');
    } catch (error) {
      expect(error).toBeInstanceOf(FlagError);
      return (error as Error).message;
    }
    throw new Error(`${JSON.stringify(argv)} was accepted`);
  }

  test.each(DURATION_FLAGS)('%s=600h is refused with one line naming the flag and the longest duration', (flag) => {
    // Only the flag under test is wrong: max-age 0 (never expire) allows any interval; max-age 600h is above the interval.
    const message = refusal([flag === '--sample.max-age' ? '--sample.interval=1h' : '--sample.max-age=0s', `${flag}=600h`]);
    expect(message).toMatch(new RegExp(`^${flag.replace(/\./g, '\\.')} must be at most 24d20h31m23s647ms\\b`));
    expect(message).toContain('"600h"');
    expect(message).not.toContain('\n');
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
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(300);
    expect(message).toContain('(401 characters)');
  });

  test('the combination of the report: --sample.interval=600h --sample.max-age=0 is refused', () => {
    expect(refusal(['--sample.interval=600h', '--sample.max-age=0'])).toMatch(/^--sample\.interval must be at most 24d20h31m23s647ms/);
  });
});
