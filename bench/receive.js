'use strict';
// Receiving a sample document from PowerShell, in a fresh process:
//   node bench/receive.js --pwsh=<path> [--mb=10,50,128] [--runs=N] [--standin=1024,4880] [--stdout=10,50,128]
//
// 1. Through the real pool and source (createPowerShellPool + createPowerShellSource): the stand-in CIM
//    cmdlets of test/fixtures/powershell/HyperVIcStandIn.psm1 ("prebuilt": each class's instances are
//    built once and the same objects served at every call) and the shipped collect.ps1 with -OutFile:
//    the time from source.sample() to the text in Node, for hosts of the given VM counts.
// 2. The hand-over alone, through the same pool, worker file and source: bench/lib/handover.ps1 replaces
//    Get-HyperVIcSample by a function that writes a prepared document of about 10 MB, 50 MB and 128 MiB
//    to the worker's file (collect.ps1's own serialization is not in it).
// 3. The old path for the same documents: the function returns the document as its output, which
//    reaches Node through stdout and node-powershell (its PowerShell class, spawned as PowerShellSession
//    spawns it), as collect.ps1's output did before -OutFile. PowerShellSession itself no longer reads
//    more than 64 KiB of a command's stdout (MAX_COMMAND_STDOUT_BYTES), so it cannot be timed through it.
// Also counts the Get-CimInstance calls the stand-in sees for one Full and one Status sample.
// Prints one JSON line.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const pino = require('pino');
const { DocumentStream, dist } = require('./lib/documents');
const { generateHostDocument } = require('./powershell');
const { median, round } = require('./lib/stats');

const { createPowerShellPool, createPowerShellSource } = require(path.join(dist, 'sources/powershell/powershellSource'));
const { buildInitCommand } = require(path.join(dist, 'sources/powershell/session'));
const { PowerShell } = require('node-powershell');

const ROOT = path.join(__dirname, '..');
const STAND_IN = path.join(ROOT, 'test', 'fixtures', 'powershell', 'HyperVIcStandIn.psm1');
const HANDOVER = path.join(__dirname, 'lib', 'handover.ps1');
const MiB = 1048576;

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const found = args.find((arg) => arg.startsWith(`--${name}=`));
  return found === undefined ? fallback : found.slice(name.length + 3);
};
const list = (text) => (text === '' ? [] : text.split(',').map(Number));
const PWSH = option('pwsh', 'pwsh');
const SIZES_MB = list(option('mb', '10,50,128'));
const RUNS = Number(option('runs', '5'));
const STANDIN_VMS = list(option('standin', '1024'));
const STDOUT_MB = list(option('stdout', '10,50,128'));
const STDOUT_CAP_MS = Number(option('stdout-cap-ms', '120000'));

const logger = pino({ level: 'silent' });
const signal = () => AbortSignal.timeout(600_000);

async function timed(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** A simulated host's Full document of about `mb` megabytes (MiB for 128: the exporter's limit), as text. */
function preparedDocument(mb, perVmBytes) {
  const target = mb === 128 ? 128 * MiB * 0.995 : mb * 1e6;
  const vms = Math.max(1, Math.round(target / perVmBytes));
  return { vms, text: new DocumentStream({ vms, seed: 3 }).nextText() };
}

async function standInSamples(dir, results) {
  const control = path.join(dir, 'standin.json');
  const callLog = path.join(dir, 'calls.jsonl');
  fs.writeFileSync(control, JSON.stringify({ fault: 'none' }));
  process.env.HYPERV_IC_STANDIN_CONTROL = control;
  const pool = createPowerShellPool({ executable: PWSH, size: 1, recycleAfterSamples: 100_000, logger, preloadModules: [STAND_IN] });
  const source = createPowerShellSource({ pool });
  try {
    results.standIn = [];
    results.cimQueries = [];
    for (const vms of [...new Set([12, ...STANDIN_VMS])].sort((a, b) => a - b)) {
      const fixture = path.join(dir, `host-${vms}.json`);
      fs.writeFileSync(fixture, JSON.stringify(generateHostDocument(vms)));
      // The Get-CimInstance calls of one Full and one Status sample, as the stand-in logs them.
      const queries = {};
      for (const scope of ['full', 'status']) {
        fs.rmSync(callLog, { force: true });
        fs.writeFileSync(control, JSON.stringify({ fixture, fault: 'none', callLog }));
        await source.sample(scope, signal());
        queries[scope] = fs
          .readFileSync(callLog, 'utf8')
          .split('\n')
          .filter((line) => line.includes('"Get-CimInstance"')).length;
      }
      results.cimQueries.push({ vms, ...queries });
      if (!STANDIN_VMS.includes(vms)) continue;
      fs.writeFileSync(control, JSON.stringify({ fixture, fault: 'none', prebuilt: true }));
      const build = await timed(() => source.sample('full', signal())); // builds the stand-in's instances
      await source.sample('status', signal());
      const row = { vms, buildMs: round(build.ms, 0) };
      for (const scope of ['full', 'status']) {
        const times = [];
        let bytes = 0;
        for (let i = 0; i < RUNS + 1; i++) {
          const { ms, value } = await timed(() => source.sample(scope, signal()));
          bytes = Buffer.byteLength(value.text);
          if (i > 0) times.push(ms);
        }
        row[scope] = { medianMs: round(median(times), 1), bytes, runs: times.length };
      }
      results.standIn.push(row);
      process.stderr.write(`  receive: stand-in + collect.ps1 at ${vms} VMs: ${JSON.stringify(row)}\n`);
    }
  } finally {
    await source.close();
    await pool.close();
  }
}

async function handOver(dir, documents, results) {
  const pointer = path.join(dir, 'document-path.txt');
  process.env.HYPERV_IC_BENCH_DOCUMENT = pointer;
  const pool = createPowerShellPool({ executable: PWSH, size: 1, recycleAfterSamples: 100_000, logger, scriptPath: HANDOVER, preloadModules: [STAND_IN] });
  const source = createPowerShellSource({ pool, maxDocumentBytes: 512 * MiB });
  results.handOver = [];
  try {
    for (const document of documents) {
      fs.writeFileSync(pointer, document.file);
      await source.sample('full', signal()); // PowerShell reads the prepared document (not timed)
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const { ms, value } = await timed(() => source.sample('full', signal()));
        if (value.text.length !== document.length) throw new Error(`hand-over: ${value.text.length} characters, expected ${document.length}`);
        times.push(ms);
      }
      const row = { mb: document.mb, vms: document.vms, bytes: document.bytes, medianMs: round(median(times), 1), minMs: round(Math.min(...times), 1), maxMs: round(Math.max(...times), 1), runs: times.length };
      results.handOver.push(row);
      process.stderr.write(`  receive: hand-over through the file: ${JSON.stringify(row)}\n`);
    }
  } finally {
    await source.close();
    await pool.close();
  }
}

async function stdoutPath(dir, documents, results) {
  const pointer = path.join(dir, 'document-path.txt');
  process.env.HYPERV_IC_BENCH_DOCUMENT = pointer;
  results.stdout = [];
  for (const document of documents.filter((d) => STDOUT_MB.includes(d.mb))) {
    // A fresh process per size: a capped run leaves its process busy.
    let powershellPid;
    const shell = new PowerShell({
      executable: PWSH,
      executableOptions: { '-NoProfile': true, '-NonInteractive': true, '-ExecutionPolicy': 'Bypass' },
      spawnOptions: { env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' }, windowsHide: true },
    });
    try {
      // PowerShell's own pid: a pwsh installed as a .NET tool is a launcher with PowerShell as its child.
      powershellPid = JSON.parse((await shell.invoke(buildInitCommand(HANDOVER, []))).raw.trim()).pid;
      fs.writeFileSync(pointer, document.file);
      await shell.invoke('$null = Get-HyperVIcBenchDocument'); // read it (not timed)
      shell.history.length = 0;
      let timer;
      const cap = new Promise((resolve) => (timer = setTimeout(() => resolve(null), STDOUT_CAP_MS)));
      const started = performance.now();
      const invocation = shell.invoke('Get-HyperVIcSample');
      invocation.catch(() => undefined);
      const result = await Promise.race([invocation, cap]);
      clearTimeout(timer);
      const ms = result === null ? null : performance.now() - started;
      const length = result === null ? 0 : result.raw.length;
      shell.history.length = 0;
      const row = { mb: document.mb, bytes: document.bytes, ms: ms === null ? null : round(ms, 0), cappedAtMs: ms === null ? STDOUT_CAP_MS : null, length };
      results.stdout.push(row);
      process.stderr.write(`  receive: through stdout (node-powershell): ${JSON.stringify(row)}\n`);
    } finally {
      try {
        if (powershellPid !== undefined) process.kill(powershellPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      const exited = shell.dispose('SIGTERM').catch(() => undefined);
      const kill = setTimeout(() => void shell.dispose('SIGKILL').catch(() => undefined), 2000);
      await exited;
      clearTimeout(kill);
    }
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperv-ic-receive-'));
  const results = { pwsh: PWSH };
  try {
    if (STANDIN_VMS.length > 0) await standInSamples(dir, results);
    if (SIZES_MB.length > 0) {
      const perVm = new DocumentStream({ vms: 256, seed: 3 }).nextText().length / 256;
      const documents = SIZES_MB.map((mb) => {
        const { vms, text } = preparedDocument(mb, perVm);
        const file = path.join(dir, `prepared-${mb}.json`);
        fs.writeFileSync(file, text);
        return { mb, vms, file, length: text.length, bytes: Buffer.byteLength(text) };
      });
      await handOver(dir, documents, results);
      if (STDOUT_MB.length > 0) await stdoutPath(dir, documents, results);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
