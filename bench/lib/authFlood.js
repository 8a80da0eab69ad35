'use strict';
// A flood of bad basic-auth logins against a server, and two scrapers with the right password that
// scrape through it: what test/server/authFlood.test.ts checks (every scrape answered, none starved)
// and `npm run bench -- --only=auth` times (p99 and first scrape under the flood).
//
// The flood: ~400 concurrent connections guessing passwords from a child process (a new connection
// per request, `Connection: close`), bounded in time (until the scrapers are done, 15 s at most), in
// number (15 000) and in rate: at most 1000 new requests a second, 75 times what bcrypt can check
// (≈13 a second at cost 10), so the password-check queues stay full and most guesses get 503. Faster,
// it would mostly measure how many refusals Node answers per second on a shared 2-core machine — a
// plain HTTP flood, which no password check can prevent.
// The scrapers open a new connection for every request:
// - Prometheus on another host, as the real user the flood guesses for (its connections come from
//   127.0.0.2, still loopback: the server listens on 127.0.0.1 only);
// - a second configured user on the flood's own address.
// Both start during the flood, so their first request needs a bcrypt comparison of its own.
const { spawn } = require('node:child_process');
const http = require('node:http');
const { percentile } = require('./stats');

const FLOOD = {
  connections: 400,
  /** It runs until the scrapers are done, but never longer than this. */
  maxDurationMs: 15_000,
  requestsPerSecond: 1_000,
  maxRequests: 15_000,
  /** The real user (a password guesser knows it) and one that does not exist. */
  usernames: ['prometheus', 'admin'],
};
/** Enough scrapes for a p99 that is not simply the slowest one. */
const SCRAPE = { startAfterMs: 1_000, count: 150, pauseMs: 10, timeoutMs: 10_000 };

/**
 * The flood, run by `node -e`. It stops when its standard input ends (the scrapers are done) or after
 * maxDurationMs, whichever comes first, then prints its counts as JSON and exits.
 */
const FLOOD_SOURCE = `
const net = require('node:net');
const { port, connections, maxDurationMs, requestsPerSecond, maxRequests, usernames } = JSON.parse(process.argv[1]);
let deadline = Date.now() + maxDurationMs;
let stoppedBy = 'maxDurationMs';
let lastStartAt = 0;
// Each connection, once answered, sends its next guess at the next free start time.
const later = () => {
  lastStartAt = Math.max(Date.now(), lastStartAt + 1000 / requestsPerSecond);
  setTimeout(next, lastStartAt - Date.now());
};
const statuses = {};
const open = new Set();
let sent = 0;
let running = connections;
const finish = () => {
  clearTimeout(hardStop);
  process.stdout.write(JSON.stringify({ sent, statuses, stoppedBy }), () => process.exit(0));
};
const next = () => {
  if (Date.now() >= deadline || sent >= maxRequests) {
    running -= 1;
    if (running === 0) finish();
    return;
  }
  sent += 1;
  const username = usernames[sent % usernames.length];
  const credentials = Buffer.from(username + ':guess-' + sent).toString('base64');
  const socket = net.connect({ host: '127.0.0.1', port });
  open.add(socket);
  let head = '';
  socket.setEncoding('latin1');
  socket.on('connect', () => socket.write(
    'GET /metrics HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAuthorization: Basic ' + credentials +
    '\\r\\nConnection: close\\r\\n\\r\\n'));
  socket.on('data', (chunk) => { if (head.length < 16) head += chunk; });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    open.delete(socket);
    const status = /^HTTP\\/1\\.1 (\\d{3})/.exec(head)?.[1] ?? 'no answer';
    statuses[status] = (statuses[status] ?? 0) + 1;
    later();
  });
};
// Requests still unanswered at the end are dropped (counted as 'no answer').
const stop = () => {
  clearTimeout(stopAt);
  deadline = Date.now();
  for (const socket of open) socket.destroy();
};
const stopAt = setTimeout(stop, maxDurationMs);
const hardStop = setTimeout(() => process.exit(2), maxDurationMs + 5000);
process.stdin.on('end', () => {
  if (Date.now() < deadline) stoppedBy = 'parent';
  stop();
});
process.stdin.resume();
for (let i = 0; i < connections; i += 1) later();
`;

function startFlood(port) {
  const child = spawn(process.execPath, ['-e', FLOOD_SOURCE, JSON.stringify({ port, ...FLOOD })], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  const result = new Promise((resolve, reject) => {
    child.on('error', reject);
    // 'close', not 'exit': by then all of its output has been read.
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`flood exited with code ${code}: ${output}`))));
  });
  result.catch(() => undefined);
  return {
    result,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: () => child.stdin.end(),
    kill: () => {
      if (child.exitCode === null && child.pid !== undefined) child.kill();
    },
  };
}

/** One request on a new connection; status 0 if it failed or took longer than timeoutMs. */
function scrapeOnce(port, authorization, localAddress) {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const done = (status) => resolve({ status, ms: performance.now() - startedAt });
    const request = http.request({ host: '127.0.0.1', port, path: '/metrics', localAddress, agent: false, headers: { authorization, connection: 'close' } }, (response) => {
      response.resume();
      response.on('end', () => done(response.statusCode ?? 0));
      response.on('error', () => done(0));
    });
    request.on('error', () => done(0));
    request.setTimeout(SCRAPE.timeoutMs, () => request.destroy(new Error('scrape timed out')));
    request.end();
  });
}

/** SCRAPE.count scrapes, or fewer if the flood ends first (the server was too slow). */
async function scrapeDuring(flood, port, authorization, localAddress) {
  const scrapes = [];
  while (scrapes.length < SCRAPE.count && flood.running()) {
    scrapes.push(await scrapeOnce(port, authorization, localAddress));
    await new Promise((resolve) => setTimeout(resolve, SCRAPE.pauseMs));
  }
  return scrapes;
}

function basic(username, password) {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Floods the server on 127.0.0.1:`port` (basic auth users `prometheus` and `backup`, both with
 * `password`) and scrapes through the flood as both; resolves when the scrapers are done and the flood
 * has reported. `onFlood` gets the flood, so that a caller can kill it if something throws.
 */
async function floodAndScrape(port, password, onFlood = () => undefined) {
  const flood = startFlood(port);
  onFlood(flood);
  await new Promise((resolve) => setTimeout(resolve, SCRAPE.startAfterMs));
  const [prometheus, backup] = await Promise.all([
    scrapeDuring(flood, port, basic('prometheus', password), '127.0.0.2'),
    scrapeDuring(flood, port, basic('backup', password), '127.0.0.1'),
  ]);
  flood.stop();
  return { prometheus, backup, flood: await flood.result };
}

/** A line of figures per scraper. */
function summary(scrapes) {
  return {
    requests: scrapes.length,
    notOk: scrapes.filter((scrape) => scrape.status !== 200).map((scrape) => `${scrape.status} after ${Math.round(scrape.ms)} ms`),
    firstMs: Math.round(scrapes[0]?.ms ?? Number.NaN),
    p50Ms: Math.round(percentile(scrapes.map((scrape) => scrape.ms), 50)),
    p99Ms: Math.round(percentile(scrapes.map((scrape) => scrape.ms), 99)),
  };
}

module.exports = { FLOOD, SCRAPE, floodAndScrape, summary };
