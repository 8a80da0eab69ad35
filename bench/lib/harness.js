'use strict';
// The exporter's sampling path for one host, built from dist/ as src/main.ts (sampleOneHost) builds it:
// a HostSampler with the collectors, the /metrics page of one host (singleHostMetricsPage, with the
// process metrics) and a source that hands out prepared texts; plus a helper that runs one sample to
// its publication, and a way to time the stages inside it.
const path = require('node:path');
const pino = require('pino');

const dist = path.join(__dirname, '..', '..', 'dist');
const { HostSampler } = require(path.join(dist, 'sampling/hostSampler'));
const { COLLECTORS } = require(path.join(dist, 'metrics/collectors'));
const pages = require(path.join(dist, 'metrics/pages'));
const { ProcessMetrics } = require(path.join(dist, 'metrics/processMetrics'));
const { VERSION } = require(path.join(dist, 'version'));

/**
 * A HostSampler whose source answers `next(scope)` (a RawSample, or a promise of one). fullIntervalMs 0:
 * every sample is Full; a large value: a Full sample first, Status samples after it; a function: read
 * at every sample (a bench that switches between the two).
 */
function createSampling({ next, fullIntervalMs = 0, processMetrics = true, host = 'replay', onPage = null }) {
  const exporter = { version: VERSION, source: host, processMetrics: processMetrics ? new ProcessMetrics() : null };
  const logger = pino({ level: 'silent' });
  const asked = { full: 0, status: 0 };
  const source = {
    name: 'replay',
    sample: async (scope) => {
      asked[scope]++;
      return next(scope);
    },
    close: async () => undefined,
  };
  const bodyText = async (state) => {
    const started = performance.now();
    const text = await pages.singleHostMetricsPage(state, exporter);
    onPage?.(performance.now() - started);
    return text;
  };
  const options = { host, source, collectors: COLLECTORS, bodyText, logger };
  if (typeof fullIntervalMs === 'function') Object.defineProperty(options, 'fullIntervalMs', { get: fullIntervalMs, enumerable: true });
  else options.fullIntervalMs = fullIntervalMs;
  const sampler = new HostSampler(options);
  return { sampler, exporter, logger, asked };
}

/** The next publication of `sampler` (resolves with the CurrentSample). */
function nextPublication(sampler) {
  return new Promise((resolve) => {
    const off = sampler.onPublish((sample) => {
      off();
      resolve(sample);
    });
  });
}

/**
 * One sample as the Scheduler runs it (sample, then succeeded), until its body is published.
 * Resolves with the times (ms, performance.now()) it started, its synchronous work ended, and it was
 * published, and the process's CPU time (ms, every thread: gzip on the thread pool, GC) in between.
 */
async function sampleToPublication(sampler, signal = new AbortController().signal) {
  const published = nextPublication(sampler);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await sampler.sample(signal);
  const sampled = performance.now();
  sampler.succeeded(result, (sampled - started) / 1000);
  const current = await published;
  const publishedAt = performance.now();
  const { user, system } = process.cpuUsage(cpuBefore);
  return { started, sampled, published: publishedAt, cpuMs: (user + system) / 1000, current };
}

/**
 * Wraps exported functions of dist modules so that the time spent in each is added up; the modules
 * call each other through their exports objects (CommonJS), so the wrappers see every call. An async
 * function's time is until it settled (work on the thread pool included).
 */
function instrument(stages) {
  const totals = {};
  const cpu = {};
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  for (const [stage, targets] of Object.entries(stages)) {
    totals[stage] = 0;
    cpu[stage] = 0;
    for (const [modulePath, name] of targets) {
      const owner = require(path.join(dist, modulePath));
      const original = owner[name];
      if (typeof original !== 'function') throw new Error(`bench: ${modulePath} has no ${name}`);
      owner[name] = function timed(...args) {
        const started = performance.now();
        const startedCpu = cpuMs();
        let result;
        const done = () => {
          totals[stage] += performance.now() - started;
          cpu[stage] += cpuMs() - startedCpu;
        };
        try {
          result = original.apply(this, args);
        } finally {
          if (!(result instanceof Promise)) done();
        }
        if (result instanceof Promise) return result.finally(done);
        return result;
      };
    }
  }
  return {
    /** Wall-clock ms per stage since the last take(). */
    take() {
      const taken = { ...totals };
      for (const key of Object.keys(totals)) totals[key] = 0;
      return taken;
    },
    /** The process's CPU ms (every thread) per stage since the last takeCpu(). */
    takeCpu() {
      const taken = { ...cpu };
      for (const key of Object.keys(cpu)) cpu[key] = 0;
      return taken;
    },
  };
}

module.exports = { createSampling, nextPublication, sampleToPublication, instrument, dist, VERSION };
