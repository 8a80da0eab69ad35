import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { createHttpServer, createReloadableHttpServer, type HttpServerOptions } from '../../src/server/httpServer';
import { loadWebConfig, WebConfigError, type WebConfig } from '../../src/server/webConfig';
import { connectRaw, curl, send, type ClientOptions, type ClientResponse } from './tls/testClients';
import { CLIENT_SAN, createTestPki, type TestPki } from './tls/testPki';

const silentLogger = pino({ level: 'silent' });

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());

interface RunningServer {
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
}

const runningServers = new Set<http.Server>();
async function closeRunningServers(): Promise<void> {
  for (const server of runningServers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  runningServers.clear();
}
afterEach(closeRunningServers);

async function start(handler: http.RequestListener, options: Partial<HttpServerOptions> = {}): Promise<RunningServer> {
  const server = createHttpServer(handler, { maxRequests: 40, logger: silentLogger, ...options });
  runningServers.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = options.webConfig?.tls === undefined ? 'http' : 'https';
  return { server, port, url: `${scheme}://127.0.0.1:${port}` };
}

let configCount = 0;
async function webConfig(text: string): Promise<WebConfig> {
  configCount += 1;
  const path = join(pki.directory, `http-server-web-config-${configCount}.yml`);
  writeFileSync(path, text);
  return loadWebConfig(path);
}

const answerOk: http.RequestListener = (request, response) => {
  response.setHeader('Content-Type', 'text/plain');
  response.end(`ok ${request.method} ${request.url}`);
};

/** Stack frames, source paths or error names: none of it may reach a client. */
const STACK_TRACE = /\n\s*at |\.[jt]s:\d+|node:internal|\w*Error: /;

function expectNoStackTrace(response: Pick<ClientResponse, 'body'>): void {
  expect(response.body).not.toMatch(STACK_TRACE);
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** For requests awaited later: a failure meanwhile must fail the test, not crash the worker. */
function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

describe('request hygiene', () => {
  it('passes GET and HEAD to the handler', async () => {
    const { url } = await start(answerOk);

    const get = await send(`${url}/metrics`);
    const head = await send(`${url}/metrics`, { method: 'HEAD' });

    expect(get).toMatchObject({ status: 200, body: 'ok GET /metrics' });
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it('refuses every other method with 405 and Allow: GET, HEAD, without calling the handler', async () => {
    const handler = jest.fn(answerOk);
    const { url } = await start(handler);

    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await send(`${url}/metrics`, { method, body: 'x=1' });
      expect(response).toMatchObject({ status: 405, body: 'Method Not Allowed\n' });
      expect(response.headers.allow).toBe('GET, HEAD');
      expect(response.headers.connection).toBe('close');
    }
    const viaCurl = await curl(['-X', 'POST', '--data', 'x=1', `${url}/metrics`]);
    expect(viaCurl).toMatchObject({ exitCode: 0, status: 405, body: 'Method Not Allowed\n' });
    expect(handler).not.toHaveBeenCalled();
  });

  it('answers 500 without a stack trace when the handler throws or rejects, and logs the error instead', async () => {
    const logLines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => logLines.push(line) });
    const { url } = await start(
      (request) => {
        if (request.url === '/sync') throw new Error('secret-detail-sync');
        return Promise.reject(new Error('secret-detail-async')) as unknown as void;
      },
      { logger },
    );

    for (const path of ['/sync', '/async']) {
      const response = await send(`${url}${path}`);
      expect(response).toMatchObject({ status: 500, body: 'Internal Server Error\n' });
      expect(response.body).not.toContain('secret-detail');
      expectNoStackTrace(response);
    }
    expect(logLines.join('')).toContain('secret-detail-sync');
    expect(logLines.join('')).toContain('secret-detail-async');
  });

  it('lets the HTTP parser answer malformed requests with a bare 400', async () => {
    const { port } = await start(answerOk);
    const connection = await connectRaw(port);

    connection.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n');
    await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expectNoStackTrace({ body: connection.received() });
  });

  it('adds the configured response headers to every response, refusals included', async () => {
    const config = await webConfig(
      'http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n    X-Frame-Options: deny\n',
    );
    const { url } = await start(answerOk, { webConfig: config });

    for (const response of [await send(url), await send(url, { method: 'POST' })]) {
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('deny');
    }
  });

  it('refuses invalid limits at creation', () => {
    expect(() => createHttpServer(answerOk, { maxRequests: -1, logger: silentLogger })).toThrow(RangeError);
    expect(() => createHttpServer(answerOk, { maxRequests: 1.5, logger: silentLogger })).toThrow(/maxRequests/);
    expect(() =>
      createHttpServer(answerOk, { maxRequests: 1, logger: silentLogger, timeouts: { headersMs: 0 } }),
    ).toThrow(/headersMs/);
    expect(() =>
      createHttpServer(answerOk, { maxRequests: 1, logger: silentLogger, timeouts: { headersMs: 500, requestMs: 100 } }),
    ).toThrow(/must not exceed/);
  });
});

/** A handler that holds every request until the test lets go; then it answers at once. */
function holdingHandler(): { handler: http.RequestListener; held: http.ServerResponse[]; releaseAll(): void } {
  const held: http.ServerResponse[] = [];
  let holding = true;
  return {
    held,
    handler: (_request, response) => {
      if (holding) held.push(response);
      else response.end('released');
    },
    releaseAll: () => {
      holding = false;
      for (const response of held.splice(0)) response.end('released');
    },
  };
}

describe('paths with methods of their own (POST /-/reload)', () => {
  const RELOAD = new Map([['/-/reload', ['POST']]]);

  it('lets POST through for exactly that path, and refuses it everywhere else', async () => {
    const handler = jest.fn(answerOk);
    const { url } = await start(handler, { pathMethods: RELOAD });

    expect(await send(`${url}/-/reload`, { method: 'POST' })).toMatchObject({ status: 200, body: 'ok POST /-/reload' });
    expect(await send(`${url}/-/reload?now=1`, { method: 'POST' })).toMatchObject({ status: 200, body: 'ok POST /-/reload?now=1' });
    for (const path of ['/metrics', '/-/reload/', '/-/RELOAD', '/-/%72eload', '/']) {
      const response = await send(`${url}${path}`, { method: 'POST', body: 'x=1' });
      expect({ path, status: response.status, allow: response.headers.allow }).toEqual({ path, status: 405, allow: 'GET, HEAD' });
    }
    // The path takes POST only: GET, HEAD and the rest are refused before the handler.
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
      const response = await send(`${url}/-/reload`, { method });
      expect({ method, status: response.status, allow: response.headers.allow }).toEqual({ method, status: 405, allow: 'POST' });
    }
    expect(await send(`${url}/metrics`)).toMatchObject({ status: 200, body: 'ok GET /metrics' });
    expect(handler).toHaveBeenCalledTimes(3);
  });

  it('without it, POST is refused on every path, as before', async () => {
    const handler = jest.fn(answerOk);
    const { url } = await start(handler);
    expect(await send(`${url}/-/reload`, { method: 'POST' })).toMatchObject({ status: 405, body: 'Method Not Allowed\n' });
    expect(handler).not.toHaveBeenCalled();
  });

  it('keeps basic auth in front of it: an unauthenticated POST gets 401 and never reaches the handler', async () => {
    const handler = jest.fn(answerOk);
    const config = await webConfig(`basic_auth_users:\n  admin: '${bcrypt.hashSync('admin-password', 4)}'\n`);
    const { url } = await start(handler, { webConfig: config, pathMethods: RELOAD });

    expect(await send(`${url}/-/reload`, { method: 'POST' })).toMatchObject({ status: 401 });
    expect(await send(`${url}/-/reload`, { method: 'POST', headers: { authorization: basic('admin', 'wrong') } })).toMatchObject({ status: 401 });
    expect(handler).not.toHaveBeenCalled();
    expect(await send(`${url}/-/reload`, { method: 'POST', headers: { authorization: basic('admin', 'admin-password') } })).toMatchObject({
      status: 200,
      body: 'ok POST /-/reload',
    });
  });
});

describe('reloadWebConfig', () => {
  it('applies a valid file; a broken one, or TLS turned on, rejects with one line naming the file and keeps the running users', async () => {
    const path = join(pki.directory, 'http-server-reload.yml');
    writeFileSync(path, `basic_auth_users:\n  alice: '${bcrypt.hashSync('a', 4)}'\n`);
    const handle = createReloadableHttpServer(answerOk, { maxRequests: 40, logger: silentLogger, webConfig: await loadWebConfig(path), webConfigFile: path });
    runningServers.add(handle.server as http.Server);
    await new Promise<void>((resolve) => handle.server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(handle.server.address() as AddressInfo).port}`;
    const as = async (user: string, password: string): Promise<number> => (await send(`${url}/metrics`, { headers: { authorization: basic(user, password) } })).status;
    expect(await as('alice', 'a')).toBe(200);

    writeFileSync(path, `basic_auth_users:\n  bob: '${bcrypt.hashSync('b', 4)}'\n`);
    await handle.reloadWebConfig();
    expect([await as('alice', 'a'), await as('bob', 'b')]).toEqual([401, 200]);

    writeFileSync(path, 'basic_auth_users:\n  alice: [\n');
    const broken = await handle.reloadWebConfig().then(() => null, (error: unknown) => error);
    expect(broken).toBeInstanceOf(WebConfigError);
    expect((broken as Error).message).toMatch(/^web config ".*http-server-reload\.yml": \(yaml\): [^\n]+$/);

    writeFileSync(path, `tls_server_config:\n  cert_file: ${pki.path('serverCertificate')}\n  key_file: ${pki.path('serverKey')}\nbasic_auth_users:\n  alice: '${bcrypt.hashSync('a', 4)}'\n`);
    const tls = await handle.reloadWebConfig().then(() => null, (error: unknown) => error);
    expect((tls as Error).message).toBe(`web config "${path}": tls_server_config: turning TLS on needs a restart`);
    expect([await as('alice', 'a'), await as('bob', 'b')]).toEqual([401, 200]);
  });
});

describe('--web.max-requests', () => {
  it('answers 503 at once above the limit, and serves again when requests finish', async () => {
    const holding = holdingHandler();
    const { url } = await start(holding.handler, { maxRequests: 2 });

    const first = awaitedLater(send(url));
    const second = awaitedLater(send(url));
    await waitUntil(() => holding.held.length === 2, 'two requests are held');
    const startedAt = Date.now();
    const third = await send(url);

    expect(third).toMatchObject({ status: 503, body: 'Service Unavailable\n' });
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(holding.held).toHaveLength(2);
    expectNoStackTrace(third);

    holding.releaseAll();
    expect(await first).toMatchObject({ status: 200, body: 'released' });
    expect(await second).toMatchObject({ status: 200, body: 'released' });
    expect(await send(url)).toMatchObject({ status: 200 });
  });

  it('does not limit concurrent requests when set to 0', async () => {
    const holding = holdingHandler();
    const { url } = await start(holding.handler, { maxRequests: 0 });

    const requests = awaitedLater(Promise.all(Array.from({ length: 60 }, () => send(url))));
    await waitUntil(() => holding.held.length === 60, 'all 60 requests are held');
    holding.releaseAll();

    expect((await requests).map((response) => response.status)).toEqual(Array(60).fill(200));
  });

  it('frees the slots of clients that go away mid-request, pipelined requests included', async () => {
    const holding = holdingHandler();
    const { port, url } = await start(holding.handler, { maxRequests: 2 });

    const connection = await connectRaw(port);
    connection.socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitUntil(() => holding.held.length === 2, 'both pipelined requests are held');
    expect((await send(url)).status).toBe(503);

    connection.socket.destroy();
    await connection.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));

    // The abandoned responses are never ended: the slots must come back without the handler's help.
    const after = awaitedLater(Promise.all([send(url), send(url)]));
    await waitUntil(() => holding.held.length === 4, 'two new requests are held next to the abandoned ones');
    for (const response of holding.held.slice(2)) response.end('released');
    expect((await after).map((response) => response.status)).toEqual([200, 200]);
  });
});

// These tests wait for the server's timeouts, each with a server of its own: they run at once. (Jest
// runs no afterEach for concurrent tests: their servers are closed after all of them.)
describe('slow clients cannot hold a socket', () => {
  const timeouts = { headersMs: 300, requestMs: 600, keepAliveMs: 300 };
  afterAll(closeRunningServers);

  it.concurrent('closes a connection that trickles its headers (slow loris) once headersMs is over', async () => {
    const handler = jest.fn(answerOk);
    const { port } = await start(handler, { timeouts });
    const connection = await connectRaw(port);

    connection.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => connection.socket.write('X-Slow: 1\r\n'), 50);
    const closedAfterMs = await connection.closed;
    clearInterval(trickle);

    expect(closedAfterMs).toBeGreaterThanOrEqual(250);
    expect(closedAfterMs).toBeLessThan(2_000);
    expect(connection.received()).not.toContain('200 OK');
    expect(handler).not.toHaveBeenCalled();
  });

  it.concurrent('closes a connection that sends nothing', async () => {
    const { port } = await start(answerOk, { timeouts });
    const connection = await connectRaw(port);

    expect(await connection.closed).toBeLessThan(2_000);
  });

  it.concurrent('closes an idle keep-alive connection after keepAliveMs', async () => {
    const { port } = await start(answerOk, { timeouts });
    const connection = await connectRaw(port);

    connection.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    const closedAfterMs = await connection.closed;

    expect(connection.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(connection.received()).toMatch(/\r\nKeep-Alive: timeout=\d+\r\n/i);
    expect(closedAfterMs).toBeLessThan(2_000);
  });

  it.concurrent('drops a TLS connection that never completes its handshake', async () => {
    const config = await webConfig('tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n');
    const { port } = await start(answerOk, { webConfig: config, timeouts });
    const connection = await connectRaw(port);

    const closedAfterMs = await connection.closed;

    expect(closedAfterMs).toBeGreaterThanOrEqual(250);
    expect(closedAfterMs).toBeLessThan(2_000);
  });
});

describe('basic auth', () => {
  // Cost 12 makes one bcrypt comparison take long enough (~0.2 s) to tell it apart from none.
  const password = 'correct horse battery staple';
  // bcrypt.hashSync(password, 12), made once: hashing at cost 12 took as long as a comparison.
  const hash = '$2b$12$mEr55dIHYb6itZuSpjE0bObtNqj5tPc.Ofea2vnrXIxE3uHYPuqRy';
  let config: WebConfig;
  let bcryptMs: number;

  beforeAll(async () => {
    // One comparison's time, warm (the first call also compiles bcryptjs, and took 650 ms against
    // 260 ms for the server's comparisons in a loaded CI run): the median of three after one.
    bcrypt.compareSync('not the password', hash);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const startedAt = Date.now();
      bcrypt.compareSync('not the password', hash);
      times.push(Date.now() - startedAt);
    }
    bcryptMs = [...times].sort((a, b) => a - b)[1] ?? 0;
    config = await webConfig(`basic_auth_users:\n  prometheus: '${hash}'\n  other: '${bcrypt.hashSync('x', 4)}'\n`);
  });

  it('lets the right user and password through (Node client and curl)', async () => {
    const { url } = await start(answerOk, { webConfig: config });

    expect(await send(`${url}/metrics`, { headers: { authorization: basic('prometheus', password) } })).toMatchObject({
      status: 200,
      body: 'ok GET /metrics',
    });
    expect(await curl(['--user', `prometheus:${password}`, `${url}/metrics`])).toMatchObject({
      exitCode: 0,
      status: 200,
      body: 'ok GET /metrics',
    });
  });

  it('answers a wrong password, an unknown user, a missing or malformed header all the same 401, without calling the handler', async () => {
    const handler = jest.fn(answerOk);
    const { url } = await start(handler, { webConfig: config });
    const attempts: Record<string, string | undefined> = {
      'wrong password': basic('prometheus', 'wrong'),
      'unknown user': basic('nobody', password),
      'user of another password': basic('other', password),
      'missing header': undefined,
      'other scheme': `Bearer ${Buffer.from(`prometheus:${password}`).toString('base64')}`,
      'not base64': 'Basic !!!not-base64!!!',
      'no colon': `Basic ${Buffer.from('prometheus').toString('base64')}`,
      'empty credentials': 'Basic ',
    };

    for (const [attempt, authorization] of Object.entries(attempts)) {
      const response = await send(`${url}/metrics`, authorization === undefined ? {} : { headers: { authorization } });
      expect({ attempt, status: response.status, body: response.body }).toEqual({
        attempt,
        status: 401,
        body: 'Unauthorized\n',
      });
      expect(response.headers['www-authenticate']).toBe('Basic realm="hyperv-ic-exporter", charset="UTF-8"');
      expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    }
    const viaCurl = await curl(['--user', 'prometheus:wrong', `${url}/metrics`]);
    expect(viaCurl).toMatchObject({ status: 401, body: 'Unauthorized\n' });
    expect(handler).not.toHaveBeenCalled();
  });

  it('spends a bcrypt comparison on an unknown user just as on a wrong password', async () => {
    const { url } = await start(answerOk, { webConfig: config });
    const timed = async (authorization: string): Promise<number> => {
      const startedAt = Date.now();
      expect((await send(url, { headers: { authorization } })).status).toBe(401);
      return Date.now() - startedAt;
    };

    // Interleaved and taken as medians, so that a change in the machine's load hits all three alike.
    const runs: Record<'wrongPassword' | 'unknownUser' | 'malformed', number[]> = { wrongPassword: [], unknownUser: [], malformed: [] };
    for (let round = 0; round < 3; round++) {
      runs.wrongPassword.push(await timed(basic('prometheus', 'wrong')));
      runs.unknownUser.push(await timed(basic('nobody', 'wrong')));
      runs.malformed.push(await timed('Basic !!!'));
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[1] ?? 0;
    const [wrongPasswordMs, unknownUserMs, malformedMs] = [median(runs.wrongPassword), median(runs.unknownUser), median(runs.malformed)];

    expect(wrongPasswordMs).toBeGreaterThanOrEqual(bcryptMs * 0.5);
    expect(unknownUserMs).toBeGreaterThanOrEqual(wrongPasswordMs * 0.5);
    // The measurement can tell "no bcrypt" apart: a malformed header costs none.
    expect(malformedMs).toBeLessThan(Math.min(wrongPasswordMs, unknownUserMs) * 0.5);
  });

  it('remembers a successful verification so later scrapes skip bcrypt, but never remembers a failure', async () => {
    const { url } = await start(answerOk, { webConfig: config });
    const timed = async (authorization: string, status: number): Promise<number> => {
      const startedAt = Date.now();
      expect((await send(url, { headers: { authorization } })).status).toBe(status);
      return Date.now() - startedAt;
    };

    const firstMs = await timed(basic('prometheus', password), 200);
    const cachedMs = [await timed(basic('prometheus', password), 200), await timed(basic('prometheus', password), 200)];
    const repeatedFailureMs = [await timed(basic('prometheus', 'wrong'), 401), await timed(basic('prometheus', 'wrong'), 401)];

    expect(firstMs).toBeGreaterThanOrEqual(bcryptMs * 0.5);
    for (const ms of cachedMs) expect(ms).toBeLessThan(bcryptMs * 0.5);
    for (const ms of repeatedFailureMs) expect(ms).toBeGreaterThanOrEqual(bcryptMs * 0.5);
  });
});

describe('TLS', () => {
  const serverTls = 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n';
  const trustServer = (): ClientOptions => ({ ca: pki.read('caCertificate') });
  const withClientCertificate = (): ClientOptions => ({
    ...trustServer(),
    cert: pki.read('clientCertificate'),
    key: pki.read('clientKey'),
  });
  const withForeignCertificate = (): ClientOptions => ({
    ...trustServer(),
    cert: pki.read('foreignClientCertificate'),
    key: pki.read('foreignClientKey'),
  });

  it('serves HTTPS with the configured certificate (Node https and curl), and nothing over plain HTTP', async () => {
    const { url, port } = await start(answerOk, { webConfig: await webConfig(serverTls) });

    expect(await send(`${url}/metrics`, trustServer())).toMatchObject({ status: 200, tlsProtocol: 'TLSv1.3' });
    expect(await curl(['--cacert', pki.path('caCertificate'), `${url}/metrics`])).toMatchObject({
      exitCode: 0,
      status: 200,
      body: 'ok GET /metrics',
    });
    expect(await curl(['--cacert', pki.path('caCertificate'), `https://localhost:${port}/`])).toMatchObject({ status: 200 });
    await expect(send(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    // A client that does not trust our CA must not get through either.
    await expect(send(`${url}/metrics`)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('refuses clients below min_version', async () => {
    const { url } = await start(answerOk, { webConfig: await webConfig(`${serverTls}  min_version: TLS13\n`) });

    await expect(send(url, { ...trustServer(), maxVersion: 'TLSv1.2' })).rejects.toThrow(/version|alert/i);
    expect(await send(url, { ...trustServer(), minVersion: 'TLSv1.3' })).toMatchObject({ status: 200, tlsProtocol: 'TLSv1.3' });
    const tls12Curl = await curl(['--cacert', pki.path('caCertificate'), '--tlsv1.2', '--tls-max', '1.2', url]);
    expect(tls12Curl.status).toBeUndefined();
    expect(tls12Curl.exitCode).not.toBe(0);
    expect(await curl(['--cacert', pki.path('caCertificate'), '--tlsv1.3', url])).toMatchObject({ status: 200 });
  });

  it('negotiates within max_version and cipher_suites', async () => {
    const { url } = await start(answerOk, {
      webConfig: await webConfig(`${serverTls}  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]\n`),
    });

    expect(await send(url, trustServer())).toMatchObject({
      status: 200,
      tlsProtocol: 'TLSv1.2',
      tlsCipher: 'ECDHE-ECDSA-CHACHA20-POLY1305',
    });
    await expect(send(url, { ...trustServer(), ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).rejects.toThrow();
  });

  it('offers only the curves in curve_preferences', async () => {
    const { url } = await start(answerOk, { webConfig: await webConfig(`${serverTls}  curve_preferences: [CurveP384]\n`) });

    expect(await send(url, { ...trustServer(), ecdhCurve: 'P-384' })).toMatchObject({ status: 200 });
    await expect(send(url, { ...trustServer(), ecdhCurve: 'X25519:P-256' })).rejects.toThrow();
  });

  it('RequireAndVerifyClientCert: refuses no certificate and a foreign one, accepts one signed by client_ca_file', async () => {
    const { url } = await start(answerOk, {
      webConfig: await webConfig(`${serverTls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n`),
    });

    await expect(send(url, trustServer())).rejects.toThrow();
    await expect(send(url, withForeignCertificate())).rejects.toThrow();
    expect(await send(url, withClientCertificate())).toMatchObject({ status: 200 });

    const cacert = ['--cacert', pki.path('caCertificate')];
    expect((await curl([...cacert, url])).status).toBeUndefined();
    expect(
      (await curl([...cacert, '--cert', pki.path('foreignClientCertificate'), '--key', pki.path('foreignClientKey'), url])).status,
    ).toBeUndefined();
    expect(await curl([...cacert, '--cert', pki.path('clientCertificate'), '--key', pki.path('clientKey'), url])).toMatchObject({
      exitCode: 0,
      status: 200,
    });
  });

  it('RequireAnyClientCert: refuses a connection without certificate, accepts any certificate', async () => {
    const { url } = await start(answerOk, { webConfig: await webConfig(`${serverTls}  client_auth_type: RequireAnyClientCert\n`) });

    await expect(send(url, trustServer())).rejects.toThrow();
    expect(await send(url, withForeignCertificate())).toMatchObject({ status: 200 });
    expect(await send(url, withClientCertificate())).toMatchObject({ status: 200 });
  });

  it('VerifyClientCertIfGiven: accepts no certificate or a verified one, refuses a foreign one', async () => {
    const { url } = await start(answerOk, {
      webConfig: await webConfig(`${serverTls}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n`),
    });

    expect(await send(url, trustServer())).toMatchObject({ status: 200 });
    expect(await send(url, withClientCertificate())).toMatchObject({ status: 200 });
    await expect(send(url, withForeignCertificate())).rejects.toThrow();
  });

  it('client_allowed_sans: refuses a certificate that carries none of the allowed SANs', async () => {
    const { url } = await start(answerOk, {
      webConfig: await webConfig(`${serverTls}  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [${CLIENT_SAN}]\n`),
    });

    expect(await send(url, withClientCertificate())).toMatchObject({ status: 200 });
    await expect(send(url, withForeignCertificate())).rejects.toThrow();
  });

  it('serves a scrape over TLS with basic auth, as Prometheus will do it', async () => {
    const hash = bcrypt.hashSync('scrape-secret', 4);
    const { url } = await start(answerOk, {
      webConfig: await webConfig(`${serverTls}basic_auth_users:\n  prometheus: '${hash}'\n`),
    });
    const cacert = ['--cacert', pki.path('caCertificate')];

    expect(await curl([...cacert, '--user', 'prometheus:scrape-secret', `${url}/metrics`])).toMatchObject({
      exitCode: 0,
      status: 200,
      body: 'ok GET /metrics',
    });
    const refused = await curl([...cacert, '--user', 'prometheus:wrong', `${url}/metrics`]);
    expect(refused).toMatchObject({ status: 401, body: 'Unauthorized\n' });
    expectNoStackTrace(refused);
  });
});
