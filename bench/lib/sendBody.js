'use strict';
// What the minimal servers (the yardsticks of the throughput figures) answer: the body from memory,
// gzip when the client accepts it, with the headers the exporter sends, and nothing else.

/** Answers `request` with `body` ({identity, gzip} Buffers). */
function sendBody(request, response, body) {
  const gz = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
  const bytes = gz ? body.gzip : body.identity;
  response.writeHead(200, {
    'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
    'Content-Length': bytes.length,
    Vary: 'Accept-Encoding',
    ...(gz ? { 'Content-Encoding': 'gzip' } : {}),
  });
  response.end(bytes);
}

module.exports = { sendBody };
