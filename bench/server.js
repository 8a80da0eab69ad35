'use strict';
// The exporter's HTTP side in a child process, wired as src/main.ts wires it (ExporterMetrics with the
// process metrics, ScrapeBody, Sampler, Scheduler, createApp behind node:http), with a source that hands
// out prepared 1024-VM sample texts in turn; and, on a second port, a minimal node:http server that
// serves the same bytes from memory. The parent (the load generator) talks to it over IPC.
//   node bench/server.js <vms>
const http = require('node:http');
const path = require('node:path');
const pino = require('pino');
const { DocumentStream } = require('./lib/documents');
const { TimedScrapeBody, dist } = require('./lib/harness');

const express = require('express');
const { createRequestListener } = require(path.join(dist, 'app'));
const { SharedRender } = require(path.join(dist, 'metrics/sharedRender'));
const { ExporterMetrics } = require(path.join(dist, 'metrics/exporterMetrics'));
const { Sampler } = require(path.join(dist, 'sampling/sampler'));
const { SampleProcessor } = require(path.join(dist, 'sampling/sampleProcessor'));
const { Scheduler } = require(path.join(dist, 'sampling/scheduler'));
const { VERSION } = require(path.join(dist, 'version'));

const now = () => performance.timeOrigin + performance.now();

async function main() {
  const vms = Number(process.argv[2] ?? 1024);
  // A few successive samples of a host whose KVP items sometimes change, served in turn.
  const stream = new DocumentStream({ vms, changing: 0.02 });
  const texts = Array.from({ length: 4 }, () => stream.nextText());
  let turn = 0;
  const source = { name: 'replay', sample: async () => ({ text: texts[turn++ % texts.length] }), close: async () => undefined };

  const metrics = new ExporterMetrics({ version: VERSION, source: 'replay', processMetrics: true });
  const body = new TimedScrapeBody();
  const logger = pino({ level: 'silent' });
  const sampler = new Sampler({ source, processor: new SampleProcessor(), metrics, body, logger });
  // Each sample's time on the event loop and until its gzip was ready, as wall-clock ms.
  const windows = [];
  const timedSampler = {
    async sample(signal) {
      const started = now();
      await sampler.sample(signal);
      const processed = now();
      const window = { started, processed, compressed: null };
      windows.push(window);
      void body.lastCompressed.then(() => (window.compressed = now()));
    },
    succeeded: (d) => sampler.succeeded(d),
    failed: (e, d) => sampler.failed(e, d),
    expired: () => sampler.expired(),
  };
  let scheduler = null;

  // Wired as src/main.ts wires it: /metrics ahead of express, the exporter's own metrics shared
  // between scrapes within a second and renewed after every sample outcome.
  const shared = new SharedRender(() => metrics.render(), { maxAgeMs: 1000, version: () => sampler.outcomes });
  const app = createRequestListener({ telemetryPath: '/metrics', version: VERSION, source: 'replay', state: () => sampler.state, body, exporterMetricsText: () => shared.get(), logger });
  const exporter = http.createServer(app);
  await new Promise((resolve) => exporter.listen(0, '127.0.0.1', resolve));

  // The first sample, compressed, then the bytes a scrape gets, for the minimal server.
  await timedSampler.sample(new AbortController().signal);
  await body.lastCompressed;
  const identity = Buffer.concat(body.compose(await metrics.render(), false).chunks);
  const gzip = Buffer.concat(body.compose(await metrics.render(), true).chunks);
  function serveFromMemory(request, response) {
    const gz = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
    const bytes = gz ? gzip : identity;
    response.writeHead(200, {
      'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
      'Content-Length': bytes.length,
      Vary: 'Accept-Encoding',
      ...(gz ? { 'Content-Encoding': 'gzip' } : {}),
    });
    response.end(bytes);
  }
  const minimal = http.createServer(serveFromMemory);
  await new Promise((resolve) => minimal.listen(0, '127.0.0.1', resolve));

  // Express itself serving the bytes from memory: what the framework alone costs per request.
  const floorApp = express();
  floorApp.disable('x-powered-by');
  floorApp.disable('etag');
  floorApp.get('/metrics', serveFromMemory);
  const expressFloor = http.createServer(floorApp);
  await new Promise((resolve) => expressFloor.listen(0, '127.0.0.1', resolve));

  process.on('message', async (message) => {
    if (message.type === 'startSampling') {
      windows.length = 0;
      scheduler = new Scheduler({ intervalMs: message.intervalMs, timeoutMs: 30_000, maxAgeMs: 3_600_000 }, timedSampler);
      scheduler.start();
      process.send({ type: 'sampling' });
    } else if (message.type === 'stopSampling') {
      await scheduler?.stop();
      scheduler = null;
      await new Promise((resolve) => setTimeout(resolve, 300)); // the last compression
      process.send({ type: 'windows', windows });
    } else if (message.type === 'memory') {
      process.send({ type: 'memory', rss: process.memoryUsage().rss });
    } else if (message.type === 'exit') {
      process.exit(0);
    }
  });
  process.send({
    type: 'ready',
    exporter: exporter.address().port,
    expressFloor: expressFloor.address().port,
    minimal: minimal.address().port,
    identityBytes: identity.length,
    gzipBytes: gzip.length,
    processMs: windows[0].processed - windows[0].started,
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
