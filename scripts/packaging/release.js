#!/usr/bin/env node
'use strict';
// `npm run release`: the Windows release, built on Linux from a checkout, into release/:
//   hyperv-ic-exporter-<version>-windows-amd64/       the folder that runs as it is (no Node.js on the host)
//   hyperv-ic-exporter-<version>-windows-amd64.zip    that folder, zipped
//   hyperv-ic-exporter-<version>-windows-amd64.msi    the same files, a Windows service, upgrades in place
//   SHA256SUMS
// Every download is pinned (scripts/packaging/pins.json) and checked before it is used; node.exe must
// also carry the OpenJS Foundation's Authenticode signature. Needs: node, npm, the .NET SDK (the
// service host), osslsigncode, zip, wixl and msibuild (scripts/install-test-tools.sh installs them).
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { collectLicences } = require('./licences');
// The runtime settings are read from the bundle's first line by the exporter's own reader (npm run release builds dist/ first).
const { runtimeSettingsOf } = require('../../dist/runtimeSettings');

const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = path.join(ROOT, '.cache', 'release');
const OUT = path.join(ROOT, 'release');
const pins = JSON.parse(fs.readFileSync(path.join(__dirname, 'pins.json'), 'utf8'));
const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const NAME = `hyperv-ic-exporter-${version}-windows-amd64`;
const FOLDER = path.join(OUT, NAME);
// Built aside and moved into place at the end, so that the folder is never seen half-built.
const STAGE = path.join(OUT, `.building-${process.pid}`, NAME);

class ReleaseError extends Error {}

const started = Date.now();
const timings = [];
function step(name, work) {
  const at = Date.now();
  const result = work();
  timings.push([name, Date.now() - at]);
  process.stdout.write(`release: ${name} (${((Date.now() - at) / 1000).toFixed(1)} s)\n`);
  return result;
}

function run(command, args, options = {}) {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...options });
  } catch (error) {
    if (error.code === 'ENOENT') throw new ReleaseError(`${command} is not installed (bash scripts/install-test-tools.sh installs it)`);
    const said = `${error.stderr ?? ''}\n${error.stdout ?? ''}`.trim().split('\n').slice(-5).join(' | ');
    throw new ReleaseError(`${command} ${args.slice(0, 3).join(' ')} failed: ${said}`);
  }
}

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** An npm registry tarball, from the cache or `npm pack`, checked against its pinned integrity. */
function registryTarball(name, version, integrity) {
  fs.mkdirSync(CACHE, { recursive: true });
  const file = path.join(CACHE, `${name}-${version}.tgz`);
  if (!fs.existsSync(file)) {
    run('npm', ['pack', `${name}@${version}`, '--pack-destination', CACHE, '--silent']);
    if (!fs.existsSync(file)) throw new ReleaseError(`npm pack ${name}@${version} wrote no ${path.basename(file)}`);
  }
  const [algorithm, expected] = integrity.split(/-(.*)/s);
  const actual = crypto.createHash(algorithm).update(fs.readFileSync(file)).digest('base64');
  if (actual !== expected) {
    fs.rmSync(file);
    throw new ReleaseError(`${name}@${version}: integrity ${algorithm}-${actual} is not the pinned ${integrity} (scripts/packaging/pins.json); the cached file was removed`);
  }
  return file;
}

function extract(tarball, member, to) {
  const bytes = execFileSync('tar', ['-xzOf', tarball, member], { maxBuffer: 256 * 1024 * 1024 });
  fs.writeFileSync(to, bytes);
}

/** node.exe: pinned tarball, pinned file hash, and a valid OpenJS Foundation signature under the pinned Microsoft root. */
function nodeRuntime() {
  const node = pins.node;
  const tarball = registryTarball(node.windowsPackage, node.version, node.windowsPackageIntegrity);
  const exe = path.join(STAGE, 'node.exe');
  extract(tarball, 'package/bin/node.exe', exe);
  if (sha256(exe) !== node.nodeExeSha256) throw new ReleaseError(`node.exe: SHA-256 ${sha256(exe)} is not the pinned ${node.nodeExeSha256}`);
  verifySignature(exe);
  const licenceTarball = registryTarball(node.licencePackage, node.version, node.licencePackageIntegrity);
  const licence = path.join(STAGE, 'licenses', 'node.js.txt');
  fs.mkdirSync(path.dirname(licence), { recursive: true });
  extract(licenceTarball, 'package/LICENSE', licence);
  if (sha256(licence) !== node.licenceSha256) throw new ReleaseError(`Node.js LICENSE: SHA-256 ${sha256(licence)} is not the pinned ${node.licenceSha256}`);
}

/**
 * osslsigncode checks the digest, the chain to the pinned root and the timestamp. CRLs cannot be
 * fetched here (no network but the registries), so revocation is not checked; Windows checks it.
 */
function verifySignature(exe) {
  const pin = pins.authenticode;
  const root = path.join(__dirname, pin.rootCertificate);
  const rootHash = crypto.createHash('sha256').update(new crypto.X509Certificate(fs.readFileSync(root)).raw).digest('hex').toUpperCase();
  if (rootHash !== pin.rootSha256) throw new ReleaseError(`${pin.rootCertificate}: SHA-256 ${rootHash} is not the pinned ${pin.rootSha256}`);
  let report;
  try {
    report = execFileSync('osslsigncode', ['verify', '-CAfile', root, '-TSA-CAfile', root, '-ignore-cdp', '-ignore-crl', '-in', exe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT') throw new ReleaseError('osslsigncode is not installed (bash scripts/install-test-tools.sh installs it)');
    const lines = `${error.stdout ?? ''}`.split('\n').filter((line) => /verification|MISMATCH|Error/i.test(line));
    throw new ReleaseError(`node.exe: Authenticode verification failed: ${lines.join(' | ').replace(/\s+/g, ' ')}`);
  }
  if (!/^Signature verification: ok$/m.test(report)) throw new ReleaseError('node.exe: osslsigncode did not report "Signature verification: ok"');
  const signer = /Signer's certificate:\s*-+\s*Signer #0:\s*Subject: (.*)/.exec(report)?.[1]?.trim();
  if (signer !== pin.signerSubject) throw new ReleaseError(`node.exe: signed by "${signer}", not "${pin.signerSubject}"`);
}

/** The exporter as two files (main and the bcrypt worker thread) with every dependency inside. */
function bundle() {
  const esbuild = require('esbuild');
  const result = esbuild.buildSync({
    absWorkingDir: ROOT,
    entryPoints: { 'hyperv-ic-exporter': 'src/main.ts', bcryptWorker: 'src/server/bcryptWorker.ts' },
    outdir: STAGE,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    define: { HYPERV_IC_EXPORTER_BUNDLED_VERSION: JSON.stringify(version) },
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  if (result.warnings.length > 0) throw new ReleaseError(`esbuild: ${result.warnings.map((w) => w.text).join('; ')}`);
  const main = fs.readFileSync(path.join(STAGE, 'hyperv-ic-exporter.js'), 'utf8');
  // The first line carries the runtime settings (src/main.ts); the launcher and the service read them there.
  if (!main.startsWith('#!/usr/bin/env -S ')) throw new ReleaseError('the bundle lost the first line of src/main.ts (the runtime settings)');
  fs.copyFileSync(path.join(ROOT, 'src/sources/powershell/collect.ps1'), path.join(STAGE, 'collect.ps1'));
  return result.metafile;
}

/** hyperv-ic-exporter.cmd: the exporter in this console, with its runtime settings; arguments passed on. */
function launcher() {
  const text = [
    '@echo off',
    'rem hyperv-ic-exporter in this console, with the runtime settings of docs\\performance.md.',
    'rem Arguments are passed on, e.g.:  hyperv-ic-exporter.cmd --web.listen-address=:10062',
    'rem Ctrl+C stops it. As a Windows service it runs through hyperv-ic-exporter-service.exe instead.',
    'setlocal',
    `"%~dp0node.exe" ${runtimeSettingsOf(path.join(STAGE, 'hyperv-ic-exporter.js')).nodeOptions.join(' ')} "%~dp0hyperv-ic-exporter.js" %*`,
    'exit /b %ERRORLEVEL%',
    '',
  ].join('\r\n');
  fs.writeFileSync(path.join(STAGE, 'hyperv-ic-exporter.cmd'), text);
}

function copy(from, to) {
  const source = path.join(ROOT, from);
  const target = path.join(STAGE, to);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(source, target, { recursive: true });
}

/** What an admin needs beside the binaries: rules, dashboard, examples, docs, licences. */
function companions(metafile) {
  copy('README.md', 'README.md');
  copy('CHANGELOG.md', 'CHANGELOG.md');
  copy('LICENSE', 'LICENSE.txt');
  copy('docs', 'docs');
  copy('prometheus/alerts.yml', 'prometheus/alerts.yml');
  copy('prometheus/prometheus.yml', 'prometheus/prometheus.yml');
  copy('prometheus/prometheus-probe.yml', 'prometheus/prometheus-probe.yml');
  copy('prometheus/alertmanager.yml', 'prometheus/alertmanager.yml');
  copy('grafana/dashboards', 'grafana/dashboards');
  copy('grafana/provisioning', 'grafana/provisioning');
  copy('examples/hosts.yml', 'examples/hosts.yml');
  copy('schema', 'schema');
  collectLicences(ROOT, metafile, path.join(STAGE, 'licenses'));
}

function serviceHost() {
  run('bash', ['windows/service-host/build.sh', STAGE, version]);
  if (!fs.existsSync(path.join(STAGE, 'hyperv-ic-exporter-service.exe'))) throw new ReleaseError('windows/service-host/build.sh wrote no hyperv-ic-exporter-service.exe');
}

/** The zip: one folder, files in name order with fixed timestamps, so that the same inputs give the same bytes. */
function zip() {
  const file = path.join(OUT, `${NAME}.zip`);
  const epoch = new Date('2026-01-01T00:00:00Z');
  const base = path.dirname(STAGE);
  const entries = [];
  const list = (relative) => {
    for (const child of fs.readdirSync(path.join(base, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const entry = path.posix.join(relative, child.name);
      fs.utimesSync(path.join(base, entry), epoch, epoch);
      if (child.isDirectory()) list(entry);
      else entries.push(entry);
    }
  };
  list(NAME);
  const building = `${file}.building`;
  fs.rmSync(building, { force: true });
  // Level 6 (zip's default): 2.5 times as fast as -9 for 0.4 % more bytes (node.exe is most of it).
  run('zip', ['-X', '-6', '-q', '-D', building, ...entries], { cwd: base });
  fs.renameSync(building, file);
  return file;
}

function msi() {
  const file = path.join(OUT, `${NAME}.msi`);
  const building = `${file}.building`;
  fs.rmSync(building, { force: true });
  run('bash', ['windows/msi/build.sh', STAGE, version, building]);
  if (!fs.existsSync(building)) throw new ReleaseError('windows/msi/build.sh wrote no MSI');
  fs.renameSync(building, file);
  return file;
}

function main() {
  fs.rmSync(path.dirname(STAGE), { recursive: true, force: true });
  fs.mkdirSync(STAGE, { recursive: true });
  const metafile = step('bundle the exporter (esbuild)', bundle);
  step('launcher', launcher);
  step(`node.exe ${pins.node.version} (pinned, signature checked)`, nodeRuntime);
  step('service host (dotnet publish)', serviceHost);
  step('docs, rules, dashboard, licences', () => companions(metafile));
  const zipFile = step('zip', zip);
  const msiFile = step('msi (wixl, msibuild)', msi);
  fs.rmSync(FOLDER, { recursive: true, force: true });
  fs.renameSync(STAGE, FOLDER);
  fs.rmSync(path.dirname(STAGE), { recursive: true, force: true });
  const sums = [zipFile, msiFile].map((file) => `${sha256(file)}  ${path.basename(file)}`).join('\n');
  fs.writeFileSync(path.join(OUT, 'SHA256SUMS'), `${sums}\n`);
  const mb = (file) => (fs.statSync(file).size / 1e6).toFixed(1);
  process.stdout.write(`release: ${path.relative(ROOT, zipFile)} ${mb(zipFile)} MB, ${path.relative(ROOT, msiFile)} ${mb(msiFile)} MB, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`release: ${error instanceof ReleaseError ? error.message : (error && error.stack) || error}\n`);
  process.exit(1);
}
