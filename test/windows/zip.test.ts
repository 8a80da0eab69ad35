import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRelease, type Release } from '../helpers/release';
import { toolPath } from '../helpers/testTools';
import { freePort } from '../helpers/freePort';
import { describeWithWine, runWindows, startWineserver, stopWineserver, waitForHttp, windowsPath, winePrefix, type WinePrefix } from '../helpers/wine';

/**
 * The zip, unpacked as an admin would, run under Wine: its node.exe, and hyperv-ic-exporter.cmd in a
 * console. Under Wine `process.platform` is win32, so these are the exporter's Windows code paths:
 * the default source (powershell), powershell.exe started through node-powershell, Windows paths.
 */
const pins = JSON.parse(readFileSync(join(__dirname, '../../scripts/packaging/pins.json'), 'utf8')) as { node: { version: string } };

describeWithWine(['unzip', 'dotnet', 'osslsigncode', 'zip', 'wixl', 'msibuild'], 'the zip under Wine', () => {
  let release: Release;
  let prefix: WinePrefix;
  let unpacked: string;
  let folder: string;

  beforeAll(async () => {
    [release, prefix] = await Promise.all([ensureRelease(), winePrefix('zip')]);
    unpacked = mkdtempSync(join(tmpdir(), 'hvic-zip-'));
    execFileSync(toolPath('unzip'), ['-q', release.zip, '-d', unpacked]);
    folder = join(unpacked, `hyperv-ic-exporter-${release.version}-windows-amd64`);
    await startWineserver(prefix);
  }, 600_000);

  afterAll(async () => {
    if (prefix !== undefined) await stopWineserver(prefix);
    if (unpacked !== undefined) rmSync(unpacked, { recursive: true, force: true });
  });

  test(`node.exe --version is ${pins.node.version}`, async () => {
    const run = await runWindows(prefix, [windowsPath(join(folder, 'node.exe')), '--version'], { cwd: folder });
    expect({ code: run.code, stdout: run.stdout.trim() }).toEqual({ code: 0, stdout: `v${pins.node.version}` });
  });

  test('hyperv-ic-exporter.cmd --source=simulator serves /metrics, with the runtime settings it passes to node', async () => {
    const port = await freePort();
    const running = runWindows(prefix, ['cmd', '/c', windowsPath(join(folder, 'hyperv-ic-exporter.cmd')), '--source=simulator', `--web.listen-address=127.0.0.1:${port}`], {
      cwd: folder,
      timeoutMs: 120_000,
    });
    try {
      const { body } = await waitForHttp(`http://127.0.0.1:${port}/metrics`, 60_000, (text) => /^hyperv_up 1$/m.test(text));
      expect(body).toContain(`hyperv_exporter_build_info{version="${release.version}",source="simulator"} 1`);
      expect(body).toMatch(/^hyperv_vm_heartbeat_status\{/m);
      // The exporter compares its node options with the bundle's first line and says when any is missing: none is.
      const { body: page } = await waitForHttp(`http://127.0.0.1:${port}/`, 10_000);
      expect(page).toContain('HV-SIM01');
    } finally {
      await stopWineserver(prefix);
      await running;
      await startWineserver(prefix);
    }
    const log = (await running).stderr;
    expect(log).toContain('"msg":"listening"');
    expect(log).not.toContain('started without the runtime settings');
  }, 120_000);

  test('with no --source, Windows means PowerShell: powershell.exe is started, and a failure is counted, not a crash', async () => {
    const port = await freePort();
    const running = runWindows(prefix, ['cmd', '/c', windowsPath(join(folder, 'hyperv-ic-exporter.cmd')), `--web.listen-address=127.0.0.1:${port}`], { cwd: folder, timeoutMs: 120_000 });
    try {
      // Wine's powershell.exe is a stub that answers nothing: the exporter reads that as output it cannot parse.
      const { body } = await waitForHttp(`http://127.0.0.1:${port}/metrics`, 60_000, (text) => /^hyperv_sample_failures_total\{reason="output_unparseable"\} [1-9]/m.test(text));
      expect(body).toContain(`hyperv_exporter_build_info{version="${release.version}",source="powershell"} 1`);
      expect(body).toMatch(/^hyperv_up 0$/m);
    } finally {
      await stopWineserver(prefix);
      await running;
      await startWineserver(prefix);
    }
    const log = (await running).stderr;
    // node-powershell started Windows PowerShell by its Windows name, from this Windows build of node.
    expect(log).toMatch(/"source":"powershell"/);
    expect(log).toMatch(/sample failed \(output_unparseable\)/);
  }, 120_000);
});
