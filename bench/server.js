'use strict';
// The exporter's HTTP side for one host in a child process, wired as src/main.ts and src/hosts.ts
// (serve, sampleOneHost) wire it: a HostSampler with the collectors and singleHostMetricsPage (process metrics included), a
// Scheduler, createRequestListener + oneHostView behind createReloadableHttpServer (--web.max-requests
// 40, no web config, requestClassesOf): express routes every request, scrapes included. Its source hands out prepared
// sample texts of a <vms>-VM host in turn. On a second port, a minimal node:http server serves the same
// bytes from memory. The parent (the load generator) talks to it over IPC, and asks it for its CPU time
// (the two servers are loaded one at a time, so a run's CPU is the loaded server's).
//   node bench/server.js <vms>
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { DocumentStream } = require('./lib/documents');
const { sendBody } = require('./lib/sendBody');
const { createSampling, sampleToPublication, dist, VERSION } = require('./lib/harness');

const app = require(path.join(dist, 'app'));
const { createRequestListener, requestClassesOf } = app;
// oneHostView: in dist/hosts.js (where main's sampleOneHost is), formerly in dist/app.js.
const { oneHostView } = fs.existsSync(path.join(dist, 'hosts.js')) ? require(path.join(dist, 'hosts')) : app;
const { Scheduler } = require(path.join(dist, 'sampling/scheduler'));
const { createReloadableHttpServer } = require(path.join(dist, 'server/httpServer'));

const now = () => performance.timeOrigin + performance.now();

async function main() {
  const vms = Number(process.argv[2] ?? 1024);
  // A few successive samples of the host, served in turn, Full or Status as the sampler asks. Every
  // sample is Full (the heavier kind) unless the parent asks for Status samples (a Full one, then Status).
  const stream = new DocumentStream({ vms });
  const ticks = Array.from({ length: 4 }, () => {
    const tick = stream.next();
    return { full: tick.full, status: tick.status };
  });
  let turn = 0;
  let fullIntervalMs = 0;
  let asked = [];
  const next = (scope) => {
    asked.push(scope);
    return { text: ticks[turn++ % ticks.length][scope] };
  };
  const { sampler, logger } = createSampling({ next, fullIntervalMs: () => fullIntervalMs });
  await sampler.publishInitial();

  // Each sample's window, wall-clock ms: started, its work on the event loop done (sample() resolved),
  // and its body published (rendered page, encoded and gzipped on the thread pool).
  const windows = [];
  let open = null;
  sampler.onPublish(() => {
    if (open !== null) {
      open.published = now();
      open = null;
    }
  });
  const timedSampler = {
    async sample(signal) {
      const window = { started: now(), sampled: null, published: null, scope: null };
      asked = [];
      try {
        return await sampler.sample(signal);
      } finally {
        window.sampled = now();
        // What the sample was: Full if the sampler asked for a Full document at all.
        window.scope = asked.includes('full') ? 'full' : 'status';
        windows.push(window);
        open = window;
      }
    },
    succeeded: (result, d) => sampler.succeeded(result, d),
    failed: (e, d) => sampler.failed(e, d),
    expired: () => sampler.expired(),
  };
  let scheduler = null;

  const listener = createRequestListener({ telemetryPath: '/metrics', version: VERSION, logger, ...oneHostView('replay', () => sampler.current) });
  // As main does: requests and responses made of express's prototypes (absent from older builds).
  const requestClasses = requestClassesOf === undefined ? undefined : requestClassesOf(listener);
  const exporter = createReloadableHttpServer(listener, { maxRequests: 40, logger, requestClasses }).server;
  await new Promise((resolve) => exporter.listen(0, '127.0.0.1', resolve));

  // The first sample, published; then the bytes a scrape gets, for the minimal server.
  const first = await sampleToPublication(sampler);
  const firstBody = sampler.current.body;
  const minimal = http.createServer((request, response) => sendBody(request, response, firstBody));
  await new Promise((resolve) => minimal.listen(0, '127.0.0.1', resolve));

  process.on('message', async (message) => {
    if (message.type === 'startSampling') {
      windows.length = 0;
      fullIntervalMs = message.scope === 'status' ? 3_600_000 : 0;
      scheduler = new Scheduler({ intervalMs: message.intervalMs, timeoutMs: 30_000, maxAgeMs: 3_600_000 }, timedSampler);
      scheduler.start();
      process.send({ type: 'sampling' });
    } else if (message.type === 'stopSampling') {
      await scheduler?.stop();
      scheduler = null;
      await new Promise((resolve) => setTimeout(resolve, 500)); // the last publication
      process.send({ type: 'windows', windows });
    } else if (message.type === 'cpu') {
      // The process's CPU time (µs, every thread): the parent takes the difference over one run.
      process.send({ type: 'cpu', usage: process.cpuUsage() });
    } else if (message.type === 'exit') {
      process.exit(0);
    }
  });
  process.send({
    type: 'ready',
    exporter: exporter.address().port,
    minimal: minimal.address().port,
    identityBytes: firstBody.identity.length,
    gzipBytes: firstBody.gzip.length,
    firstSampleMs: first.published - first.started,
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
