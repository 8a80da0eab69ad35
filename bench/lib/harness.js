'use strict';
// The exporter's own sampling path (Sampler → SampleProcessor → collectors → ScrapeBody), built from
// dist/ as main.js builds it, with a source that hands out prepared texts and a silent logger.
const path = require('node:path');
const pino = require('pino');

const dist = path.join(__dirname, '..', '..', 'dist');
const { ExporterMetrics } = require(path.join(dist, 'metrics/exporterMetrics'));
const { ScrapeBody } = require(path.join(dist, 'metrics/scrapeBody'));
const { Sampler } = require(path.join(dist, 'sampling/sampler'));
const { SampleProcessor } = require(path.join(dist, 'sampling/sampleProcessor'));
const { VERSION } = require(path.join(dist, 'version'));

/** ScrapeBody that remembers how long the synchronous part of publish took and when compression finished. */
class TimedScrapeBody extends ScrapeBody {
  constructor() {
    super();
    this.lastPublishMs = 0;
    this.lastCompressed = Promise.resolve();
  }

  publish(rendering) {
    const started = performance.now();
    const done = super.publish(rendering);
    this.lastPublishMs = performance.now() - started;
    this.lastCompressed = done.then(() => performance.now());
    return done;
  }
}

/** A sampler whose source returns whatever `next()` gives (a RawSample). */
function createSampling({ next, processMetrics = true }) {
  const metrics = new ExporterMetrics({ version: VERSION, source: 'replay', processMetrics });
  const body = new TimedScrapeBody();
  const logger = pino({ level: 'silent' });
  const source = { name: 'replay', sample: async () => next(), close: async () => undefined };
  const sampler = new Sampler({ source, processor: new SampleProcessor(), metrics, body, logger });
  return { sampler, metrics, body, logger };
}

/**
 * Wraps exported functions of dist modules so that the time spent in each is added up; the modules
 * call each other through their exports objects, so the wrappers see every call.
 */
function instrument(stages) {
  const totals = {};
  for (const [stage, [modulePath, name]] of Object.entries(stages)) {
    // "Class.prototype.method" or an exported function.
    const parts = name.split('.');
    let owner = require(path.join(dist, modulePath));
    for (const part of parts.slice(0, -1)) owner = owner[part];
    const key = parts[parts.length - 1];
    const original = owner[key];
    if (typeof original !== 'function') throw new Error(`bench: ${modulePath} has no ${name}`);
    totals[stage] = 0;
    owner[key] = function timed(...args) {
      const started = performance.now();
      let result;
      try {
        result = original.apply(this, args);
      } finally {
        if (!(result instanceof Promise)) totals[stage] += performance.now() - started;
      }
      // An async stage (done in slices): its time until it settled, pauses included.
      if (result instanceof Promise) return result.finally(() => (totals[stage] += performance.now() - started));
      return result;
    };
  }
  return {
    take() {
      const taken = { ...totals };
      for (const key of Object.keys(totals)) totals[key] = 0;
      return taken;
    },
  };
}

module.exports = { createSampling, instrument, TimedScrapeBody, dist };
