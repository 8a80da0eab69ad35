#!/usr/bin/env node
'use strict';
/**
 * Builds the MSI of hyperv-ic-exporter from a staged release folder, with wixl and msibuild (msitools):
 *
 *   node windows/msi/build.js STAGE_DIR VERSION OUT_MSI      (windows/msi/build.sh is the same)
 *
 * 1. Generates the WiX source from what is in STAGE_DIR: every file and folder in it is installed under
 *    [ProgramFiles64Folder]hyperv-ic-exporter, nothing is listed by hand. hyperv-ic-exporter-service.exe
 *    carries the Windows service (ServiceInstall, ServiceControl).
 * 2. wixl compiles it (64-bit, per-machine).
 * 3. msibuild adds what wixl cannot write: the MsiServiceConfig and MsiServiceConfigFailureActions
 *    tables (delayed automatic start, restart on failure, the failure-actions flag, the unrestricted
 *    service SID) and the MsiConfigureServices action that applies them.
 * 4. msiinfo reads the result back and checks those tables are there.
 *
 * The package, for an admin: see windows/README.md.
 */
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Never changes: it is how one version of the package finds and replaces another. */
const UPGRADE_CODE = '466D5AD2-9278-43F0-B181-DFFF90A3273F';
const SERVICE_NAME = 'hyperv-ic-exporter';
const SERVICE_EXE = 'hyperv-ic-exporter-service.exe';
const DISPLAY_NAME = 'Hyper-V integration components exporter';
const DESCRIPTION =
  'Prometheus exporter for the integration components (heartbeat, KVP, time sync, shutdown, VSS, guest services) of every Hyper-V virtual machine on this host.';
const MANUFACTURER = 'hyperv-ic-exporter';
/** Where the settings of the installed package are kept for the next upgrade. */
const SETTINGS_KEY = 'SOFTWARE\\hyperv-ic-exporter';
/** The public properties, windows_exporter's names; each is remembered across upgrades. */
const SETTINGS = ['LISTEN_ADDR', 'LISTEN_PORT', 'CONFIG_FILE', 'EXTRA_FLAGS', 'SERVICE_ACCOUNT'];
const DEFAULTS = { LISTEN_PORT: '10062', SERVICE_ACCOUNT: 'LocalSystem' };
const REQUIRED_FILES = ['node.exe', 'hyperv-ic-exporter.js', SERVICE_EXE];

// MsiServiceConfig.ConfigType (ChangeServiceConfig2 info levels) and event bits.
const SERVICE_CONFIG_DELAYED_AUTO_START_INFO = 3;
const SERVICE_CONFIG_FAILURE_ACTIONS_FLAG = 4;
const SERVICE_CONFIG_SERVICE_SID_INFO = 5;
const SERVICE_SID_TYPE_UNRESTRICTED = 1;
const EVENT_INSTALL_AND_REINSTALL = 1 | 4; // msidbServiceConfigEventInstall | msidbServiceConfigEventReinstall
const SC_ACTION_RESTART = 1;
/** Restart after 10 s, then 30 s, then every 60 s; the failure count resets after a day. */
const RESTART_DELAYS_MS = [10_000, 30_000, 60_000];
const RESET_PERIOD_S = 86_400;

class BuildError extends Error {}

function usage() {
  return 'usage: build.js STAGE_DIR VERSION OUT_MSI';
}

/** 1.2.3 (or 1.2.3-rc.1, which the MSI cannot tell from 1.2.3) → "1.2.3"; MSI allows 255.255.65535. */
function msiVersionOf(version) {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version);
  if (match === null) throw new BuildError(`VERSION must be x.y.z, got ${JSON.stringify(version)}`);
  const [major, minor, patch] = match.slice(1).map(Number);
  if (major > 255 || minor > 255 || patch > 65535) throw new BuildError(`VERSION ${version} does not fit an MSI version (at most 255.255.65535)`);
  return `${major}.${minor}.${patch}`;
}

/** A GUID from a name (SHA-1, RFC 4122 version 5 layout): the same name, the same GUID. */
function guidFrom(name) {
  const hash = crypto.createHash('sha1').update(`${UPGRADE_CODE}:${name}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A valid MSI identifier (letters, digits, _ and .; at most 72) for a path in the stage folder. */
function idFor(prefix, relative) {
  return `${prefix}_${crypto.createHash('sha256').update(relative).digest('hex').slice(0, 24)}`;
}

function xml(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The stage folder as a tree: { files: [name], dirs: { name: tree } }, sorted, regular files only. */
function readTree(directory, relative = '') {
  const tree = { relative, files: [], dirs: {} };
  for (const entry of fs.readdirSync(directory, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const child = path.join(directory, entry.name);
    const childRelative = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) tree.dirs[entry.name] = readTree(child, childRelative);
    else if (entry.isFile()) tree.files.push(entry.name);
    else throw new BuildError(`${child} is neither a file nor a folder (a link?): the MSI holds files only`);
  }
  return tree;
}

function countFiles(tree) {
  return tree.files.length + Object.values(tree.dirs).reduce((sum, sub) => sum + countFiles(sub), 0);
}

function serviceElements() {
  // StartName ([SERVICE_ACCOUNT]) and Arguments are formatted when InstallServices runs, after the
  // custom actions below have settled the properties.
  return [
    `<ServiceInstall Id="ServiceInstall" Name="${SERVICE_NAME}" DisplayName="${xml(DISPLAY_NAME)}" Description="${xml(DESCRIPTION)}"`,
    `    Type="ownProcess" Start="auto" ErrorControl="normal" Vital="yes" Account="[SERVICE_ACCOUNT]"`,
    `    Arguments="[ListenFlag] [ConfigFlag] [EXTRA_FLAGS]" />`,
    `<ServiceControl Id="ServiceControl" Name="${SERVICE_NAME}" Start="install" Stop="both" Remove="uninstall" Wait="yes" />`,
  ];
}

/** Directory and Component elements for a tree, one component per file (its key path). */
function treeElements(tree, stageDir, indent, componentIds) {
  const lines = [];
  for (const name of tree.files) {
    const relative = tree.relative === '' ? name : `${tree.relative}/${name}`;
    const componentId = idFor('c', relative);
    componentIds.push(componentId);
    lines.push(`${indent}<Component Id="${componentId}" Guid="${guidFrom(`component:${relative}`)}" Win64="yes">`);
    lines.push(`${indent}  <File Id="${idFor('f', relative)}" Name="${xml(name)}" Source="${xml(relative)}" KeyPath="yes" />`);
    if (relative === SERVICE_EXE) for (const line of serviceElements()) lines.push(`${indent}  ${line}`);
    lines.push(`${indent}</Component>`);
  }
  for (const [name, sub] of Object.entries(tree.dirs)) {
    lines.push(`${indent}<Directory Id="${idFor('d', sub.relative)}" Name="${xml(name)}">`);
    lines.push(...treeElements(sub, stageDir, `${indent}  `, componentIds));
    lines.push(`${indent}</Directory>`);
  }
  return lines;
}

/**
 * The properties: command line, else the value remembered from the installed version (AppSearch
 * reads it from the registry), else the default. AppSearch overwrites a property given on the command
 * line, so the given value is saved before it and put back after it.
 */
function propertyElements() {
  const lines = [];
  for (const name of SETTINGS) {
    lines.push(`<Property Id="${name}">`);
    lines.push(`  <RegistrySearch Id="Remembered_${name}" Root="HKLM" Key="${SETTINGS_KEY}" Name="${name}" Type="raw" Win64="yes" />`);
    lines.push(`</Property>`);
  }
  return lines;
}

function customActions() {
  /** [id, property, value, condition, after] in the order they run, each after the one before. */
  const actions = [];
  for (const name of SETTINGS) actions.push([`SaveCommandLine_${name}`, `COMMANDLINE_${name}`, `[${name}]`, name, null]);
  let previous = 'AppSearch';
  for (const name of SETTINGS) {
    actions.push([`RestoreCommandLine_${name}`, name, `[COMMANDLINE_${name}]`, `COMMANDLINE_${name}`, previous]);
    previous = `RestoreCommandLine_${name}`;
  }
  for (const [name, value] of Object.entries(DEFAULTS)) {
    actions.push([`Default_${name}`, name, value, `NOT ${name}`, previous]);
    previous = `Default_${name}`;
  }
  actions.push(['SetListenFlag', 'ListenFlag', '--web.listen-address=[LISTEN_ADDR]:[LISTEN_PORT]', null, previous]);
  actions.push(['SetConfigFlag', 'ConfigFlag', '"--config.file=[CONFIG_FILE]"', 'CONFIG_FILE', 'SetListenFlag']);
  // Running the installed version's MSI again (to change a property) reinstalls everything, the
  // service's configuration too, as windows_exporter's MSI does.
  const again = 'Installed AND NOT REMOVE AND NOT UPGRADINGPRODUCTCODE';
  actions.push(['ReinstallAll', 'REINSTALL', 'ALL', again, 'SetConfigFlag']);
  actions.push(['ReinstallModeAll', 'REINSTALLMODE', 'amus', again, 'ReinstallAll']);

  const definitions = actions.map(([id, property, value]) => `<CustomAction Id="${id}" Property="${property}" Value="${xml(value)}" Impersonate="yes" />`);
  const schedule = actions.map(([id, , , condition, after]) => {
    const where = after === null ? 'Before="AppSearch"' : `After="${after}"`;
    return condition === null ? `<Custom Action="${id}" ${where} />` : `<Custom Action="${id}" ${where}>${xml(condition)}</Custom>`;
  });
  return { definitions, schedule };
}

function settingsComponent(componentIds) {
  componentIds.push('RememberedSettings');
  const lines = [`<Component Id="RememberedSettings" Guid="${guidFrom('component:settings')}" Win64="yes">`];
  SETTINGS.forEach((name, index) => {
    lines.push(`  <RegistryValue Root="HKLM" Key="${SETTINGS_KEY}" Name="${name}" Type="string" Value="[${name}]"${index === 0 ? ' KeyPath="yes"' : ''} />`);
  });
  lines.push('</Component>');
  return lines;
}

function wxsSource(stageDir, version, msiVersion) {
  const tree = readTree(stageDir);
  const componentIds = [];
  const files = treeElements(tree, stageDir, '          ', componentIds);
  const settings = settingsComponent(componentIds).map((line) => `          ${line}`);
  const { definitions, schedule } = customActions();
  return `<?xml version="1.0" encoding="utf-8"?>
<!-- Generated by windows/msi/build.js from ${xml(path.basename(stageDir))}; do not edit. -->
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="${guidFrom(`product:${msiVersion}`)}" UpgradeCode="${UPGRADE_CODE}" Name="hyperv-ic-exporter ${xml(version)}"
           Version="${msiVersion}" Manufacturer="${MANUFACTURER}" Language="1033" Codepage="1252">
    <Package Id="*" InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Platform="x64"
             Description="hyperv-ic-exporter ${xml(version)}: ${xml(DISPLAY_NAME)}" Comments="${xml(DESCRIPTION)}" />
    <Media Id="1" Cabinet="files.cab" EmbedCab="yes" />
    <MajorUpgrade DowngradeErrorMessage="A later version of [ProductName] is already installed. Uninstall it first to install this one." />

${propertyElements().map((line) => `    ${line}`).join('\n')}
    <Property Id="ARPNOMODIFY" Value="1" />
    <Property Id="ARPNOREPAIR" Value="1" />
    <Property Id="ARPCOMMENTS" Value="${xml(DESCRIPTION)}" />
    <!-- A Hyper-V host is never restarted by this package, not even by a quiet (/qn) install that
         found a file in use: such an install ends with 3010 (restart required) instead. -->
    <Property Id="REBOOT" Value="ReallySuppress" />
    <!-- The service is stopped by ServiceControl, not by the Restart Manager. -->
    <Property Id="MSIRESTARTMANAGERCONTROL" Value="Disable" />

${definitions.map((line) => `    ${line}`).join('\n')}
    <InstallExecuteSequence>
${schedule.map((line) => `      ${line}`).join('\n')}
    </InstallExecuteSequence>
    <InstallUISequence>
${schedule.map((line) => `      ${line}`).join('\n')}
    </InstallUISequence>

    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="hyperv-ic-exporter">
${files.join('\n')}
${settings.join('\n')}
        </Directory>
      </Directory>
    </Directory>

    <Feature Id="Exporter" Title="hyperv-ic-exporter" Level="1" Absent="disallow">
${componentIds.map((id) => `      <ComponentRef Id="${id}" />`).join('\n')}
    </Feature>
  </Product>
</Wix>
`;
}

/** One .idt file: column names, column types, table name and keys, then the rows (tab-separated). */
function idt(table, columns, keys, rows) {
  const clean = (value) => {
    const text = value === null ? '' : String(value);
    if (/[\t\r\n]/.test(text)) throw new BuildError(`${table}: a value holds a tab or a line break: ${JSON.stringify(text)}`);
    return text;
  };
  return [columns.map(([name]) => name).join('\t'), columns.map(([, type]) => type).join('\t'), [table, ...keys].join('\t'), ...rows.map((row) => row.map(clean).join('\t'))].join('\r\n') + '\r\n';
}

function serviceConfigTables(serviceComponent) {
  const config = idt(
    'MsiServiceConfig',
    [['MsiServiceConfig', 's72'], ['Name', 'l255'], ['Event', 'i2'], ['ConfigType', 'i4'], ['Argument', 'S0'], ['Component_', 's72']],
    ['MsiServiceConfig'],
    [
      // Started after the automatic services, so that WMI and VMMS are up first.
      ['DelayedAutoStart', SERVICE_NAME, EVENT_INSTALL_AND_REINSTALL, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, '1', serviceComponent],
      // A stop with a non-zero exit code counts as a failure too (the host reports 1067 when node exits on its own).
      ['FailureActionsOnNonCrash', SERVICE_NAME, EVENT_INSTALL_AND_REINSTALL, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, '1', serviceComponent],
      // NT SERVICE\hyperv-ic-exporter in the service's token, so that ACLs can name the service.
      ['ServiceSidUnrestricted', SERVICE_NAME, EVENT_INSTALL_AND_REINSTALL, SERVICE_CONFIG_SERVICE_SID_INFO, String(SERVICE_SID_TYPE_UNRESTRICTED), serviceComponent],
    ],
  );
  const failureActions = idt(
    'MsiServiceConfigFailureActions',
    [
      ['MsiServiceConfigFailureActions', 's72'],
      ['Name', 'l255'],
      ['Event', 'i2'],
      ['ResetPeriod', 'I4'],
      ['RebootMessage', 'L255'],
      ['Command', 'L255'],
      ['Actions', 'S0'],
      ['DelayActions', 'S0'],
      ['Component_', 's72'],
    ],
    ['MsiServiceConfigFailureActions'],
    [['RestartOnFailure', SERVICE_NAME, EVENT_INSTALL_AND_REINSTALL, RESET_PERIOD_S, null, null, RESTART_DELAYS_MS.map(() => SC_ACTION_RESTART).join('[~]'), RESTART_DELAYS_MS.join('[~]'), serviceComponent]],
  );
  return { config, failureActions };
}

function run(program, args, options = {}) {
  try {
    return execFileSync(program, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...options });
  } catch (error) {
    if (error.code === 'ENOENT') throw new BuildError(`${program} is not installed (Debian: apt-get install wixl msitools)`);
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new BuildError(`${program} ${args.join(' ')} failed (${error.status ?? error.signal}): ${output.split('\n').slice(-10).join('\n')}`);
  }
}

/** msiinfo export as rows of columns (after the three header lines). */
function tableRows(msi, table) {
  return run('msiinfo', ['export', msi, table])
    .split(/\r?\n/)
    .slice(3)
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));
}

function build(stageDir, version, outMsi) {
  for (const file of REQUIRED_FILES) {
    if (!fs.statSync(path.join(stageDir, file), { throwIfNoEntry: false })?.isFile()) throw new BuildError(`${path.join(stageDir, file)} is missing: STAGE_DIR must be the staged release folder`);
  }
  const msiVersion = msiVersionOf(version);
  if (msiVersion !== version) process.stderr.write(`windows/msi: the MSI's version is ${msiVersion} (an MSI version has no pre-release or build part)\n`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperv-ic-exporter-msi-'));
  try {
    const wxs = path.join(work, 'hyperv-ic-exporter.wxs');
    fs.writeFileSync(wxs, wxsSource(stageDir, version, msiVersion));
    const msi = path.join(work, 'hyperv-ic-exporter.msi');
    // wixl finds a File's Source relative to its working directory: the stage folder.
    run('wixl', ['--arch', 'x64', '-o', msi, wxs], { cwd: stageDir });

    const serviceComponent = tableRows(msi, 'ServiceInstall')[0]?.[11];
    if (serviceComponent === undefined) throw new BuildError('wixl wrote no ServiceInstall row');
    const { config, failureActions } = serviceConfigTables(serviceComponent);
    fs.writeFileSync(path.join(work, 'MsiServiceConfig.idt'), config, 'latin1');
    fs.writeFileSync(path.join(work, 'MsiServiceConfigFailureActions.idt'), failureActions, 'latin1');
    // MsiConfigureServices (Windows Installer 5) applies both tables: after InstallServices, before StartServices.
    const sequence = tableRows(msi, 'InstallExecuteSequence');
    const numberOf = (action) => Number(sequence.find((row) => row[0] === action)?.[2]);
    const installServices = numberOf('InstallServices');
    const startServices = numberOf('StartServices');
    if (!(startServices - installServices >= 2)) throw new BuildError(`no room between InstallServices (${installServices}) and StartServices (${startServices})`);
    const configureServices = Math.floor((installServices + startServices) / 2);
    // wixl schedules RemoveExistingProducts after InstallFinalize: the old version would then be removed
    // after the new one is installed, and its uninstall would delete the service the new one just
    // registered. Right after InstallValidate the old version, its service included, goes first.
    const removeExisting = numberOf('InstallValidate') + 1;
    if (!(numberOf('InstallInitialize') > removeExisting)) throw new BuildError('no room between InstallValidate and InstallInitialize');
    // wixl has no Secure attribute: the public properties must reach the server side of a per-machine install.
    const secure = tableRows(msi, 'Property').find((row) => row[0] === 'SecureCustomProperties')?.[1];
    const secureProperties = [...new Set([...(secure === undefined || secure === '' ? [] : secure.split(';')), ...SETTINGS])].join(';');
    run('msibuild', [
      msi,
      '-i',
      path.join(work, 'MsiServiceConfig.idt'),
      '-i',
      path.join(work, 'MsiServiceConfigFailureActions.idt'),
      '-q',
      `INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Condition\`, \`Sequence\`) VALUES ('MsiConfigureServices', 'VersionNT >= 600', ${configureServices})`,
      '-q',
      `UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = ${removeExisting} WHERE \`Action\` = 'RemoveExistingProducts'`,
      '-q',
      secure === undefined
        ? `INSERT INTO \`Property\` (\`Property\`, \`Value\`) VALUES ('SecureCustomProperties', '${secureProperties}')`
        : `UPDATE \`Property\` SET \`Value\` = '${secureProperties}' WHERE \`Property\` = 'SecureCustomProperties'`,
    ]);

    // Read back what a Windows Installer will see.
    const tables = run('msiinfo', ['tables', msi]).split(/\r?\n/);
    for (const table of ['MsiServiceConfig', 'MsiServiceConfigFailureActions', 'ServiceInstall', 'ServiceControl', 'Upgrade']) {
      if (!tables.includes(table)) throw new BuildError(`the MSI has no ${table} table`);
    }
    const finalSequence = tableRows(msi, 'InstallExecuteSequence');
    const finalNumberOf = (action) => Number(finalSequence.find((row) => row[0] === action)?.[2]);
    if (!(finalNumberOf('MsiConfigureServices') > finalNumberOf('InstallServices') && finalNumberOf('MsiConfigureServices') < finalNumberOf('StartServices'))) {
      throw new BuildError('MsiConfigureServices is not between InstallServices and StartServices');
    }
    if (!(finalNumberOf('RemoveExistingProducts') > finalNumberOf('InstallValidate') && finalNumberOf('RemoveExistingProducts') < finalNumberOf('InstallInitialize'))) {
      throw new BuildError('RemoveExistingProducts is not between InstallValidate and InstallInitialize');
    }
    const fileRows = tableRows(msi, 'File').length;
    const staged = countFiles(readTree(stageDir));
    if (fileRows !== staged) throw new BuildError(`the MSI holds ${fileRows} files, the stage folder ${staged}`);

    fs.mkdirSync(path.dirname(path.resolve(outMsi)), { recursive: true });
    fs.copyFileSync(msi, `${outMsi}.tmp`);
    fs.renameSync(`${outMsi}.tmp`, outMsi);
    if (process.env.HYPERV_IC_EXPORTER_KEEP_WXS) fs.copyFileSync(wxs, process.env.HYPERV_IC_EXPORTER_KEEP_WXS);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { msiVersion, productCode: guidFrom(`product:${msiVersion}`) };
}

if (require.main === module) {
  const [stageDir, version, outMsi] = process.argv.slice(2);
  if (process.argv.length !== 5) {
    process.stderr.write(`${usage()}\n`);
    process.exit(2);
  }
  try {
    const { msiVersion, productCode } = build(stageDir, version, outMsi);
    process.stdout.write(`${outMsi} (MSI version ${msiVersion}, ProductCode {${productCode}}, UpgradeCode {${UPGRADE_CODE}})\n`);
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    process.stderr.write(`windows/msi/build.js: ${error.message}\n`);
    process.exit(1);
  }
}

module.exports = { build, guidFrom, msiVersionOf, UPGRADE_CODE, SERVICE_NAME };
