import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testTools } from '../helpers/testTools';
import { MAIN, startExporter, type RunningExporter } from '../helpers/exporterProcess';
import { waitFor } from '../helpers/waitFor';

const fixtures = join(__dirname, '..', 'fixtures', 'documents');

/** Runs the built exporter with `args` to its end, without blocking (so that several runs overlap). */
function runMain(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 10_000 }, (_error, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }));
  });
}

describe('the built exporter as a process', () => {
  let exporter: RunningExporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    exporter = undefined;
  });

  test('on the simulator: ready, scraped, valid exposition, clean exit on SIGTERM', async () => {
    exporter = await startExporter(['--sample.interval=1s']);
    const base = exporter.baseUrl;
    await waitFor('ready', async () => ((await fetch(`${base}/-/ready`)).status === 200 ? true : undefined));
    const response = await fetch(`${base}/metrics`);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toMatch(/^hyperv_up 1$/m);
    expect(text.match(/^hyperv_vm_info\{/gm)).toHaveLength(12);
    expect(text).toContain('process_resident_memory_bytes');
    const promtool = testTools().promtool;
    if (promtool.path !== null) {
      expect(execFileSync(promtool.path, ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');
    } else if (process.env.CI === 'true') {
      throw new Error(promtool.problem ?? 'promtool not found');
    }
    expect(exporter.logLines.some((line) => line.includes('serving the built-in simulated host'))).toBe(true);
    const { code } = await exporter.stop('SIGTERM');
    expect(code).toBe(0);
  });

  test('on the replay source: serves the file, follows its changes, drops a VM that is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e2e-'));
    const file = join(dir, 'host.json');
    const document = JSON.parse(readFileSync(join(fixtures, 'zh-cn-host.json'), 'utf8')) as { classes: { Msvm_ComputerSystem: Array<{ Name: string }> } };
    writeFileSync(file, JSON.stringify(document));
    exporter = await startExporter(['--source=replay', `--replay.file=${file}`, '--sample.interval=200ms', '--web.disable-exporter-metrics']);
    const base = exporter.baseUrl;
    const scrape = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
    await waitFor('3 VMs', async () => ((await scrape()).match(/^hyperv_vm_info\{/gm)?.length === 3 ? true : undefined));
    expect(await scrape()).not.toContain('process_resident_memory_bytes');
    document.classes.Msvm_ComputerSystem = document.classes.Msvm_ComputerSystem.filter((vm) => vm.Name !== 'B549384C-525D-4B89-B218-79B854A42F56');
    writeFileSync(`${file}.tmp`, JSON.stringify(document));
    execFileSync('mv', [`${file}.tmp`, file]);
    const text = await waitFor('2 VMs', async () => {
      const t = await scrape();
      return t.match(/^hyperv_vm_info\{/gm)?.length === 2 ? t : undefined;
    });
    expect(text).not.toContain('testdiff');
  });

  test('the sample subcommand prints one document to stdout, logs to stderr', () => {
    const result = spawnSync(process.execPath, [MAIN, 'sample', '--source=simulator', '--simulator.vms=3'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    const printed = JSON.parse(result.stdout) as { schemaVersion: number; classes: { Msvm_ComputerSystem: unknown[] } };
    expect(printed.schemaVersion).toBe(1);
    expect(printed.classes.Msvm_ComputerSystem).toHaveLength(4);
    // One document, and nothing else: a recording that the replay source takes as it is.
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  test('bad flags exit 2 with one line on stderr; --version and --help exit 0', async () => {
    // The three runs at once.
    const [bad, version, help] = await Promise.all([runMain(['--sample.interval=often']), runMain(['--version']), runMain(['--help'])]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--sample.interval must be a duration');
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^hyperv-ic-exporter \d+\.\d+\.\d+\n$/);
    expect(help.stdout).toContain('--web.telemetry-path');
  });

  // Node's timers turn a delay over 2^31-1 ms into 1 ms: 600h as the interval sampled in a busy loop
  // (with TimeoutOverflowWarning), as the timeout failed every sample. Refused at start instead.
  test.each([
    ['--sample.interval', ['--sample.interval=600h', '--sample.max-age=0']],
    ['--sample.timeout', ['--sample.timeout=600h']],
    ['--sample.max-age', ['--sample.max-age=600h']],
    ['--sample.full-interval', ['--sample.full-interval=600h']],
  ])('%s past the timer range: exit 2 at once with one line, no busy loop', (flag, args) => {
    const started = performance.now();
    const result = spawnSync(process.execPath, [MAIN, '--web.listen-address=127.0.0.1:0', '--source=simulator', ...args], { encoding: 'utf8', timeout: 8_000 });
    // A busy-looping exporter would still run when the timeout kills it (status null, signal SIGTERM).
    expect({ status: result.status, signal: result.signal }).toEqual({ status: 2, signal: null });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(result.stderr).toMatch(/^[^\n]*\n$/);
    expect(result.stderr).toContain(`${flag} must be at most 24d20h31m23s647ms`);
    expect(result.stderr).not.toContain('TimeoutOverflowWarning');
  });

  test('a port already in use exits non-zero with the reason', async () => {
    // What holds the port does not matter: a plain server, which starts in no time.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    const second = await runMain([`--web.listen-address=127.0.0.1:${port}`]).finally(() => holder.close());
    expect(second.status).toBe(1);
    expect(second.stderr).toContain('EADDRINUSE');
  });
});
