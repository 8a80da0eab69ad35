'use strict';
// The server of the auth-flood scenario, in a process of its own: the exporter's HTTP server (dist/)
// with basic auth from <web config file> and --web.max-requests 40, answering "ok"; sends
// {type: 'ready', port} over IPC once it listens on 127.0.0.1.
//   node bench/authServer.js <web config file>
const path = require('node:path');
const { createHttpServer } = require(path.join(__dirname, '..', 'dist', 'server', 'httpServer'));
const { loadWebConfig } = require(path.join(__dirname, '..', 'dist', 'server', 'webConfig'));
const pino = require('pino');

async function main() {
  const webConfig = await loadWebConfig(process.argv[2]);
  const server = createHttpServer((_request, response) => response.end('ok\n'), { webConfig, maxRequests: 40, logger: pino({ level: 'silent' }) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.send({ type: 'ready', port: server.address().port });
  process.on('message', (message) => message.type === 'exit' && process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
