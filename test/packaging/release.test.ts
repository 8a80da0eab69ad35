import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startExporter } from '../helpers/exporterProcess';
import { linkedPaths } from '../helpers/markdownLinks';
import { ensureRelease, type Release } from '../helpers/release';
import { describeWithTools, toolPath } from '../helpers/testTools';

/**
 * `npm run release`, built for real (node.exe from the registry, the service host from source, the
 * MSI with wixl) and looked at from Linux: what the zip holds, that node.exe is the pinned, signed
 * original, and that the bundle runs. The Windows side (node.exe, the launcher, the service, the
 * MSI under Wine) is in test/windows/.
 */
const pins = JSON.parse(readFileSync(join(__dirname, '../../scripts/packaging/pins.json'), 'utf8')) as { node: { version: string; nodeExeSha256: string } };
const ZIP_BUDGET_BYTES = 60_000_000;

describeWithTools(['dotnet', 'osslsigncode', 'zip', 'unzip', 'wixl', 'msibuild'], 'npm run release', () => {
  let release: Release;
  let zipEntries: string[];
  beforeAll(async () => {
    release = await ensureRelease();
    zipEntries = execFileSync(toolPath('unzip'), ['-Z1', release.zip], { encoding: 'utf8' }).trim().split('\n');
  }, 600_000);

  const folder = (): string => `hyperv-ic-exporter-${release.version}-windows-amd64`;

  test('the zip is one folder that holds the runtime, the exporter, its service, launcher and everything an admin needs', () => {
    expect(zipEntries.every((entry) => entry.startsWith(`${folder()}/`))).toBe(true);
    const files = new Set(zipEntries.map((entry) => entry.slice(folder().length + 1)));
    for (const file of [
      'node.exe',
      'hyperv-ic-exporter.js',
      'bcryptWorker.js',
      'collect.ps1',
      'hyperv-ic-exporter-service.exe',
      'hyperv-ic-exporter.cmd',
      'prometheus/alerts.yml',
      'prometheus/prometheus.yml',
      'prometheus/prometheus-probe.yml',
      'grafana/dashboards/hyperv-ic.json',
      'examples/hosts.yml',
      'docs/windows-service.md',
      'docs/metrics.md',
      'README.md',
      'LICENSE.txt',
      'licenses/node.js.txt',
      'licenses/README.txt',
    ]) {
      expect({ file, present: files.has(file) }).toEqual({ file, present: true });
    }
    // Nothing of the build: no node_modules, no TypeScript, no .NET build output.
    expect(zipEntries.filter((entry) => /node_modules|\.ts$|\.pdb$|\/obj\/|\/bin\//.test(entry))).toEqual([]);
  });

  test('the folder holds every file (or folder) that README and docs/ link to, where the links lead', () => {
    const linked = linkedPaths();
    expect(linked.length).toBeGreaterThan(10);
    // LICENSE ships as LICENSE.txt, the name Windows opens.
    const missing = linked.filter((target) => !existsSync(join(release.stageDir, target === 'LICENSE' ? 'LICENSE.txt' : target)));
    expect(missing).toEqual([]);
  });

  test(`the zip is at most 60 MB`, () => {
    const size = readFileSync(release.zip).length;
    expect(size).toBeLessThanOrEqual(ZIP_BUDGET_BYTES);
  });

  test('node.exe is the pinned official build, unmodified (signature checked during the build)', () => {
    const exe = execFileSync(toolPath('unzip'), ['-p', release.zip, `${folder()}/node.exe`], { maxBuffer: 256 * 1024 * 1024 });
    expect(createHash('sha256').update(exe).digest('hex')).toBe(pins.node.nodeExeSha256);
    expect(release.log).toMatch(new RegExp(`node\\.exe ${pins.node.version.replace(/\./g, '\\.')} \\(pinned, signature checked\\)`));
    // osslsigncode still verifies the shipped copy against the pinned root.
    const scratch = mkdtempSync(join(tmpdir(), 'hvic-node-exe-'));
    try {
      writeFileSync(join(scratch, 'node.exe'), exe);
      const root = join(__dirname, '../../scripts/packaging/microsoft-identity-verification-root-2020.pem');
      const report = execFileSync(toolPath('osslsigncode'), ['verify', '-CAfile', root, '-TSA-CAfile', root, '-ignore-cdp', '-ignore-crl', '-in', join(scratch, 'node.exe')], { encoding: 'utf8' });
      expect(report).toMatch(/^Signature verification: ok$/m);
      expect(report).toContain('O=OpenJS Foundation/CN=OpenJS Foundation');
      // A changed byte breaks it: the check is real.
      exe[exe.length >> 1] = (exe[exe.length >> 1] ?? 0) ^ 0xff;
      writeFileSync(join(scratch, 'node.exe'), exe);
      expect(() => execFileSync(toolPath('osslsigncode'), ['verify', '-CAfile', root, '-TSA-CAfile', root, '-ignore-cdp', '-ignore-crl', '-in', join(scratch, 'node.exe')], { stdio: 'pipe' })).toThrow();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test('the launcher passes its arguments on, with the runtime settings of the bundle\'s first line', () => {
    const launcher = readFileSync(join(release.stageDir, 'hyperv-ic-exporter.cmd'), 'utf8');
    const shebang = readFileSync(join(release.stageDir, 'hyperv-ic-exporter.js'), 'utf8').split('\n', 1)[0]!;
    const nodeOptions = shebang.slice(shebang.indexOf(' node ') + ' node '.length).trim();
    expect(nodeOptions).toMatch(/^--/);
    expect(launcher).toContain(`"%~dp0node.exe" ${nodeOptions} "%~dp0hyperv-ic-exporter.js" %*\r\n`);
    expect(launcher.split('\r\n')[0]).toBe('@echo off');
  });

  test('every package inside the bundle has its licence text beside it', () => {
    const index = readFileSync(join(release.stageDir, 'licenses/README.txt'), 'utf8');
    const listed = index.split('\n').filter((line) => line.includes('\t'));
    for (const name of ['express', 'pino', 'prom-client', 'bcryptjs', 'zod', 'yaml', 'node-powershell', 'saxes']) {
      expect(listed.some((line) => line.startsWith(`${name}@`))).toBe(true);
    }
    const files = new Set(readdirSync(join(release.stageDir, 'licenses')));
    for (const line of listed) expect(files.has(line.split('\t')[2]!)).toBe(true);
    expect(readFileSync(join(release.stageDir, 'licenses/node.js.txt'), 'utf8')).toMatch(/^Node\.js is licensed for use as follows:/);
  });

  test('the bundle carries its version and runs without node_modules: --version, and basic auth through the bcrypt worker beside it', async () => {
    const bundle = join(release.stageDir, 'hyperv-ic-exporter.js');
    expect(execFileSync(process.execPath, [bundle, '--version'], { encoding: 'utf8', cwd: tmpdir() })).toBe(`hyperv-ic-exporter ${release.version}\n`);
    const scratch = mkdtempSync(join(tmpdir(), 'hvic-bundle-'));
    const webConfig = join(scratch, 'web.yml');
    writeFileSync(webConfig, `basic_auth_users:\n  prometheus: ${JSON.stringify(bcrypt.hashSync('s3cret', 4))}\n`);
    const exporter = await startExporter(['--source=simulator', `--web.config.file=${webConfig}`], { timeoutMs: 15_000, script: bundle });
    try {
      const authorised = await fetch(`${exporter.baseUrl}/metrics`, { headers: { authorization: `Basic ${Buffer.from('prometheus:s3cret').toString('base64')}` } });
      expect(authorised.status).toBe(200);
      expect(await authorised.text()).toContain(`hyperv_exporter_build_info{version="${release.version}"`);
      const refused = await fetch(`${exporter.baseUrl}/metrics`, { headers: { authorization: `Basic ${Buffer.from('prometheus:wrong').toString('base64')}` } });
      expect(refused.status).toBe(401);
    } finally {
      await exporter.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 30_000);
});
