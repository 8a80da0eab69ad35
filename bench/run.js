'use strict';
// npm run bench: the exporter's own cost at 12, 128, 1024 and 4096 VMs (see docs/performance.md).
// Prints one table (figure, value, target, pass/fail) and writes it, with the raw figures, to
// bench/results/<timestamp>.json and bench/results/latest.json.
//
//   node bench/run.js [--quick] [--only=processing,http,latency,memory,churn,startup,queries]
//
// Every scenario runs in child processes of its own, so that one scenario's heap and JIT state do
// not colour the next; the load generator never runs in the process it measures.
const { execFileSync, fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { DocumentStream } = require('./lib/documents');
const { runAutocannon, timedRequests } = require('./lib/load');
const { median, percentile, round } = require('./lib/stats');

const ROOT = path.join(__dirname, '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
// The exporter runs with the runtime settings of dist/main.js's first line wherever it is shipped
// (its own shebang, npm start, the Docker image, the Windows service), so every child process that
// measures the exporter's code runs with them too; "Node's defaults" rows show the difference.
const { runtimeSettingsOf } = require(path.join(ROOT, 'dist', 'runtimeSettings'));
const SHIPPED = (() => {
  const { env, nodeOptions } = runtimeSettingsOf(MAIN);
  return { nodeArgs: [...nodeOptions], env: { ...env } };
})();
const SHIPPED_TEXT = [...Object.entries(SHIPPED.env).map(([k, v]) => `${k}=${v}`), 'node', ...SHIPPED.nodeArgs].join(' ');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ONLY = (args.find((a) => a.startsWith('--only=')) ?? '').slice('--only='.length).split(',').filter(Boolean);
const wanted = (scenario) => ONLY.length === 0 || ONLY.includes(scenario);

// Targets (issue #6). Processing and memory are absolute; throughput is a ratio to a minimal server in
// the same run, so that the machine's own speed and noise cancel out.
const TARGET = {
  processingMedianMs: 25,
  throughputRatio: 0.8,
  rssMB: 120,
  startupS: 2,
  churnHeapGrowthMB: 1,
  churnRssGrowth: 1.1,
};

const rows = [];
const raw = {};

function row(figure, value, target, pass, unit = '') {
  rows.push({ figure, value: typeof value === 'number' ? round(value, 2) : value, unit, target, pass });
  const mark = pass === null ? '' : pass ? 'pass' : 'FAIL';
  process.stderr.write(`  ${figure}: ${typeof value === 'number' ? round(value, 2) : value}${unit} ${target === '' ? '' : `(target ${target})`} ${mark}\n`);
}

function runChild(script, childArgs, nodeArgs = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SHIPPED.nodeArgs, ...nodeArgs, path.join(__dirname, script), ...childArgs.map(String)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...SHIPPED.env },
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} ${childArgs.join(' ')} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function get(url, headers = {}) {
  return new Promise((resolve) => {
    const request = http.get(url, { headers }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () => resolve(response.statusCode));
    });
    request.on('error', () => resolve(0));
    request.setTimeout(5000, () => request.destroy());
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function rssOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: kb('VmRSS') / 1024, peakMB: kb('VmHWM') / 1024 };
}

// --- sample processing -------------------------------------------------------------------------

async function processing() {
  process.stderr.write('sample processing (parse, KVP, model, render, publish) per sample, in ms\n');
  const plan = QUICK
    ? [
        [12, 60],
        [1024, 15],
      ]
    : [
        [12, 200],
        [128, 100],
        [1024, 40],
        [4096, 12],
      ];
  raw.processing = [];
  for (const [vms, samples] of plan) {
    for (const changing of [0, 0.05]) {
      const result = await runChild('processing.js', [vms, samples, changing]);
      raw.processing.push(result);
      const label = `${vms} VMs, ${changing === 0 ? 'steady (KVP unchanged)' : `${changing * 100}% of VMs changing`}`;
      // The target is for a real host, whose KVP items rarely change (issue #6); the changing host
      // shows that the work follows what changed.
      const judged = vms === 1024 && changing === 0;
      row(`processing ${label}: median`, result.total.median, judged ? `≤ ${TARGET.processingMedianMs}` : '', judged ? result.total.median <= TARGET.processingMedianMs : null, ' ms');
      row(`processing ${label}: p95`, result.total.p95, '', null, ' ms');
      if (vms === 1024 && changing === 0) {
        const s = result.stages;
        row(
          'processing 1024 VMs steady: stages (median)',
          `decode ${s.decode.median} · document ${s.document.median} · model ${s.model.median} · render ${s.render.median} · publish ${s.publish.median}`,
          '',
          null,
          ' ms',
        );
        row('processing 1024 VMs steady: gzip of the model ready (off the event loop)', result.gzipReady.median, '', null, ' ms');
        row('sizes at 1024 VMs: document / exposition', `${round(result.documentBytes / 1048576, 1)} MiB / ${round(result.expositionBytes / 1048576, 1)} MiB`, '', null);
      }
    }
  }
}

// --- /metrics throughput and latency ---------------------------------------------------------------

function startServer(vms) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'server.js'), [String(vms)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: SHIPPED.nodeArgs,
      env: { ...process.env, ...SHIPPED.env },
    });
    const waiters = new Map();
    child.on('message', (message) => {
      if (message.type === 'ready') resolve({ child, info: message, request });
      const waiter = waiters.get(message.type);
      if (waiter) {
        waiters.delete(message.type);
        waiter(message);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => code !== 0 && code !== null && reject(new Error(`bench server exited with ${code}`)));
    function request(message, reply) {
      return new Promise((done) => {
        waiters.set(reply, done);
        child.send(message);
      });
    }
  });
}

async function throughput(server) {
  process.stderr.write('/metrics at 1024 VMs, 16 keep-alive connections (autocannon)\n');
  const { info } = server;
  const duration = QUICK ? 3 : 8;
  const targets = [
    ['minimal node:http server, same bytes from memory', info.minimal, duration],
    ['exporter', info.exporter, duration],
    ['express alone, same bytes from memory (diagnostic)', info.expressFloor, QUICK ? 2 : 4],
  ];
  raw.throughput = { bodyBytes: { identity: info.identityBytes, gzip: info.gzipBytes } };
  for (const gzip of [true, false]) {
    const encoding = gzip ? 'gzip' : 'identity';
    const results = {};
    for (const [name, port, seconds] of targets) {
      results[name] = await runAutocannon(`http://127.0.0.1:${port}/metrics`, { connections: 16, duration: seconds, gzip });
    }
    raw.throughput[encoding] = results;
    const minimal = results[targets[0][0]];
    row(`/metrics ${encoding} (${round(info[gzip ? 'gzipBytes' : 'identityBytes'] / 1024, 0)} KiB): minimal server`, minimal.requestsPerSecond, '', null, ' req/s');
    for (const [name] of targets.slice(1)) {
      const r = results[name];
      const ratio = r.requestsPerSecond / minimal.requestsPerSecond;
      const judged = !name.includes('diagnostic');
      row(`/metrics ${encoding}: ${name}: ratio to minimal`, ratio, judged ? `≥ ${TARGET.throughputRatio}` : '', judged ? ratio >= TARGET.throughputRatio : null);
      row(`/metrics ${encoding}: ${name}: req/s, p99 latency`, `${round(r.requestsPerSecond, 0)} req/s, p99 ${r.latencyP99} ms`, '', null);
    }
    row(`/metrics ${encoding}: minimal server p99 latency`, minimal.latencyP99, '', null, ' ms');
  }
}

async function latencyWhileSampling(server) {
  process.stderr.write('/metrics latency while 1024-VM samples are processed (gzip, 16 connections)\n');
  const { info, request } = server;
  const seconds = QUICK ? 4 : 10;
  raw.latency = {};
  for (const [name, port] of [
    ['exporter', info.exporter],
  ]) {
    const url = `http://127.0.0.1:${port}/metrics`;
    const idle = await timedRequests(url, { connections: 16, durationMs: (seconds * 1000) / 2, gzip: true });
    // The load first, then a sample every second while it runs (not at its first, cold requests).
    const loaded = timedRequests(url, { connections: 16, durationMs: (seconds + 1) * 1000, gzip: true });
    await sleep(1000);
    await request({ type: 'startSampling', intervalMs: 1000 }, 'sampling');
    const busy = await loaded;
    const loadEnded = Math.max(...busy.requests.map((r) => r.end));
    const windows = (await request({ type: 'stopSampling' }, 'windows')).windows.filter((w) => w.started < loadEnded);
    const latency = (r) => r.end - r.start;
    const overlaps = (r, from, to) => r.start < to && r.end > from;
    const duringProcessing = busy.requests.filter((r) => windows.some((w) => overlaps(r, w.started, w.processed)));
    // Scrapes while the gzip of the new sample is made on the thread pool, that did not meet the sample's
    // synchronous part.
    const duringCompression = busy.requests.filter(
      (r) => !duringProcessing.includes(r) && windows.some((w) => w.compressed !== null && overlaps(r, w.processed, w.compressed)),
    );
    const processingMs = windows.map((w) => w.processed - w.started);
    const idleP99 = percentile(idle.requests.map(latency), 99);
    const busyP99 = percentile(duringProcessing.map(latency), 99);
    const compressionP99 = percentile(duringCompression.map(latency), 99);
    const longestSample = Math.max(...processingMs);
    raw.latency[name] = {
      idle: { requests: idle.requests.length, p50: median(idle.requests.map(latency)), p99: idleP99 },
      duringProcessing: { requests: duringProcessing.length, p50: median(duringProcessing.map(latency)), p99: busyP99 },
      duringCompression: { requests: duringCompression.length, p50: median(duringCompression.map(latency)), p99: compressionP99 },
      samples: windows.length,
      sampleWallTimeUnderLoadMs: { median: median(processingMs), max: longestSample },
      failures: idle.failures + busy.failures,
    };
    // Shown, not judged (the issue asks to show it): a scrape that meets a sample waits for the sample's
    // synchronous part (its time on the event loop, below), never for the source or the compression.
    row(`${name}: scrape p99 without sampling`, idleP99, '', null, ' ms');
    row(`${name}: scrape p99 while a sample is processed (${duringProcessing.length} scrapes, ${windows.length} samples)`, busyP99, '', null, ' ms');
    row(`${name}: scrape p99 while a sample's gzip is made, after its synchronous part (${duringCompression.length} scrapes)`, compressionP99, '', null, ' ms');
    row(`${name}: a sample from start to published, under this load (median / max; done in slices, scrapes served in between)`, `${round(median(processingMs), 1)} / ${round(longestSample, 1)}`, '', null, ' ms');
  }
}

async function http1024() {
  const server = await startServer(1024);
  try {
    if (wanted('http')) await throughput(server);
    if (wanted('latency')) await latencyWhileSampling(server);
  } finally {
    server.child.kill();
  }
}

// --- the real exporter process: memory and start-up ---------------------------------------------------

async function startExporter(exporterArgs, { nodeArgs, env, unset = [] } = SHIPPED) {
  const port = await freePort();
  const started = performance.now();
  const environment = { ...process.env, ...env };
  for (const name of unset) delete environment[name];
  const child = spawn(process.execPath, [...nodeArgs, MAIN, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...exporterArgs], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: environment,
  });
  const base = `http://127.0.0.1:${port}`;
  let readyAfter = null;
  while (performance.now() - started < 15_000) {
    if ((await get(`${base}/-/ready`)) === 200) {
      readyAfter = (performance.now() - started) / 1000;
      break;
    }
    await sleep(10);
  }
  return { child, base, readyAfter };
}

async function stopExporter(child) {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

// Node's own defaults, for comparison: no node options, glibc's defaults.
const DEFAULTS = { nodeArgs: [], env: {}, unset: Object.keys(SHIPPED.env) };

async function memory() {
  process.stderr.write('RSS of dist/main.js serving 1024 VMs (replay source, a new document every second)\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperv-bench-'));
  raw.memory = {};
  try {
    const stream = new DocumentStream({ vms: 1024, changing: 0.02 });
    const files = Array.from({ length: 4 }, (_, i) => {
      const file = path.join(dir, `sample-${i}.json`);
      fs.writeFileSync(file, stream.nextText());
      return file;
    });
    for (const [name, runtime, judged] of [
      [`as shipped (${SHIPPED_TEXT} dist/main.js)`, SHIPPED, true],
      ["with Node's defaults (node dist/main.js; diagnostic)", DEFAULTS, false],
    ]) {
      const replay = path.join(dir, 'replay.json');
      fs.copyFileSync(files[0], replay);
      const { child, base, readyAfter } = await startExporter(['--source=replay', `--replay.file=${replay}`, '--sample.interval=1s'], runtime);
      try {
        if (readyAfter === null) throw new Error('the exporter did not become ready');
        const seconds = QUICK ? 8 : 16;
        const samples = [];
        for (let s = 0; s < seconds; s++) {
          // The next document, as a recording tool would replace it: write aside, rename over.
          const next = path.join(dir, 'next.json');
          fs.copyFileSync(files[(s + 1) % files.length], next);
          fs.renameSync(next, replay);
          // Scrapes as Prometheus makes them (gzip), and one without.
          for (let k = 0; k < 4; k++) await get(`${base}/metrics`, { 'accept-encoding': 'gzip' });
          await get(`${base}/metrics`);
          await sleep(1000);
          samples.push(rssOf(child.pid).rssMB);
        }
        const { peakMB } = rssOf(child.pid);
        const settled = median(samples.slice(Math.floor(samples.length / 2)));
        raw.memory[name] = { rssSeriesMB: samples, settledMB: settled, peakMB };
        row(
          `RSS at 1024 VMs, ${name} (median of the last ${samples.length - Math.floor(samples.length / 2)} s)`,
          settled,
          judged ? `≤ ${TARGET.rssMB}` : '',
          judged ? settled <= TARGET.rssMB : null,
          ' MB',
        );
        row(`RSS at 1024 VMs, ${name}: peak (VmHWM)`, peakMB, '', null, ' MB');
      } finally {
        await stopExporter(child);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function startup() {
  process.stderr.write('start-up to ready, dist/main.js with the simulator\n');
  raw.startup = {};
  for (const vms of [12, 1024]) {
    const times = [];
    for (let i = 0; i < (QUICK ? 1 : 3); i++) {
      const { child, readyAfter } = await startExporter(['--source=simulator', `--simulator.vms=${vms}`]);
      await stopExporter(child);
      times.push(readyAfter ?? Infinity);
    }
    raw.startup[vms] = times;
    const value = median(times);
    row(`start-up to ready on the simulator, ${vms} VMs (median of ${times.length})`, value, `≤ ${TARGET.startupS}`, value <= TARGET.startupS, ' s');
  }
}

// --- label churn ---------------------------------------------------------------------------------------

async function churn() {
  const vms = 32;
  const samples = QUICK ? 1000 : 10_000;
  process.stderr.write(`label churn: ${samples} samples of ${vms} VMs, 2 deleted, 2 created and 2 renamed at each\n`);
  const result = await runChild('churn.js', [vms, samples], ['--expose-gc']);
  raw.churn = result;
  const points = result.checkpoints;
  const first = points[1] ?? points[0];
  const last = points[points.length - 1];
  const half = Math.floor(points.length / 2);
  const rssFirstHalf = Math.max(...points.slice(1, half).map((p) => p.rssMB));
  const rssSecondHalf = Math.max(...points.slice(half).map((p) => p.rssMB));
  const seriesFlat = points.every((p) => p.series === points[0].series && p.vms === vms);
  row(`churn: VMs created over ${samples} samples`, result.created, '', null);
  row('churn: series at each checkpoint', [...new Set(points.map((p) => p.series))].join(', '), 'the same throughout', seriesFlat);
  row(
    `churn: heap after full GC, sample ${first.sample} → ${last.sample}`,
    `${first.heapUsedMB} → ${last.heapUsedMB} MB`,
    `growth ≤ ${TARGET.churnHeapGrowthMB} MB`,
    last.heapUsedMB - first.heapUsedMB <= TARGET.churnHeapGrowthMB,
  );
  row(
    'churn: RSS, highest of the first half → of the second half',
    `${rssFirstHalf} → ${rssSecondHalf} MB`,
    `≤ ×${TARGET.churnRssGrowth}`,
    rssSecondHalf <= rssFirstHalf * TARGET.churnRssGrowth,
  );
}

// --- CIM queries ---------------------------------------------------------------------------------------

function queries() {
  const { DOCUMENT_CLASSES } = require(path.join(ROOT, 'dist', 'document', 'classes'));
  const classes = Object.keys(DOCUMENT_CLASSES).length;
  const script = fs.readFileSync(path.join(ROOT, 'src', 'sources', 'powershell', 'collect.ps1'), 'utf8');
  const code = script
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
  // One Get-CimInstance, inside the loop over the classes: as many queries as classes, whatever the VMs.
  const calls = (code.match(/\bGet-CimInstance\b/g) ?? []).length;
  const inLoop = /foreach\s*\(\s*\$className\s+in\s+\$script:HyperVIcClasses\.Keys\s*\)[\s\S]*Get-CimInstance[^\n]*-ClassName\s+\$className/.test(code);
  let pwsh = null;
  try {
    pwsh = execFileSync('sh', ['-c', 'command -v pwsh || ls .tools/pwsh/pwsh 2>/dev/null'], { cwd: ROOT, encoding: 'utf8' }).trim() || null;
  } catch {
    pwsh = null;
  }
  raw.queries = { classes, getCimInstanceCalls: calls, oneCallPerClassInLoop: inLoop, pwsh };
  row(
    'CIM queries per sample (collect.ps1: one Get-CimInstance per class, none per VM)',
    `${classes} for 1 VM and for 1024 VMs`,
    'constant',
    calls === 1 && inLoop,
  );
  process.stderr.write(
    `  (proven by running the script: test/sources/powershell/collectGolden.pwsh.test.ts, "the number of CIM queries per sample is the same for 1 and for 1024 VMs"${pwsh ? `; pwsh is at ${pwsh}` : '; pwsh is not installed here, so that test is skipped'})\n`,
  );
}

// --- table ---------------------------------------------------------------------------------------------

function machine() {
  const cpus = os.cpus();
  let model = cpus[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux
  }
  return { cpus: cpus.length, cpuModel: model, memoryGB: round(os.totalmem() / 1073741824, 1), node: process.version, platform: `${os.type()} ${os.release()}`, loadAverage: os.loadavg().map((l) => round(l, 2)) };
}

function printTable() {
  const header = ['figure', 'value', 'target', ''];
  const lines = rows.map((r) => [r.figure, `${r.value}${r.unit}`, r.target, r.pass === null ? '' : r.pass ? 'pass' : 'FAIL']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const format = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  const out = [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
  process.stdout.write(`\n${out}\n`);
}

async function main() {
  const startedAt = new Date();
  const before = machine();
  process.stderr.write(`hyperv-ic-exporter bench on ${before.cpus} × ${before.cpuModel}, ${before.node}, load average ${before.loadAverage.join(' ')}${QUICK ? ' (quick)' : ''}\n`);
  if (!fs.existsSync(MAIN)) throw new Error('dist/ is missing: npm run build first (npm run bench does)');
  if (wanted('processing')) await processing();
  if (wanted('http') || wanted('latency')) await http1024();
  if (wanted('memory')) await memory();
  if (wanted('churn')) await churn();
  if (wanted('startup')) await startup();
  if (wanted('queries')) queries();
  printTable();

  const failed = rows.filter((r) => r.pass === false);
  const result = {
    startedAt: startedAt.toISOString(),
    seconds: round((Date.now() - startedAt.getTime()) / 1000, 0),
    quick: QUICK,
    only: ONLY,
    machine: { ...before, loadAverageAfter: os.loadavg().map((l) => round(l, 2)) },
    runtime: SHIPPED_TEXT,
    targets: TARGET,
    rows,
    raw,
    failed: failed.map((r) => r.figure),
  };
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${failed.length === 0 ? 'all targets met' : `${failed.length} target(s) missed: ${failed.map((r) => r.figure).join('; ')}`} (${result.seconds} s; ${path.relative(ROOT, file)})\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
