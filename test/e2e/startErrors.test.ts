/**
 * Issue #20, item 2, through the built exporter (dist/main.js): every flag or config mistake is one line
 * on stderr that names the flag or key, says what is wrong and the fix, with exit code 2; a port that
 * cannot be listened on names --web.listen-address; what is logged at start and at the first failed
 * sample says what is true, in one line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN as builtMain, killStartedExporters, requireBuild, startExporter, type RunningExporter } from '../helpers/exporterProcess';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(30_000);

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hyperv-start-errors-'));
});
afterAll(() => {
  killStartedExporters();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the exporter to its end: exit code, and the lines of stderr that are not JSON log lines.
 * Asynchronous, so that the tests marked concurrent run their exporters at once.
 */
async function run(args: readonly string[]): Promise<{ status: number | null; lines: string[] }> {
  requireBuild();
  const { status, stderr } = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [builtMain, '--web.listen-address=127.0.0.1:0', ...args],
      { encoding: 'utf8', timeout: 10_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (_error, _stdout, stderrText) => resolve({ status: child.exitCode, stderr: stderrText }),
    );
  });
  return { status, lines: stderr.split('\n').filter((line) => line !== '' && !line.startsWith('{')) };
}

// Each of these tests is one exporter run of its own: they run at once.
describe('flag mistakes: exit 2 and the exact line', () => {
  test.concurrent.each([
    [['--listen=:9999'], 'unknown flag --listen; did you mean --web.listen-address? (see --help)'],
    [['--sample-interval=1s'], 'unknown flag --sample-interval; did you mean --sample.interval? (see --help)'],
    [['--sample.interval=0s'], '--sample.interval must be at least 100ms, got "0s" (see --help)'],
    [['--source=hyperv'], '--source must be powershell, replay or simulator, got "hyperv" (see --help)'],
  ])('%j', async (args, line) => {
    expect(await run(args)).toEqual({ status: 2, lines: [`hyperv-ic-exporter: ${line}`] });
  });
});

describe('--config.file mistakes: exit 2 and the exact line', () => {
  test.concurrent('an unknown key, on its own line', async () => {
    const file = join(dir, 'unknown-key.yml');
    writeFileSync(file, 'hosts:\n  - name: hv01\n    simulator: {vms: 1}\n    interval: 1m\n    adress: hv01.example\n');
    expect(await run([`--config.file=${file}`])).toEqual({
      status: 2,
      lines: [`hyperv-ic-exporter: config file ${JSON.stringify(file)}, line 5: hosts[0].adress: unknown key; did you mean address?`],
    });
  });

  test.concurrent('a YAML alias bomb names the file and the line', async () => {
    const file = join(dir, 'bomb.yml');
    const ten = (of: string): string => Array.from({ length: 10 }, () => of).join(', ');
    writeFileSync(file, `hosts: [{name: hv01}]\na: &a [${ten('lol')}]\nb: &b [${ten('*a')}]\nc: &c [${ten('*b')}]\nd: [${ten('*c')}]\n`);
    expect(await run([`--config.file=${file}`])).toEqual({
      status: 2,
      lines: [
        `hyperv-ic-exporter: config file ${JSON.stringify(file)}, line 3: refused: its aliases (*a first) expand to too many copies of what they name, as a YAML alias bomb does; write the values out instead of using aliases`,
      ],
    });
  });
});

describe('a port that cannot be listened on: exit 1, one line naming --web.listen-address', () => {
  let holder: Server | null = null;
  afterEach(() => {
    holder?.close();
    holder = null;
  });

  test('EADDRINUSE', async () => {
    holder = createServer();
    const server = holder;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const find = process.platform === 'win32' ? `Get-NetTCPConnection -LocalPort ${port}` : `ss -ltnp 'sport = :${port}'`;
    expect(await run([`--web.listen-address=127.0.0.1:${port}`, '--source=simulator'])).toEqual({
      status: 1,
      lines: [`hyperv-ic-exporter: cannot start: --web.listen-address=127.0.0.1:${port}: port ${port} is already in use (EADDRINUSE); stop what listens there (${find} shows it) or give another port`],
    });
  });
});

describe('what the log says at start and at the first failed sample', () => {
  let exporter: RunningExporter | null = null;
  afterEach(async () => {
    exporter?.process.kill('SIGTERM');
    await exporter?.exited(5_000).catch(() => undefined);
    exporter = null;
  });

  test('--sample.timeout=1m --sample.interval=15s: one warning naming both flags and the fix', async () => {
    exporter = await startExporter(['--source=simulator', '--sample.timeout=1m', '--sample.interval=15s']);
    const warnings = exporter.logs().filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toEqual([
      '--sample.timeout=1m is not shorter than --sample.interval=15s: samples never overlap, so a sample that runs that long delays the next one; make --sample.timeout shorter than --sample.interval',
    ]);
  });

  test('no PowerShell: one line at error level, no stack trace, naming --powershell.path', async () => {
    const missing = join(dir, 'no-such-dir', 'pwsh');
    exporter = await startExporter(['--source=powershell', `--powershell.path=${missing}`, '--sample.interval=1h', '--sample.max-age=0s']);
    const running = exporter;
    await waitFor('the failed sample', () => running.logs().some((line) => line.level >= 40));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const raised = exporter.logs().filter((line) => line.level >= 40);
    expect(raised.map((line) => ({ level: line.level, msg: line.msg }))).toEqual([
      {
        level: 50,
        msg: `sample failed (powershell_not_found): cannot start PowerShell ${JSON.stringify(missing)} (ENOENT: no such program); install PowerShell, or set --powershell.path to the full path of powershell.exe or pwsh; no sample has succeeded yet, so no VM metrics are served`,
      },
    ]);
    expect(JSON.stringify(raised[0])).not.toMatch(/stack|"err"/);
  });

  test('a replay file missing at start: no claim of last good data', async () => {
    const missing = join(dir, 'missing.json');
    exporter = await startExporter(['--source=replay', `--replay.file=${missing}`, '--sample.interval=1h', '--sample.max-age=0s']);
    const running = exporter;
    await waitFor('the failed sample', () => running.logs().some((line) => line.level >= 40));
    expect(exporter.logs().filter((line) => line.level >= 40).map((line) => line.msg)).toEqual([
      `sample failed (source_error): cannot read replay file ${missing}: ENOENT; no sample has succeeded yet, so no VM metrics are served`,
    ]);
    expect(exporter.logs().some((line) => /last good data/.test(line.msg))).toBe(false);
  });
});
