/**
 * A flood of bad logins against basic auth must not starve scrapes with the right password.
 *
 * A real server (createHttpServer, cost-10 bcrypt hashes, --web.max-requests 40) gets ~400
 * concurrent connections guessing passwords, and two scrapers with the right password scrape through
 * the flood, 150 times each, on a new connection every time (bench/lib/authFlood.js says how).
 *
 * What is checked here is that none is starved: every scrape is answered 200, and all 300 are done
 * before the flood ends (it lasts 15 s at most). How long they take under the flood (p99, the first
 * scrape) is a speed target: `npm run bench -- --only=auth` measures and judges it, on a machine that
 * runs nothing else (docs/performance.md).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { floodAndScrape, SCRAPE, summary, type Flood } from '../../bench/lib/authFlood';
import { createHttpServer } from '../../src/server/httpServer';
import { loadWebConfig } from '../../src/server/webConfig';

const PASSWORD = 'correct horse battery staple';
let directory: string;
let server: http.Server | undefined;
let flood: Flood | undefined;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'auth-flood-'));
});
afterAll(async () => {
  flood?.kill();
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  }
  rmSync(directory, { recursive: true, force: true });
});

it('answers every scrape with the right password (200), all while ~400 connections guess passwords', async () => {
  const path = join(directory, 'web.yml');
  writeFileSync(path, `basic_auth_users:\n  prometheus: '${bcrypt.hashSync(PASSWORD, 10)}'\n  backup: '${bcrypt.hashSync(PASSWORD, 10)}'\n`);
  const answerOk: http.RequestListener = (_request, response) => response.end('ok\n');
  const webConfig = await loadWebConfig(path);
  server = createHttpServer(answerOk, { webConfig, maxRequests: 40, logger: pino({ level: 'silent' }) });
  const listening = server;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  const { port } = listening.address() as AddressInfo;

  const { prometheus, backup, flood: floodResult } = await floodAndScrape(port, PASSWORD, (started) => (flood = started));
  process.stdout.write(`auth flood: ${JSON.stringify({ prometheus: summary(prometheus), backup: summary(backup), flood: floodResult })}\n`);

  for (const scrapes of [prometheus, backup]) {
    expect(scrapes.filter((scrape) => scrape.status !== 200)).toEqual([]);
    // Every scrape was made while the flood ran: a scraper stops when the flood ends.
    expect(scrapes.length).toBe(SCRAPE.count);
  }

  // The flood was real and lasted through every scrape: passwords were compared (401), and beyond the
  // queues' bounds refused (503).
  expect(floodResult.stoppedBy).toBe('parent');
  expect(floodResult.statuses['401']).toBeGreaterThan(0);
  expect(floodResult.statuses['503']).toBeGreaterThan(0);
  expect(floodResult.statuses['200']).toBeUndefined();
}, 45_000);
