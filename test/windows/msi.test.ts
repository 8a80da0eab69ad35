import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/freePort';
import { ensureRelease, type Release } from '../helpers/release';
import { toolPath } from '../helpers/testTools';
import {
  describeWithWine,
  MSIEXEC_FAILED,
  msiexec,
  netStart,
  netStop,
  portOpen,
  regQuery,
  regSubkeys,
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
 * The MSI (windows/msi/), read with msiinfo and installed with Wine's msiexec: the service runs and
 * serves /metrics on the port given, net stop closes it, a newer MSI upgrades it in place (one service,
 * the settings kept), an older one is refused, and uninstalling removes the service.
 *
 * Wine does not apply MsiServiceConfig / MsiServiceConfigFailureActions (delayed start, failure
 * actions, service SID): those are checked in the tables only.
 */

const SERVICE = 'hyperv-ic-exporter';
const UPGRADE_CODE = '{466D5AD2-9278-43F0-B181-DFFF90A3273F}';
const SERVICES_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Services';
const SETTINGS_KEY = 'HKLM\\SOFTWARE\\hyperv-ic-exporter';
const UNINSTALL_KEY = 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
const INSTALL_DIR = 'C:\\Program Files\\hyperv-ic-exporter';

/** msiinfo export FILE TABLE → rows as column name → value. */
function table(msi: string, name: string): Record<string, string>[] {
  const lines = execFileSync(toolPath('msiinfo'), ['export', msi, name], { encoding: 'utf8' }).split(/\r?\n/);
  const columns = lines[0]!.split('\t');
  return lines
    .slice(3)
    .filter((line) => line !== '')
    .map((line) => Object.fromEntries(line.split('\t').map((value, index) => [columns[index]!, value])));
}

function countFiles(directory: string): number {
  return readdirSync(directory, { withFileTypes: true }).reduce((sum, entry) => sum + (entry.isDirectory() ? countFiles(join(directory, entry.name)) : 1), 0);
}

/** x.y.z → x.y.(z+1): a newer version of the same package. */
function nextVersion(version: string): string {
  const [major, minor, patch] = /^(\d+)\.(\d+)\.(\d+)/.exec(version)!.slice(1).map(Number);
  return `${major}.${minor}.${patch! + 1}`;
}

describeWithWine(['msiinfo', 'msibuild', 'wixl'], 'the MSI under Wine', () => {
  let prefix: WinePrefix;
  let release: Release;
  let scratch: string;
  let newerMsi: string;
  /** The newer package's build, started in beforeAll and awaited by the upgrade test; its error, if any. */
  let newerBuilt: Promise<string | null>;
  let port: number;

  beforeAll(async () => {
    [release, prefix] = await Promise.all([ensureRelease(), winePrefix('msi')]);
    scratch = mkdtempSync(join(tmpdir(), 'hvic-msi-'));
    newerMsi = join(scratch, `newer-${nextVersion(release.version)}.msi`);
    // The newer package: the same stage folder, built again with the next version, while the first tests run.
    newerBuilt = promisify(execFile)('bash', [join(__dirname, '../../windows/msi/build.sh'), release.stageDir, nextVersion(release.version), newerMsi]).then(
      () => null,
      (error: Error & { stderr?: string }) => `windows/msi/build.sh failed: ${error.stderr ?? error.message}`,
    );
    await startWineserver(prefix);
    // A prefix kept from an earlier run may still hold a package: start from none.
    for (const key of await regSubkeys(prefix, UNINSTALL_KEY)) {
      const code = /\{[0-9A-F-]{36}\}$/i.exec(key)?.[0];
      if (code !== undefined && (await regQuery(prefix, key))?.['DisplayName']?.startsWith('hyperv-ic-exporter')) await msiexec(prefix, ['/x', code]);
    }
    port = await freePort();
  }, 900_000);

  afterAll(async () => {
    if (newerBuilt !== undefined) await newerBuilt;
    if (prefix !== undefined) await stopWineserver(prefix);
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  const productCode = (msi: string): string => table(msi, 'Property').find((row) => row['Property'] === 'ProductCode')!['Value']!;
  const installedProducts = async (): Promise<string[]> => {
    const products: string[] = [];
    for (const key of await regSubkeys(prefix, UNINSTALL_KEY)) {
      if ((await regQuery(prefix, key))?.['DisplayName']?.startsWith('hyperv-ic-exporter')) products.push(/\{[0-9A-F-]{36}\}$/i.exec(key)![0].toUpperCase());
    }
    return products;
  };
  const ourServices = async (): Promise<string[]> => (await regSubkeys(prefix, SERVICES_KEY)).filter((key) => /hyperv-ic-exporter/i.test(key));

  test('msiinfo: a 64-bit per-machine package of the whole stage folder, with its service, its properties and what wixl cannot write', () => {
    const msi = release.msi;
    const suminfo = execFileSync(toolPath('msiinfo'), ['suminfo', msi], { encoding: 'utf8' });
    expect(suminfo).toMatch(/^Template: x64;1033$/m);
    const property = Object.fromEntries(table(msi, 'Property').map((row) => [row['Property'], row['Value']]));
    expect(property).toMatchObject({ ALLUSERS: '1', UpgradeCode: UPGRADE_CODE, ProductVersion: release.version.replace(/[-+].*$/, ''), REBOOT: 'ReallySuppress' });
    expect(property['SecureCustomProperties']!.split(';')).toEqual(expect.arrayContaining(['LISTEN_ADDR', 'LISTEN_PORT', 'CONFIG_FILE', 'EXTRA_FLAGS', 'SERVICE_ACCOUNT', 'WIX_UPGRADE_DETECTED', 'WIX_DOWNGRADE_DETECTED']));

    // Files: everything staged, under [ProgramFiles64Folder]hyperv-ic-exporter, 64-bit components.
    expect(table(msi, 'File')).toHaveLength(countFiles(release.stageDir));
    expect(table(msi, 'Directory')).toEqual(expect.arrayContaining([{ Directory: 'INSTALLDIR', Directory_Parent: 'ProgramFiles64Folder', DefaultDir: 'hyperv-ic-exporter' }]));
    expect(table(msi, 'Component').every((row) => (Number(row['Attributes']) & 256) === 256)).toBe(true);

    // The service and its arguments, windows_exporter's properties, their defaults.
    const serviceExe = table(msi, 'File').find((row) => row['FileName'] === 'hyperv-ic-exporter-service.exe')!;
    expect(table(msi, 'ServiceInstall')).toEqual([
      expect.objectContaining({
        Name: SERVICE,
        DisplayName: 'Hyper-V integration components exporter',
        ServiceType: '16',
        StartType: '2',
        ErrorControl: '1',
        Dependencies: '',
        StartName: '[SERVICE_ACCOUNT]',
        Password: '',
        Arguments: '[ListenFlag] [ConfigFlag] [EXTRA_FLAGS]',
        Component_: serviceExe['Component_'],
      }),
    ]);
    // Start at install; stop at install and uninstall; delete at uninstall; wait.
    expect(table(msi, 'ServiceControl')).toEqual([expect.objectContaining({ Name: SERVICE, Event: String(0x1 | 0x2 | 0x20 | 0x80), Wait: '1' })]);
    const actions = Object.fromEntries(table(msi, 'CustomAction').map((row) => [row['Action'], row]));
    expect(actions['Default_LISTEN_PORT']).toMatchObject({ Type: '51', Source: 'LISTEN_PORT', Target: '10062' });
    expect(actions['Default_SERVICE_ACCOUNT']).toMatchObject({ Type: '51', Source: 'SERVICE_ACCOUNT', Target: 'LocalSystem' });
    expect(actions['SetListenFlag']).toMatchObject({ Source: 'ListenFlag', Target: '--web.listen-address=[LISTEN_ADDR]:[LISTEN_PORT]' });
    expect(actions['SetConfigFlag']).toMatchObject({ Source: 'ConfigFlag', Target: '"--config.file=[CONFIG_FILE]"' });

    // MsiServiceConfig: delayed automatic start, the failure-actions flag, the unrestricted service SID.
    expect(table(msi, 'MsiServiceConfig').map((row) => [row['Name'], row['ConfigType'], row['Argument'], row['Event']])).toEqual([
      [SERVICE, '3', '1', '5'],
      [SERVICE, '4', '1', '5'],
      [SERVICE, '5', '1', '5'],
    ]);
    expect(table(msi, 'MsiServiceConfigFailureActions')).toEqual([
      expect.objectContaining({ Name: SERVICE, Event: '5', ResetPeriod: '86400', Actions: '1[~]1[~]1', DelayActions: '10000[~]30000[~]60000', Component_: serviceExe['Component_'] }),
    ]);

    // Upgrades: older versions are removed first (right after InstallValidate), newer ones refuse the install.
    const upgrade = table(msi, 'Upgrade');
    expect(upgrade).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ UpgradeCode: UPGRADE_CODE, VersionMin: '', VersionMax: property['ProductVersion'], Attributes: '1', ActionProperty: 'WIX_UPGRADE_DETECTED' }),
        expect.objectContaining({ UpgradeCode: UPGRADE_CODE, VersionMin: property['ProductVersion'], VersionMax: '', Attributes: '2', ActionProperty: 'WIX_DOWNGRADE_DETECTED' }),
      ]),
    );
    expect(table(msi, 'LaunchCondition')).toEqual([expect.objectContaining({ Condition: 'NOT WIX_DOWNGRADE_DETECTED' })]);
    const sequence = Object.fromEntries(table(msi, 'InstallExecuteSequence').map((row) => [row['Action'], Number(row['Sequence'])]));
    expect(sequence['FindRelatedProducts']).toBeLessThan(sequence['LaunchConditions']!);
    expect(sequence['RemoveExistingProducts']).toBeGreaterThan(sequence['InstallValidate']!);
    expect(sequence['RemoveExistingProducts']).toBeLessThan(sequence['InstallInitialize']!);
    expect(sequence['MsiConfigureServices']).toBeGreaterThan(sequence['InstallServices']!);
    expect(sequence['MsiConfigureServices']).toBeLessThan(sequence['StartServices']!);
    // The properties are settled (command line, else remembered, else default) before anything uses them.
    expect(sequence['SaveCommandLine_LISTEN_PORT']).toBeLessThan(sequence['AppSearch']!);
    expect(sequence['RestoreCommandLine_LISTEN_PORT']).toBeGreaterThan(sequence['AppSearch']!);
    expect(sequence['Default_LISTEN_PORT']).toBeGreaterThan(sequence['RestoreCommandLine_LISTEN_PORT']!);
    expect(sequence['SetListenFlag']).toBeGreaterThan(sequence['Default_LISTEN_PORT']!);
    expect(sequence['SetListenFlag']).toBeLessThan(sequence['InstallServices']!);
    expect(statSync(msi).size).toBeGreaterThan(0);
  });

  test('msiexec /i /qn LISTEN_ADDR LISTEN_PORT EXTRA_FLAGS: the service runs and serves /metrics; net stop closes the port', async () => {
    const installing = Date.now();
    const install = await msiexec(prefix, ['/i', windowsPath(release.msi), 'LISTEN_ADDR=127.0.0.1', `LISTEN_PORT=${port}`, 'EXTRA_FLAGS=--source=simulator']);
    expect(install.code).toBe(0);
    expect(await waitForServiceState(prefix, SERVICE, 'RUNNING', 30_000)).toEqual({ state: 'RUNNING', win32ExitCode: 0 });
    const metrics = await waitForHttp(`http://127.0.0.1:${port}/metrics`, 30_000, (body) => /^hyperv_vm_heartbeat_ok\{/m.test(body));
    console.log(`MSI under Wine: msiexec /i → /metrics with VM metrics in ${metrics.at - installing} ms`);

    expect(await installedProducts()).toEqual([productCode(release.msi)]);
    expect(await ourServices()).toEqual([`${SERVICES_KEY}\\${SERVICE}`]);
    const config = await regQuery(prefix, `${SERVICES_KEY}\\${SERVICE}`);
    // Wine's msiexec leaves the program's path unquoted (Windows Installer quotes it).
    expect(config?.['ImagePath']).toMatch(new RegExp(`^"?C:\\\\Program Files\\\\hyperv-ic-exporter\\\\hyperv-ic-exporter-service\\.exe"? --web\\.listen-address=127\\.0\\.0\\.1:${port} +--source=simulator$`));
    expect(config).toMatchObject({ Start: '0x2', ObjectName: 'LocalSystem', DisplayName: 'Hyper-V integration components exporter' });
    expect(await regQuery(prefix, SETTINGS_KEY)).toEqual({ LISTEN_ADDR: '127.0.0.1', LISTEN_PORT: String(port), CONFIG_FILE: '', EXTRA_FLAGS: '--source=simulator', SERVICE_ACCOUNT: 'LocalSystem' });

    await netStop(prefix, SERVICE);
    expect(await waitForServiceState(prefix, SERVICE, 'STOPPED', 30_000)).toEqual({ state: 'STOPPED', win32ExitCode: 0 });
    expect(await portOpen(port)).toBe(false);
  }, 90_000);

  test('a newer MSI upgrades in place while the service runs: the older package goes, one service remains, the settings are kept; an older MSI is refused', async () => {
    expect(await newerBuilt).toBeNull();
    expect((await netStart(prefix, SERVICE)).code).toBe(0);
    await waitForHttp(`http://127.0.0.1:${port}/metrics`, 30_000);
    const upgrade = await msiexec(prefix, ['/i', windowsPath(newerMsi)]);
    expect(upgrade.code).toBe(0);
    expect(await installedProducts()).toEqual([productCode(newerMsi)]);
    expect(await ourServices()).toEqual([`${SERVICES_KEY}\\${SERVICE}`]);
    expect(await waitForServiceState(prefix, SERVICE, 'RUNNING', 30_000)).toEqual({ state: 'RUNNING', win32ExitCode: 0 });
    // No property on this command line: address, port and flags are the ones the first install was given.
    await waitForHttp(`http://127.0.0.1:${port}/metrics`, 30_000, (body) => /^hyperv_vm_heartbeat_ok\{/m.test(body));
    expect(await regQuery(prefix, SETTINGS_KEY)).toMatchObject({ LISTEN_ADDR: '127.0.0.1', LISTEN_PORT: String(port), EXTRA_FLAGS: '--source=simulator' });

    const downgrade = await msiexec(prefix, ['/i', windowsPath(release.msi)]);
    expect(downgrade.code).toBe(MSIEXEC_FAILED);
    expect(await installedProducts()).toEqual([productCode(newerMsi)]);
    expect((await scQuery(prefix, SERVICE)).state).toBe('RUNNING');
  }, 90_000);

  test('msiexec /x removes it: the service is stopped and deleted, the port closed, the settings gone', async () => {
    const uninstall = await msiexec(prefix, ['/x', productCode(newerMsi)]);
    expect(uninstall.code).toBe(0);
    expect(await installedProducts()).toEqual([]);
    expect(await scQuery(prefix, SERVICE)).toEqual({ state: null, win32ExitCode: null });
    expect(await ourServices()).toEqual([]);
    expect(await portOpen(port)).toBe(false);
    expect(await regQuery(prefix, SETTINGS_KEY)).toBeNull();
    // What Wine could not delete while the service's processes were still exiting is all that may remain.
    const left = (() => {
      try {
        return readdirSync(unixPathInPrefix(prefix, INSTALL_DIR));
      } catch {
        return [];
      }
    })();
    expect(left.filter((file) => !['hyperv-ic-exporter-service.exe', 'node.exe'].includes(file))).toEqual([]);
  }, 60_000);
});
