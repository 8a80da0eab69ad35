'use strict';
// The PowerShell side of a sample: what collect.ps1 itself costs per sample, at 12, 128 and 1024 VMs.
//
//   node bench/powershell.js [--quick] [--runs=N] [--sizes=12,128,1024] [--pwsh=path]
//
// For each script (the collect.ps1 of commit 6b5575a, copied to bench/baseline/, and the current
// src/sources/powershell/collect.ps1) ONE pwsh process is started with the stand-in CIM cmdlets of
// test/fixtures/powershell/HyperVIcStandIn.psm1 in "prebuilt" mode: each class's instances are built
// once and the very same objects are served at every call, so that what is timed is the script's own
// work (projection, serialization, escaping, writing), not the stand-in's. Each sample is timed inside
// PowerShell with a Stopwatch around the one function call (what node-powershell's transport costs is
// not part of it); the first runs of each case are a warm-up. Prints a table and the ratios at 1024 VMs.
//
// The hosts are generated here, as fixed host documents of a given size rather than the simulator's
// changing ones: a host computer system and VMs of which 7 in 8 run; a running VM has all six components
// and a guest intrinsic KVP pool of 19 (Windows) or 10 (Linux) items in the exact CIM-XML form Hyper-V
// embeds (the simulator's kvpItemXml, from dist/: npm run bench builds first), every VM has the six
// setting-data instances, every third VM a host KVP item.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { median, percentile, round } = require('./lib/stats');

const ROOT = path.join(__dirname, '..');
const { kvpItemXml } = require(path.join(ROOT, 'dist', 'sources', 'simulator', 'kvpItems'));
// What the PowerShell source sends after loading collect.ps1: the classes to query (the baseline names its own).
const { buildQueriesCommand } = require(path.join(ROOT, 'dist', 'sources', 'powershell', 'session'));
const STAND_IN = path.join(ROOT, 'test', 'fixtures', 'powershell', 'HyperVIcStandIn.psm1');
const SCRIPTS = {
  baseline: path.join(__dirname, 'baseline', 'collect-6b5575a.ps1'),
  current: path.join(ROOT, 'src', 'sources', 'powershell', 'collect.ps1'),
};

// --- generated hosts -------------------------------------------------------------------------------

const COMPONENTS = [
  ['Heartbeat', '84EAAE65-2F2E-45F5-9BB5-0E857DC8EB47'],
  ['KvpExchange', '2A34B1C2-FD73-4043-8A5B-DD2159BC743F'],
  ['Shutdown', '9F8233AC-BE49-4C79-8EE3-E7E1985B2077'],
  ['TimeSync', '2497F4DE-E9FA-4204-80E4-4B75C46419C0'],
  ['Vss', '5CED1297-4598-4915-A5FC-AD21BB4D02A4'],
  ['GuestServiceInterface', '6C09BB55-D683-4DA0-8931-C9BF705F6480'],
];

/** The intrinsic pool of a Windows Server 2022 or an Ubuntu guest (key sets of wmi.md §5.3). */
function intrinsicItems(linux, hostname, ipv4) {
  const pairs = linux
    ? [
        ['FullyQualifiedDomainName', hostname],
        ['IntegrationServicesVersion', '3.1'],
        ['NetworkAddressIPv4', ipv4],
        ['NetworkAddressIPv6', 'fe80::215:5dff:fe01:2a'],
        ['OSBuildNumber', '6.8.0-48-generic'],
        ['OSName', 'Ubuntu'],
        ['OSMajorVersion', '6'],
        ['OSMinorVersion', '8'],
        ['OSVersion', '24.04'],
        ['ProcessorArchitecture', 'x86_64'],
      ]
    : [
        ['FullyQualifiedDomainName', `${hostname}.corp.example.com`],
        ['OSName', 'Windows Server 2022 Datacenter'],
        ['OSVersion', '10.0.20348'],
        ['CSDVersion', ''],
        ['OSMajorVersion', '10'],
        ['OSMinorVersion', '0'],
        ['OSBuildNumber', '20348'],
        ['OSPlatformId', '2'],
        ['ServicePackMajor', '0'],
        ['ServicePackMinor', '0'],
        ['SuiteMask', '400'],
        ['ProductType', '3'],
        ['OSEditionId', '8'],
        ['ProcessorArchitecture', '9'],
        ['IntegrationServicesVersion', '10.0.20348.1'],
        ['NetworkAddressIPv4', ipv4],
        ['NetworkAddressIPv6', 'fe80::5d3c:1a2b:9e4f:7c10%6'],
        ['RDPAddressIPv4', ipv4],
        ['RDPAddressIPv6', ''],
      ];
  return pairs.map(([name, data]) => kvpItemXml(name, data, 2));
}

/** A sample document (Full scope) of a host with `vms` VMs, deterministic. */
function generateHostDocument(vms) {
  const classes = { Msvm_ComputerSystem: [] };
  for (const [component] of COMPONENTS) {
    classes[`Msvm_${component}Component`] = [];
    classes[`Msvm_${component}ComponentSettingData`] = [];
  }
  const hostName = `HV-BENCH-${vms}`;
  classes.Msvm_ComputerSystem.push({
    Name: hostName,
    ElementName: hostName,
    EnabledState: 2,
    HealthState: 5,
    OperationalStatus: [2],
    OnTimeInMilliseconds: null,
    LastSuccessfulBackupTime: null,
  });
  for (let i = 0; i < vms; i++) {
    const guid = `6B${String(vms).padStart(6, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0').toUpperCase()}`;
    const running = i % 8 !== 7;
    const linux = i % 4 === 3;
    const name = `vm${String(i).padStart(4, '0')}`;
    const ipv4 = `10.20.${Math.floor(i / 256) % 256}.${i % 256}`;
    classes.Msvm_ComputerSystem.push({
      Name: guid,
      ElementName: name,
      EnabledState: running ? 2 : 3,
      HealthState: 5,
      OperationalStatus: [2],
      OnTimeInMilliseconds: running ? 3_600_000 + i * 1000 : 0,
      LastSuccessfulBackupTime: i % 10 === 9 ? '1601-01-01T00:00:00Z' : new Date(Date.UTC(2026, 10, 24, 1, i % 60, 0)).toISOString(),
    });
    for (const [component, icGuid] of COMPONENTS) {
      const setting = { InstanceID: `Microsoft:${guid}\\${icGuid}`, EnabledState: component === 'GuestServiceInterface' ? 3 : 2 };
      if (component === 'Heartbeat') Object.assign(setting, { Interval: 2000, Latency: 1000, ErrorThreshold: 2 });
      if (component === 'KvpExchange') {
        Object.assign(setting, { HostExchangeItems: i % 3 === 0 ? [kvpItemXml('Environment', i % 2 === 0 ? 'production' : 'test', 0)] : [], HostOnlyItems: [] });
      }
      classes[`Msvm_${component}ComponentSettingData`].push(setting);
      if (!running) continue;
      const device = { SystemName: guid, DeviceID: `Microsoft:${guid}\\${icGuid}`, EnabledState: setting.EnabledState, OperationalStatus: [2] };
      if (component === 'Heartbeat') device.OperationalStatus = linux ? [2] : [2, 2];
      if (component === 'KvpExchange') Object.assign(device, { GuestIntrinsicExchangeItems: intrinsicItems(linux, name, ipv4), GuestExchangeItems: [] });
      classes[`Msvm_${component}Component`].push(device);
    }
  }
  return { schemaVersion: 1, computerName: hostName, collectedAt: '2026-11-24T10:00:00.000Z', classes };
}


// --- one pwsh process driven through stdin ------------------------------------------------------------

/** A pwsh process that runs one line at a time and answers each with the line it printed last. */
class Pwsh {
  constructor(executable, env) {
    this.child = spawn(executable, ['-NoProfile', '-NonInteractive', '-Command', '-'], {
      env: { ...process.env, TERM: 'dumb', NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.out = '';
    this.err = '';
    this.sequence = 0;
    this.waiting = null;
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      this.out += chunk;
      this.check();
    });
    this.child.stderr.on('data', (chunk) => (this.err += chunk));
    this.child.on('exit', (code) => {
      this.exited = true;
      if (this.waiting) this.waiting.reject(new Error(`pwsh exited (${code}): ${this.err.slice(0, 2000)}`));
    });
  }

  check() {
    if (!this.waiting) return;
    const at = this.out.indexOf(`${this.waiting.marker}\n`);
    if (at < 0) return;
    const output = this.out.slice(0, at).trimEnd();
    this.out = this.out.slice(at + this.waiting.marker.length + 1);
    const { resolve } = this.waiting;
    this.waiting = null;
    resolve(output);
  }

  /** Runs one line; resolves with what it printed. */
  run(line) {
    if (this.exited) return Promise.reject(new Error(`pwsh has exited: ${this.err.slice(0, 2000)}`));
    const marker = `__bench_done_${++this.sequence}__`;
    return new Promise((resolve, reject) => {
      this.waiting = { marker, resolve, reject };
      this.child.stdin.write(`${line}\n[Console]::Out.WriteLine('${marker}')\n`);
      this.check();
    });
  }

  close() {
    return new Promise((resolve) => {
      if (this.exited) return resolve();
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
      setTimeout(() => this.child.kill('SIGKILL'), 5000).unref();
    });
  }
}

const quote = (text) => `'${text.replace(/'/g, "''")}'`;

/**
 * One timed sample: the function call between Restart and Stop, nothing else. The answer stays in a
 * variable (what reaches stdout, and node-powershell's handling of it, is not timed). A full collection
 * before each sample stands in for the quiet seconds between two samples of a real exporter.
 */
function timedLine(call, outFile) {
  const size = outFile === null ? '$r.Length' : `([IO.FileInfo]::new(${quote(outFile)})).Length`;
  return (
    `[GC]::Collect(); [GC]::WaitForPendingFinalizers(); $p = [Diagnostics.Process]::GetCurrentProcess(); $cpu = $p.TotalProcessorTime; ` +
    `$sw = [Diagnostics.Stopwatch]::StartNew(); $r = ${call}; $sw.Stop(); $p.Refresh(); $cpu = ($p.TotalProcessorTime - $cpu).TotalMilliseconds; ` +
    `if ($r.StartsWith('{"error"')) { [Console]::Out.WriteLine('ERROR ' + $r) } else { [Console]::Out.WriteLine(('{0} {1} {2}' -f $sw.Elapsed.TotalMilliseconds.ToString([Globalization.CultureInfo]::InvariantCulture), $cpu.ToString([Globalization.CultureInfo]::InvariantCulture), ${size})) }`
  );
}

/**
 * Medians and 95th percentiles of `runs` samples (after a warm-up) of the baseline's Full, the current
 * script's Full with -OutFile and its Status with -OutFile, per VM count. One pwsh process per script;
 * the cases are interleaved run by run, so that a machine whose load changes slows all of them alike.
 */
async function runPowerShellBench({ pwsh = 'pwsh', sizes = [12, 128, 1024], runs = 15, warmup = 10, log = () => undefined } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperv-ic-psbench-'));
  const control = path.join(dir, 'control.json');
  const shells = {};
  try {
    fs.writeFileSync(control, JSON.stringify({ fault: 'none' }));
    for (const [name, script] of Object.entries(SCRIPTS)) {
      shells[name] = new Pwsh(pwsh, { HYPERV_IC_STANDIN_CONTROL: control });
      await shells[name].run(
        `$ProgressPreference = 'SilentlyContinue'; Import-Module -Name ${quote(STAND_IN)} -Force -DisableNameChecking -ErrorAction Stop; . ${quote(script)}` +
          (name === 'current' ? `; ${buildQueriesCommand()}` : ''),
      );
    }
    const rows = [];
    for (const vms of sizes) {
      const fixture = path.join(dir, `host-${vms}.json`);
      fs.writeFileSync(fixture, JSON.stringify(generateHostDocument(vms)));
      fs.writeFileSync(control, JSON.stringify({ fixture, fault: 'none', prebuilt: true }));
      const out = (scope) => path.join(dir, `sample-${vms}-${scope}.json`);
      const cases = [
        { script: 'baseline-6b5575a', scope: 'full', shell: shells.baseline, line: timedLine('Get-HyperVIcSample', null) },
        { script: 'current', scope: 'full', shell: shells.current, line: timedLine(`Get-HyperVIcSample -Scope Full -OutFile ${quote(out('full'))}`, out('full')) },
        { script: 'current', scope: 'status', shell: shells.current, line: timedLine(`Get-HyperVIcSample -Scope Status -OutFile ${quote(out('status'))}`, out('status')) },
      ];
      for (const entry of cases) {
        entry.times = [];
        entry.cpu = [];
      }
      // The first call of each case builds the stand-in's instances (not timed, not counted).
      for (const entry of cases) await entry.shell.run(entry.line);
      // PowerShell compiles a script block only after it has been interpreted a number of times, and .NET
      // recompiles hot methods: the warm-up runs (fewer for large hosts, where one run is long) get past that.
      const warmupRuns = vms >= 1024 ? Math.min(warmup, 4) : warmup;
      for (let i = 0; i < warmupRuns + runs; i++) {
        for (const entry of cases) {
          const answer = await entry.shell.run(entry.line);
          if (answer.startsWith('ERROR')) throw new Error(`${entry.script} ${entry.scope} at ${vms} VMs: ${answer}`);
          const [ms, cpuMs, bytes] = answer.split(/\s+/).slice(-3).map(Number);
          entry.bytes = bytes;
          if (i >= warmupRuns) {
            entry.times.push(ms);
            entry.cpu.push(cpuMs);
          }
        }
      }
      for (const entry of cases) {
        const row = {
          script: entry.script,
          scope: entry.scope,
          vms,
          medianMs: round(median(entry.times), 1),
          p95Ms: round(percentile(entry.times, 95), 1),
          bytes: entry.bytes,
          // The process's CPU time over the same call (all threads: the script's, the GC's): less
          // sensitive than the Stopwatch to other processes on a busy machine.
          cpuMedianMs: round(median(entry.cpu), 1),
        };
        rows.push(row);
        log(row);
      }
    }
    for (const [name, shell] of Object.entries(shells)) {
      if (shell.err !== '') throw new Error(`${name}: pwsh wrote to stderr: ${shell.err.slice(0, 2000)}`);
    }
    return rows;
  } finally {
    await Promise.all(Object.values(shells).map((shell) => shell.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The table and the ratios at the largest size, as text. */
function formatPowerShellBench(rows) {
  const lines = [];
  const header = ['script', 'scope', 'VMs', 'median ms', 'p95 ms', 'bytes', 'CPU median ms'];
  const body = rows.map((row) => [
    row.script,
    row.scope,
    String(row.vms),
    row.medianMs.toFixed(1),
    row.p95Ms.toFixed(1),
    String(row.bytes),
    row.cpuMedianMs.toFixed(1),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column].length)));
  const format = (cells) => cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  lines.push(format(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(format));
  const largest = Math.max(...rows.map((row) => row.vms));
  const find = (script, scope) => rows.find((row) => row.vms === largest && row.script === script && row.scope === scope);
  const baseline = find('baseline-6b5575a', 'full');
  const ratio = (row) => (baseline && row ? baseline.medianMs / row.medianMs : NaN);
  const status = ratio(find('current', 'status'));
  const full = ratio(find('current', 'full'));
  const cpuRatio = (row) => (baseline && row ? baseline.cpuMedianMs / row.cpuMedianMs : NaN);
  lines.push('');
  lines.push(`at ${largest} VMs, median baseline Full / current Status: ${status.toFixed(2)}x (target >= 5) ${status >= 5 ? 'pass' : 'FAIL'}`);
  lines.push(`at ${largest} VMs, median baseline Full / current Full:   ${full.toFixed(2)}x (target >= 2.5) ${full >= 2.5 ? 'pass' : 'FAIL'}`);
  lines.push(
    `(the same ratios of CPU time: ${cpuRatio(find('current', 'status')).toFixed(2)}x and ${cpuRatio(find('current', 'full')).toFixed(2)}x)`,
  );
  return lines.join('\n');
}

module.exports = { generateHostDocument, runPowerShellBench, formatPowerShellBench };

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name) => (args.find((arg) => arg.startsWith(`--${name}=`)) ?? '').slice(name.length + 3);
  const quick = args.includes('--quick');
  const pwsh = option('pwsh') || (fs.existsSync(path.join(ROOT, '.tools', 'pwsh', 'pwsh')) ? path.join(ROOT, '.tools', 'pwsh', 'pwsh') : 'pwsh');
  const sizes = option('sizes') ? option('sizes').split(',').map(Number) : [12, 128, 1024];
  const runs = Number(option('runs') || (quick ? 6 : 15));
  process.stderr.write(`PowerShell side of a sample (${pwsh}), ${runs} runs per case after a warm-up\n`);
  runPowerShellBench({ pwsh, sizes, runs, log: (row) => process.stderr.write(`  ${JSON.stringify(row)}\n`) })
    .then((rows) => {
      process.stdout.write(`${formatPowerShellBench(rows)}\n`);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
