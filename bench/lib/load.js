'use strict';
// Load generators for /metrics (autocannon): throughput, and the start and end of every request (to
// pick out the requests that overlapped a sample).
const autocannon = require('autocannon');
const PipelinedRequestsQueue = require('autocannon/lib/pipelinedRequestsQueue');

// autocannon appends every response body to a string (req.body += chunk). For a 477 KB gzip body that
// is a UTF-8 decode of binary data, ~6 ms of client CPU per request: more than the server spends, so
// the load generator, not the server, would set the pace. Nothing here reads the bodies; their sizes
// are still counted (throughput) from the parser's body events.
PipelinedRequestsQueue.prototype.addBody = function addBody() {};

/** autocannon against `url`; with `paths`, each connection asks for them in turn (a rotation over targets). */
function runAutocannon(url, { connections = 16, duration = 10, gzip = false, paths = null } = {}) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        duration,
        headers: gzip ? { 'accept-encoding': 'gzip' } : {},
        ...(paths === null ? {} : { requests: paths.map((path) => ({ method: 'GET', path })) }),
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          requestsPerSecond: result.requests.average,
          requests: result.requests.total,
          latencyP50: result.latency.p50,
          latencyP99: result.latency.p99,
          bytesPerSecond: result.throughput.average,
          errors: result.errors + result.timeouts,
          non2xx: result.non2xx,
        });
      },
    );
  });
}

/**
 * autocannon for `durationMs`, keeping every request's [start, end] (wall-clock ms) from its response
 * events, so that the requests that overlapped a sample can be picked out.
 */
function timedRequests(url, { connections = 16, durationMs = 10_000, gzip = false } = {}) {
  const now = () => performance.timeOrigin + performance.now();
  const requests = [];
  let failures = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, connections, duration: durationMs / 1000, headers: gzip ? { 'accept-encoding': 'gzip' } : {} },
      (error, result) => (error ? reject(error) : resolve({ requests, failures: failures + result.errors + result.timeouts })),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      const end = now();
      if (statusCode === 200) requests.push({ start: end - responseTime, end });
      else failures++;
    });
  });
}

module.exports = { runAutocannon, timedRequests };
