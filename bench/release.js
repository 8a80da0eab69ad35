'use strict';
// The Windows release's budgets (docs/windows-service.md): `npm run release` from a cold cache (every
// download and the service host's publish included), the zip's size, and under Wine the time from
// `sc start` of the installed service to its first answered scrape.
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
// Debian puts wineserver beside wine's libraries, not on PATH.
const WINESERVER = ['/usr/bin/wineserver', '/usr/lib/wine/wineserver64', '/usr/lib/wine/wineserver'].find((file) => fs.existsSync(file)) ?? 'wineserver';

function sh(program, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(program, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, ...options }, (error, stdout, stderr) =>
      error ? reject(new Error(`${program} ${args.join(' ')}: ${`${stderr}${stdout}`.trim().split('\n').slice(-3).join(' | ')}`)) : resolve(stdout),
    );
  });
}

/**
 * `wine …` (or wineserver) with its output discarded, never into a pipe: node.exe under Wine cannot
 * write into one, and `wineserver -p` stays running and would hold one open.
 */
function wine(env, args, timeoutMs = 60_000, program = 'wine') {
  return new Promise((resolve) => {
    const out = fs.openSync('/dev/null', 'w');
    const child = spawn(program, args, { env, stdio: ['ignore', out, out] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fs.closeSync(out);
      resolve(code);
    });
  });
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function scrape(port) {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', () => resolve(0));
    request.on('timeout', () => request.destroy());
  });
}

async function serviceStartToScrape(stageDir, runs, log) {
  const prefix = path.join(ROOT, '.tools', 'wine-prefix', 'bench');
  const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEARCH: 'win64', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  for (const name of ['NODE_OPTIONS', 'NODE_ENV', 'HYPERV_IC_EXPORTER_STOP_ON_STDIN_EOF']) delete env[name];
  if (!fs.existsSync(path.join(prefix, 'system.reg'))) {
    await wine(env, ['wineboot', '-i'], 120_000);
    await wine(env, ['winecfg', '-v', 'win10']);
  }
  await wine(env, ['-p'], 30_000, WINESERVER);
  const port = await freePort();
  const exe = `Z:${path.join(stageDir, 'hyperv-ic-exporter-service.exe').replace(/\//g, '\\')}`;
  const service = 'hyperv-ic-exporter-bench';
  await wine(env, ['sc', 'delete', service]);
  await wine(env, ['sc', 'create', service, 'binPath=', `"${exe}" --source=simulator --web.listen-address=127.0.0.1:${port}`]);
  const seconds = [];
  try {
    for (let i = 0; i < runs; i++) {
      const started = process.hrtime.bigint();
      await wine(env, ['sc', 'start', service]);
      let answered = false;
      while (!answered && Number(process.hrtime.bigint() - started) / 1e9 < 60) {
        answered = (await scrape(port)) === 200;
        if (!answered) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const took = Number(process.hrtime.bigint() - started) / 1e9;
      seconds.push(answered ? took : Infinity);
      log(`  service start ${i + 1}: first scrape answered after ${answered ? took.toFixed(2) : 'never (60 s)'} s`);
      await wine(env, ['net', 'stop', service], 60_000);
    }
  } finally {
    await wine(env, ['sc', 'delete', service]);
    await wine(env, ['-k'], 30_000, WINESERVER);
  }
  return seconds;
}

/** Cold `npm run release` (caches removed), sizes, and service start → first scrape under Wine. */
async function runReleaseBench({ runs, log }) {
  for (const cache of ['.cache/release', '.cache/service-host']) fs.rmSync(path.join(ROOT, cache), { recursive: true, force: true });
  const started = Date.now();
  const output = await sh('npm', ['run', '--silent', 'release']);
  const buildSeconds = (Date.now() - started) / 1000;
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
  const name = `hyperv-ic-exporter-${version}-windows-amd64`;
  const stageDir = path.join(ROOT, 'release', name);
  const size = (file) => fs.statSync(path.join(ROOT, 'release', file)).size;
  const steps = output.split('\n').filter((line) => line.startsWith('release: '));
  const startSeconds = await serviceStartToScrape(stageDir, runs, log);
  return {
    buildSeconds,
    steps,
    zipBytes: size(`${name}.zip`),
    msiBytes: size(`${name}.msi`),
    serviceExeBytes: fs.statSync(path.join(stageDir, 'hyperv-ic-exporter-service.exe')).size,
    startSeconds,
  };
}

module.exports = { runReleaseBench };
