import { existsSync, linkSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/freePort';
import { ensureRelease, type Release } from '../helpers/release';
import {
  describeWithWine,
  netStart,
  netStop,
  portOpen,
  runWindows,
  scCreate,
  scDelete,
  scQuery,
  startWineserver,
  stopWineserver,
  unixPathInPrefix,
  waitForHttp,
  waitForServiceState,
  windowsPath,
  winePrefix,
  type WinePrefix,
} from '../helpers/wine';

/**
 * hyperv-ic-exporter-service.exe (windows/service-host/) under Wine, as a real service of Wine's SCM:
 * sc create, net start, sc query, net stop. It must report RUNNING, start node with the exporter and its
 * runtime settings, pass every argument on unchanged, log to %ProgramData%\hyperv-ic-exporter\logs,
 * stop node gracefully by closing its standard input, kill a node that does not stop within 20 s, and
 * stop the service with an error when node exits on its own.
 */

const SERVICE_EXE = 'hyperv-ic-exporter-service.exe';
const LOG_DIRECTORY = 'C:\\ProgramData\\hyperv-ic-exporter\\logs';
const ERROR_PROCESS_ABORTED = 1067;

describeWithWine(['dotnet'], 'the Windows service host under Wine', () => {
  let prefix: WinePrefix;
  let release: Release;
  let scratch: string;
  let shebang: string;

  beforeAll(async () => {
    [release, prefix] = await Promise.all([ensureRelease(), winePrefix('service-host')]);
    await startWineserver(prefix);
    scratch = mkdtempSync(join(tmpdir(), 'hvic-service-host-'));
    shebang = readFileSync(join(release.stageDir, 'hyperv-ic-exporter.js'), 'utf8').split('\n', 1)[0]!;
  }, 900_000);

  afterAll(async () => {
    if (prefix !== undefined) await stopWineserver(prefix);
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  const logPath = (kind: string): string => unixPathInPrefix(prefix, `${LOG_DIRECTORY}\\hyperv-ic-exporter.${kind}.log`);
  const logSize = (kind: string): number => statSync(logPath(kind), { throwIfNoEntry: false })?.size ?? 0;
  /** Where each log file ends now: what a test appends comes after. */
  const logMark = (): Record<string, number> => Object.fromEntries(['service', 'out', 'err'].map((kind) => [kind, logSize(kind)]));
  const appended = (kind: string, mark: Record<string, number>): string => (existsSync(logPath(kind)) ? readFileSync(logPath(kind)).subarray(mark[kind] ?? 0).toString('utf8') : '');

  /** The node options the shebang of the release's hyperv-ic-exporter.js asks for. */
  const shebangOptions = (): string[] => shebang.split(/\s+/).slice(shebang.split(/\s+/).indexOf('node') + 1);

  /** A folder with the release's node.exe and service host, and a stand-in hyperv-ic-exporter.js (the release's shebang, then `body`). */
  function stubStage(name: string, body: string): string {
    const stage = join(scratch, name);
    mkdirSync(stage, { recursive: true });
    for (const file of ['node.exe', SERVICE_EXE]) {
      try {
        linkSync(join(release.stageDir, file), join(stage, file));
      } catch {
        copyFileSync(join(release.stageDir, file), join(stage, file));
      }
    }
    writeFileSync(join(stage, 'hyperv-ic-exporter.js'), `${shebang}\n'use strict';\n${body}\n`);
    return stage;
  }

  test('runs the exporter as a service: RUNNING at once, /metrics, its logs, and a graceful stop on net stop', async () => {
    expect(shebangOptions().length).toBeGreaterThan(0);
    expect(shebangOptions().every((option) => option.startsWith('--'))).toBe(true);
    const service = 'hvic-test-exporter';
    const port = await freePort();
    const serviceExe = windowsPath(join(release.stageDir, SERVICE_EXE));
    expect((await scCreate(prefix, service, `"${serviceExe}" --web.listen-address=127.0.0.1:${port} --source=simulator`)).code).toBe(0);
    try {
      const mark = logMark();
      const started = Date.now();
      expect((await netStart(prefix, service)).code).toBe(0);
      const first = await waitForHttp(`http://127.0.0.1:${port}/metrics`, 30_000);
      // The first sample of the simulated host, served through the service.
      const sampled = await waitForHttp(`http://127.0.0.1:${port}/metrics`, 30_000, (body) => /^hyperv_vm_heartbeat_ok\{/m.test(body));
      console.log(`service host under Wine: net start → first /metrics answered in ${first.at - started} ms, with VM metrics in ${sampled.at - started} ms`);
      expect(await scQuery(prefix, service)).toEqual({ state: 'RUNNING', win32ExitCode: 0 });

      const serviceLog = appended('service', mark);
      expect(serviceLog).toMatch(/starting as a service/);
      expect(serviceLog).toMatch(/service control manager: start; reporting RUNNING/);
      // node.exe beside the host, the shebang's options, the exporter, then the service's arguments unchanged.
      const stage = windowsPath(release.stageDir);
      const script = `${stage}\\hyperv-ic-exporter.js`;
      expect(serviceLog).toContain(
        `starting node in ${stage}: "${stage}\\node.exe" ${shebangOptions().join(' ')} ${/[\s"]/.test(script) ? `"${script}"` : script} --web.listen-address=127.0.0.1:${port} --source=simulator`,
      );
      expect(serviceLog).toMatch(/node started, pid \d+/);
      expect(serviceLog).not.toMatch(/outside a job object/);

      const stopAsked = Date.now();
      await netStop(prefix, service);
      expect(await waitForServiceState(prefix, service, 'STOPPED', 30_000)).toEqual({ state: 'STOPPED', win32ExitCode: 0 });
      console.log(`service host under Wine: net stop → STOPPED in ${Date.now() - stopAsked} ms`);
      expect(await portOpen(port)).toBe(false);

      const stopLog = appended('service', mark);
      expect(stopLog).toMatch(/service control manager: stop\r?\n.*stop requested: closing node's standard input/);
      expect(stopLog).toMatch(/node exited with code 0\r?\n/);
      expect(stopLog).not.toMatch(/killing it/);
      expect(stopLog).toMatch(/host stopped; exit code 0, service exit code 0/);
      // The exporter's own lines (stderr): it saw the end of its input as the stop request.
      const exporterLog = appended('err', mark) + appended('out', mark);
      expect(exporterLog).toMatch(/shutting down/);
      expect(exporterLog.indexOf('shutting down')).toBeLessThan(exporterLog.lastIndexOf('stopped'));
    } finally {
      await netStop(prefix, service);
      await waitForServiceState(prefix, service, 'STOPPED', 30_000);
      await scDelete(prefix, service);
    }
  }, 90_000);

  test("passes every argument to node unchanged (quoted for the C runtime), with the shebang's node options, NODE_ENV=production and the stop variable, in its folder", async () => {
    const stage = stubStage(
      'argv',
      `require('fs').writeFileSync(require('path').join(__dirname, 'argv.json'), JSON.stringify({ argv: process.argv.slice(2), execArgv: process.execArgv, cwd: process.cwd(), env: { NODE_ENV: process.env.NODE_ENV, STOP: process.env.HYPERV_IC_EXPORTER_STOP_ON_STDIN_EOF } }));`,
    );
    const args = [
      '--web.listen-address=127.0.0.1:10062',
      'two words',
      '',
      'trailing backslash\\',
      'C:\\a folder\\',
      'quote"inside',
      '\\"backslash and quote',
      'double\\\\backslash',
      'tab\there',
      'a&b|c<d>e^f',
      '%PATH%',
      'ünïcødé €',
    ];
    // Outside the SCM the host runs node in the foreground and exits with its exit code.
    const run = await runWindows(prefix, [windowsPath(join(stage, SERVICE_EXE)), ...args], { timeoutMs: 60_000 });
    expect(run.stdout).toMatch(/starting in the foreground/);
    expect(run.code).toBe(0);
    const seen = JSON.parse(readFileSync(join(stage, 'argv.json'), 'utf8')) as { argv: string[]; execArgv: string[]; cwd: string; env: Record<string, string> };
    expect(seen.argv).toEqual(args);
    expect(seen.execArgv).toEqual(shebangOptions());
    expect(seen.cwd).toBe(windowsPath(stage));
    expect(seen.env).toEqual({ NODE_ENV: 'production', STOP: '1' });
  }, 60_000);

  test('a node that exits on its own stops the service with error 1067 (so that the failure actions restart it); a log over 10 MB is rolled over at start', async () => {
    const stage = stubStage('exits', `process.stderr.write('bad flag: --nonsense\\n'); process.exit(3);`);
    mkdirSync(unixPathInPrefix(prefix, LOG_DIRECTORY), { recursive: true });
    const large = 10 * 1024 * 1024 + 1;
    writeFileSync(logPath('out'), Buffer.alloc(large, 'x'));
    rmSync(logPath('out').replace(/\.log$/, '.1.log'), { force: true });
    const service = 'hvic-test-exits';
    expect((await scCreate(prefix, service, `"${windowsPath(join(stage, SERVICE_EXE))}" --nonsense`)).code).toBe(0);
    try {
      const mark = logMark();
      await netStart(prefix, service);
      expect(await waitForServiceState(prefix, service, 'STOPPED', 30_000)).toEqual({ state: 'STOPPED', win32ExitCode: ERROR_PROCESS_ABORTED });
      const serviceLog = appended('service', mark);
      expect(serviceLog).toMatch(/node exited on its own with code 3: stopping the service with error 1067/);
      expect(serviceLog).toMatch(/host stopped; exit code 3, service exit code 1067/);
      expect(appended('err', mark)).toContain('bad flag: --nonsense');
      expect(serviceLog).toMatch(/rolled hyperv-ic-exporter\.out\.log \(10485761 bytes\) over to hyperv-ic-exporter\.out\.1\.log/);
      expect(statSync(logPath('out').replace(/\.log$/, '.1.log')).size).toBe(large);
      expect(logSize('out')).toBeLessThan(large);
    } finally {
      await scDelete(prefix, service);
    }
  }, 60_000);

  test('a node that ignores the stop request is killed 20 s after it, and the stop still completes', async () => {
    const port = await freePort();
    const stage = stubStage(
      'stubborn',
      `process.stdin.on('end', () => process.stderr.write('standard input ended; ignoring it\\n'));
process.stdin.resume();
require('http').createServer((request, response) => response.end('ok')).listen(${port}, '127.0.0.1');`,
    );
    const service = 'hvic-test-stubborn';
    expect((await scCreate(prefix, service, `"${windowsPath(join(stage, SERVICE_EXE))}"`)).code).toBe(0);
    try {
      const mark = logMark();
      await netStart(prefix, service);
      await waitForHttp(`http://127.0.0.1:${port}/`, 30_000);
      const stopAsked = Date.now();
      await netStop(prefix, service);
      const stopped = await waitForServiceState(prefix, service, 'STOPPED', 40_000);
      const stopTook = Date.now() - stopAsked;
      expect(stopped).toEqual({ state: 'STOPPED', win32ExitCode: 0 });
      expect(stopTook).toBeGreaterThanOrEqual(19_000);
      expect(await portOpen(port)).toBe(false);
      expect(appended('err', mark)).toContain('standard input ended; ignoring it');
      const serviceLog = appended('service', mark);
      expect(serviceLog).toMatch(/node did not exit within 20 s of the stop request: killing it \(pid \d+\) and the processes it started/);
      expect(serviceLog).toMatch(/node exited with code 1\r?\n/);
    } finally {
      await scDelete(prefix, service);
    }
  }, 75_000);
});
