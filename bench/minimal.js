'use strict';
// A minimal node:http server in a child process that serves, for each /probe?target=NAME, the bytes the
// exporter at <base URL> served for that target when this server started (gzip and identity), from
// memory: the yardstick for the exporter's /probe throughput.
//   node bench/minimal.js <base URL> <target,target,...>
// Sends {type: 'ready', port, identityBytes, gzipBytes} over IPC once it listens.
const http = require('node:http');
const { sendBody } = require('./lib/sendBody');

function fetchBody(url, gzip) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${url}: HTTP ${response.statusCode}`))));
    });
    request.on('error', reject);
  });
}

async function main() {
  const base = process.argv[2];
  const targets = process.argv[3].split(',');
  const bodies = new Map();
  for (const target of targets) {
    const url = `${base}/probe?target=${encodeURIComponent(target)}`;
    bodies.set(target, { identity: await fetchBody(url, false), gzip: await fetchBody(url, true) });
  }
  const server = http.createServer((request, response) => {
    const target = new URL(request.url, 'http://localhost').searchParams.get('target');
    const body = bodies.get(target);
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    sendBody(request, response, body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sum = (key) => [...bodies.values()].reduce((total, body) => total + body[key].length, 0);
  process.send({ type: 'ready', port: server.address().port, identityBytes: sum('identity') / bodies.size, gzipBytes: sum('gzip') / bodies.size });
  process.on('message', (message) => message.type === 'exit' && process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
