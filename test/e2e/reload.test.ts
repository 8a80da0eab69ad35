/**
 * SIGHUP on the built exporter (dist/main.js, 127.0.0.1 only), as Prometheus and blackbox_exporter
 * handle it: --web.config.file and the hosts of --config.file are read again, no scrape is dropped
 * meanwhile, a new file that does not validate is logged and the running configuration kept, and the
 * process never ends on SIGHUP (it used to: exit 129, without its shutdown).
 */
import { renameSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import { createTestPki, type TestPki } from '../server/tls/testPki';
import { killStartedExporters, startExporter, type LogLine, type RunningExporter } from '../helpers/exporterProcess';
import { GiveUp, sleep, waitFor } from '../helpers/waitFor';
import { cleanDocument, httpGet } from '../sampling/support';

jest.setTimeout(45_000);

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hyperv-reload-'));
});
afterAll(() => {
  killStartedExporters();
  rmSync(dir, { recursive: true, force: true });
});

/** Replaces `path` whole (write, then rename), as an editor or a config-management tool does. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

const basic = (user: string, password: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** Waits for a log line matching `test` after the first `from` lines; returns it. */
async function logLine(exporter: RunningExporter, from: number, test: (line: LogLine) => boolean, what: string): Promise<LogLine> {
  let found: LogLine | undefined;
  await waitFor(
    what,
    () => {
      const { exitCode, signalCode } = exporter.process;
      if (exitCode !== null || signalCode !== null) throw new GiveUp(`the exporter ended (exit code ${exitCode}, signal ${signalCode}) while waiting for ${what}`);
      return (found = exporter.logs().slice(from).find(test)) !== undefined;
    },
    { timeoutMs: 10_000, intervalMs: 20 },
  );
  return found!;
}

/** Sends SIGHUP and waits for the log line that ends the reload; the process must still run. */
async function sighup(exporter: RunningExporter, done: (line: LogLine) => boolean, what: string): Promise<LogLine> {
  const from = exporter.logs().length;
  exporter.process.kill('SIGHUP');
  const line = await logLine(exporter, from, done, what);
  expect(exporter.process.exitCode).toBeNull();
  expect(exporter.process.signalCode).toBeNull();
  return line;
}

interface Outcome {
  readonly user: string;
  readonly startedAt: number;
  readonly status: number | string;
}

/**
 * Scrapes /metrics as each user, one after the other, over keep-alive connections, until `stop()`:
 * every scrape either gets an HTTP status or the error that ended it.
 */
function scrapeLoop(url: string, users: ReadonlyArray<readonly [string, string]>): { outcomes: Outcome[]; stop: () => Promise<void> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const loops = users.map(async ([user, password]) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; running && i < 2_000; i++) {
        const startedAt = performance.now();
        try {
          const { status } = await httpGet(`${url}/metrics`, basic(user, password), agent, 5_000);
          outcomes.push({ user, startedAt, status });
        } catch (error) {
          outcomes.push({ user, startedAt, status: (error as NodeJS.ErrnoException).code ?? (error as Error).message });
        }
      }
    } finally {
      agent.destroy();
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** A request whose headers are sent in two halves: the connection is open, the request not yet complete. */
async function halfSentRequest(port: number, headers: Record<string, string>): Promise<{ finish: () => Promise<string> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  return {
    finish: async () => {
      socket.write(`${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}Connection: close\r\n\r\n`);
      await Promise.race([closed, sleep(5_000)]);
      socket.destroy();
      return received.split('\r\n')[0] ?? '';
    },
  };
}

describe('SIGHUP reloads --web.config.file', () => {
  let pki: TestPki | undefined;
  afterAll(() => pki?.remove());

  test('basic auth user A → user B without a dropped scrape; a broken file or a TLS change keeps the running config', async () => {
    const documentFile = join(dir, 'host.json');
    writeFileSync(documentFile, JSON.stringify(cleanDocument(2)));
    const webConfig = join(dir, 'web.yml');
    const alice = ['alice', 'alice-password'] as const;
    const bob = ['bob', 'bob-password'] as const;
    // Cost 4 keeps the checks fast; the web config takes any cost from 4 up.
    writeFileSync(webConfig, `basic_auth_users:\n  alice: ${bcrypt.hashSync(alice[1], 4)}\n`);
    const exporter = await startExporter(['--source=replay', `--replay.file=${documentFile}`, '--sample.interval=200ms', `--web.config.file=${webConfig}`]);
    const url = exporter.baseUrl;
    const as = async (user: readonly [string, string]): Promise<number> => (await httpGet(`${url}/metrics`, basic(...user))).status;
    await waitFor('ready', async () => (await httpGet(`${url}/-/ready`, basic(...alice))).status === 200, { timeoutMs: 10_000, intervalMs: 50 });
    expect(await as(alice)).toBe(200);
    expect(await as(bob)).toBe(401);

    // Scrapes as both users keep running across the reload; a connection is half-way through a request.
    const loop = scrapeLoop(url, [alice, bob]);
    const { outcomes } = loop;
    const of = (user: string, from: number, to: number): Array<number | string> =>
      outcomes.filter((o) => o.user === user && o.startedAt >= from && o.startedAt < to).map((o) => o.status);
    // Scraping as both users for a while before the reload (more than the 50 ms before the signal that
    // the checks below leave out): at least 20 scrapes each that started 100 ms ago or earlier.
    await waitFor('20 scrapes as each user before the reload', () => {
      const before = performance.now() - 100;
      return of('alice', 0, before).length >= 20 && of('bob', 0, before).length >= 20;
    });
    const inFlightAlice = await halfSentRequest(exporter.port, basic(...alice));
    const inFlightBob = await halfSentRequest(exporter.port, basic(...bob));
    replaceFile(webConfig, `basic_auth_users:\n  bob: ${bcrypt.hashSync(bob[1], 4)}\n`);
    const signalledAt = performance.now();
    await sighup(exporter, (line) => line.msg === 'web config reloaded', '"web config reloaded"');
    const reloadedAt = performance.now();
    await waitFor('20 scrapes as each user after the reload', () => of('alice', reloadedAt, Infinity).length >= 20 && of('bob', reloadedAt, Infinity).length >= 20);
    await loop.stop();
    // The requests that were half-sent during the reload are answered, under the new configuration.
    expect(await inFlightAlice.finish()).toBe('HTTP/1.1 401 Unauthorized');
    expect(await inFlightBob.finish()).toBe('HTTP/1.1 200 OK');

    // Never a reset or an error: each scrape was answered, before, during and after the reload.
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 401)).toEqual([]);
    expect(of('alice', 0, signalledAt).length).toBeGreaterThan(3);
    expect(of('alice', reloadedAt, Infinity).length).toBeGreaterThan(3);
    expect(new Set(of('alice', 0, signalledAt - 50))).toEqual(new Set([200]));
    expect(new Set(of('bob', 0, signalledAt - 50))).toEqual(new Set([401]));
    expect(new Set(of('alice', reloadedAt, Infinity))).toEqual(new Set([401]));
    expect(new Set(of('bob', reloadedAt, Infinity))).toEqual(new Set([200]));

    // A file that is not valid YAML: logged, and bob (not alice) still gets in.
    replaceFile(webConfig, 'basic_auth_users:\n  alice: [\n');
    const yamlError = await sighup(exporter, (line) => line.level === 50, 'an error line');
    expect(yamlError.msg).toMatch(/^SIGHUP: web config ".*web\.yml": \(yaml\): .*; keeping the running configuration$/);
    expect(await as(bob)).toBe(200);
    expect(await as(alice)).toBe(401);

    // Turning TLS on needs a new listener: logged, plain HTTP and bob kept.
    pki = createTestPki();
    replaceFile(
      webConfig,
      `tls_server_config:\n  cert_file: ${pki.path('serverCertificate')}\n  key_file: ${pki.path('serverKey')}\nbasic_auth_users:\n  alice: ${bcrypt.hashSync(alice[1], 4)}\n`,
    );
    const tlsError = await sighup(exporter, (line) => line.level === 50, 'an error line');
    expect(tlsError.msg).toBe(`SIGHUP: web config "${webConfig}": tls_server_config: turning TLS on needs a restart; keeping the running configuration`);
    expect(await as(bob)).toBe(200);
    expect(await as(alice)).toBe(401);

    // Several SIGHUPs in a row: still the same process, still serving.
    for (let i = 0; i < 3; i++) exporter.process.kill('SIGHUP');
    await sleep(500);
    expect(exporter.process.exitCode).toBeNull();
    expect(await as(bob)).toBe(200);
    expect(exporter.logs().filter((line) => line.level >= 60)).toEqual([]);

    exporter.process.kill('SIGTERM');
    const { code } = await exporter.exited(5_000);
    expect(code).toBe(0);
    expect(exporter.logs().map((line) => line.msg)).toContain('stopped');
  });
});

describe('SIGHUP reloads the hosts of --config.file', () => {
  test('a third host is added; an invalid file is logged with its line and the running hosts kept', async () => {
    for (const [index, name] of ['hv01', 'hv02', 'hv03'].entries()) {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(new SimulatedHost({ vms: 3, seed: index + 1, computerName: name.toUpperCase() }).next()));
    }
    const hostsFile = join(dir, 'hosts.yml');
    const hosts = (names: readonly string[]): string => `hosts:\n${names.map((name) => `  - name: ${name}\n    replay: ${name}.json\n`).join('')}`;
    writeFileSync(hostsFile, hosts(['hv01', 'hv02']));
    const exporter = await startExporter([`--config.file=${hostsFile}`, '--sample.interval=200ms']);
    const url = exporter.baseUrl;
    const targets = async (): Promise<string[]> => (JSON.parse((await httpGet(`${url}/targets`)).body) as Array<{ targets: string[] }>).flatMap((group) => group.targets);
    const probe = (target: string): ReturnType<typeof httpGet> => httpGet(`${url}/probe?target=${target}`);
    await waitFor('ready', async () => (await httpGet(`${url}/-/ready`)).status === 200, { timeoutMs: 10_000, intervalMs: 50 });
    expect(await targets()).toEqual(['hv01', 'hv02']);
    expect((await probe('hv03')).status).toBe(404);

    // Probes of the running hosts keep being answered across every reload below.
    let probing = true;
    const probeStatuses: Array<number | string> = [];
    const probeLoop = (async () => {
      for (let i = 0; probing && i < 2_000; i++) {
        probeStatuses.push(await probe(i % 2 === 0 ? 'hv01' : 'hv02').then((r) => r.status, (e: NodeJS.ErrnoException) => e.code ?? e.message));
      }
    })();

    replaceFile(hostsFile, hosts(['hv01', 'hv02', 'hv03']));
    await sighup(exporter, (line) => line.msg === 'reload: hosts read again', '"reload: hosts read again"');
    await waitFor('hv03 in /targets', async () => (await targets()).includes('hv03'), { timeoutMs: 5_000, intervalMs: 50 });
    expect(await targets()).toEqual(['hv01', 'hv02', 'hv03']);
    await waitFor('hv03 sampled', async () => /^hyperv_up 1$/m.test((await probe('hv03')).body), { timeoutMs: 5_000, intervalMs: 50 });
    expect((await probe('hv03')).body).toMatch(/^hyperv_vm_info\{/m);

    // Not YAML (line 5), then a duration no timer can hold (line 8): each is one error line naming the
    // file and the line, and the three hosts keep being sampled and served.
    const broken = [
      [`${hosts(['hv01'])}  - name: hv02\n   replay: hv02.json\n`, /line 5: not valid YAML/],
      [`${hosts(['hv01', 'hv02', 'hv03'])}    interval: 600h\n`, /line 8: hosts\[2\]\.interval: must be at most 24d20h31m23s647ms/],
    ] as const;
    for (const [text, reason] of broken) {
      replaceFile(hostsFile, text);
      const error = await sighup(exporter, (line) => line.level === 50, 'an error line');
      expect(error.msg).toContain(`SIGHUP: config file ${JSON.stringify(hostsFile)}, `);
      expect(error.msg).toMatch(reason);
      expect(error.msg).toMatch(/; keeping the running configuration$/);
      expect(await targets()).toEqual(['hv01', 'hv02', 'hv03']);
    }
    // Still sampled after the failed reloads: a sample newer than the last reload is served for each host.
    const after = Date.now() / 1000;
    for (const name of ['hv01', 'hv02', 'hv03']) {
      await waitFor(`a new sample of ${name}`, async () => {
        const timestamp = /^hyperv_sample_timestamp_seconds (\S+)$/m.exec((await probe(name)).body)?.[1];
        return timestamp !== undefined && Number(timestamp) > after;
      }, { timeoutMs: 5_000, intervalMs: 50 });
    }
    probing = false;
    await probeLoop;
    expect(probeStatuses.length).toBeGreaterThan(10);
    expect(probeStatuses.filter((status) => status !== 200)).toEqual([]);

    exporter.process.kill('SIGTERM');
    const { code } = await exporter.exited(5_000);
    expect(code).toBe(0);
  });
});

/** A POST with no body, as `curl -X POST` and `Invoke-WebRequest -Method Post` send it. */
function httpPost(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`POST ${url} timed out`)));
    request.on('error', reject);
    request.end();
  });
}

/** hyperv_exporter_config_last_reload_*: [successful, timestamp] of a /metrics body. */
function reloadGauges(body: string): [number, number] {
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1] ?? NaN);
  return [value('hyperv_exporter_config_last_reload_successful'), value('hyperv_exporter_config_last_reload_success_timestamp_seconds')];
}

describe('POST /-/reload (--web.enable-lifecycle)', () => {
  test('off by default: 403 "Lifecycle API is not enabled.", other methods 405, no reload', async () => {
    const documentFile = join(dir, 'lifecycle-off.json');
    writeFileSync(documentFile, JSON.stringify(cleanDocument(1)));
    const exporter = await startExporter(['--source=replay', `--replay.file=${documentFile}`, '--sample.interval=200ms']);
    const url = exporter.baseUrl;
    const refused = await httpPost(`${url}/-/reload`);
    expect([refused.status, refused.body]).toEqual([403, 'Lifecycle API is not enabled.\n']);
    const get = await httpGet(`${url}/-/reload`);
    expect([get.status, get.headers.allow]).toEqual([405, 'POST']);
    expect((await httpPost(`${url}/metrics`)).status).toBe(405);
    expect(exporter.logs().map((line) => line.msg)).not.toContain(`POST /-/reload: reloading`);
    // The gauges are there all the same: the files were read at start.
    const started = Date.now() / 1000;
    const [successful, at] = reloadGauges((await httpGet(`${url}/metrics`)).body);
    expect(successful).toBe(1);
    expect(at).toBeGreaterThan(started - 60);
    expect(at).toBeLessThanOrEqual(started);
    await exporter.stop();
  });

  test('the web config: behind basic auth; 200 when it applied, 500 with the reason when it kept the running one; the gauges follow; serialized with SIGHUP', async () => {
    const documentFile = join(dir, 'lifecycle.json');
    writeFileSync(documentFile, JSON.stringify(cleanDocument(2)));
    const webConfig = join(dir, 'lifecycle-web.yml');
    const alice = ['alice', 'alice-password'] as const;
    const bob = ['bob', 'bob-password'] as const;
    writeFileSync(webConfig, `basic_auth_users:\n  alice: ${bcrypt.hashSync(alice[1], 4)}\n`);
    const exporter = await startExporter(['--source=replay', `--replay.file=${documentFile}`, '--sample.interval=200ms', `--web.config.file=${webConfig}`, '--web.enable-lifecycle']);
    const url = exporter.baseUrl;
    const as = async (user: readonly [string, string]): Promise<number> => (await httpGet(`${url}/metrics`, basic(...user))).status;
    await waitFor('ready', async () => (await httpGet(`${url}/-/ready`, basic(...alice))).status === 200, { timeoutMs: 10_000, intervalMs: 50 });
    const [, startedAt] = reloadGauges((await httpGet(`${url}/metrics`, basic(...alice))).body);

    // Auth stays in front of it: nothing is reloaded for a client without the password.
    replaceFile(webConfig, `basic_auth_users:\n  bob: ${bcrypt.hashSync(bob[1], 4)}\n`);
    expect((await httpPost(`${url}/-/reload`)).status).toBe(401);
    expect((await httpPost(`${url}/-/reload`, basic('alice', 'wrong'))).status).toBe(401);
    expect(await as(alice)).toBe(200);

    const reloaded = await httpPost(`${url}/-/reload`, basic(...alice));
    expect([reloaded.status, reloaded.body]).toEqual([200, 'Reloaded\n']);
    expect([await as(alice), await as(bob)]).toEqual([401, 200]);
    const [, reloadedAt] = await waitFor(
      'the gauges of the reload',
      async () => {
        const gauges = reloadGauges((await httpGet(`${url}/metrics`, basic(...bob))).body);
        return gauges[1] > startedAt ? gauges : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );

    // A file that does not validate: 500 with its one line, the running users kept, and the gauge at 0
    // from the next sample on (the timestamp stays that of the last good reload).
    replaceFile(webConfig, 'basic_auth_users:\n  alice: [\n');
    const from = exporter.logs().length;
    const failed = await httpPost(`${url}/-/reload`, basic(...bob));
    expect(failed.status).toBe(500);
    expect(failed.body).toMatch(new RegExp(`^failed to reload config: web config ${JSON.stringify(webConfig).replace(/[.\\/]/g, '\\$&')}: \\(yaml\\): [^\\n]+\\n$`));
    const logged = await logLine(exporter, from, (line) => line.level === 50, 'an error line');
    expect(logged.msg).toBe(`POST /-/reload: ${failed.body.slice('failed to reload config: '.length, -1)}; keeping the running configuration`);
    expect([await as(alice), await as(bob)]).toEqual([401, 200]);
    await waitFor('hyperv_exporter_config_last_reload_successful 0', async () => reloadGauges((await httpGet(`${url}/metrics`, basic(...bob))).body)[0] === 0, {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect(reloadGauges((await httpGet(`${url}/metrics`, basic(...bob))).body)[1]).toBe(reloadedAt);

    // SIGHUP and POST together: one reload after the other, each whole, both applied.
    replaceFile(webConfig, `basic_auth_users:\n  alice: ${bcrypt.hashSync(alice[1], 4)}\n  bob: ${bcrypt.hashSync(bob[1], 4)}\n`);
    const before = exporter.logs().length;
    exporter.process.kill('SIGHUP');
    const both = await httpPost(`${url}/-/reload`, basic(...bob));
    // Whichever came first, bob can still log in: the POST is answered as itself.
    expect([both.status, both.body]).toEqual([200, 'Reloaded\n']);
    await logLine(exporter, before, (line) => line.msg === 'POST /-/reload: reloading', '"POST /-/reload: reloading"');
    await waitFor('two reloads done', () => exporter.logs().slice(before).filter((line) => line.msg === 'web config reloaded').length === 2, { timeoutMs: 5_000 });
    const order = exporter.logs().slice(before).map((line) => line.msg).filter((msg) => msg.endsWith(': reloading') || msg === 'web config reloaded');
    expect(order).toEqual(expect.arrayContaining(['SIGHUP: reloading', 'POST /-/reload: reloading']));
    expect(order).toHaveLength(4);
    // Never two at once: each "reloading" is followed by its own "reloaded" before the next one starts.
    expect([order[1], order[3]]).toEqual(['web config reloaded', 'web config reloaded']);
    expect(await as(alice)).toBe(200);
    await waitFor('hyperv_exporter_config_last_reload_successful 1', async () => reloadGauges((await httpGet(`${url}/metrics`, basic(...alice))).body)[0] === 1, {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect(reloadGauges((await httpGet(`${url}/metrics`, basic(...alice))).body)[1]).toBeGreaterThan(reloadedAt);
    expect((await exporter.stop()).code).toBe(0);
  });

  test('the hosts of --config.file: a host added by POST, a broken file answered 500 with its line, /metrics says so', async () => {
    for (const [index, name] of ['lc01', 'lc02'].entries()) {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(new SimulatedHost({ vms: 2, seed: index + 1, computerName: name.toUpperCase() }).next()));
    }
    const hostsFile = join(dir, 'lifecycle-hosts.yml');
    const hosts = (names: readonly string[]): string => `hosts:\n${names.map((name) => `  - name: ${name}\n    replay: ${name}.json\n`).join('')}`;
    writeFileSync(hostsFile, hosts(['lc01']));
    const exporter = await startExporter([`--config.file=${hostsFile}`, '--sample.interval=200ms', '--web.enable-lifecycle']);
    const url = exporter.baseUrl;
    const targets = async (): Promise<string[]> => (JSON.parse((await httpGet(`${url}/targets`)).body) as Array<{ targets: string[] }>).flatMap((group) => group.targets);
    await waitFor('ready', async () => (await httpGet(`${url}/-/ready`)).status === 200, { timeoutMs: 10_000, intervalMs: 50 });
    expect(reloadGauges((await httpGet(`${url}/metrics`)).body)[0]).toBe(1);

    replaceFile(hostsFile, hosts(['lc01', 'lc02']));
    expect(await httpPost(`${url}/-/reload`)).toMatchObject({ status: 200, body: 'Reloaded\n' });
    expect(await targets()).toEqual(['lc01', 'lc02']);

    replaceFile(hostsFile, `${hosts(['lc01'])}  - name: lc02\n   replay: lc02.json\n`);
    const failed = await httpPost(`${url}/-/reload`);
    expect(failed.status).toBe(500);
    expect(failed.body).toContain(`failed to reload config: config file ${JSON.stringify(hostsFile)}, line 5: not valid YAML`);
    expect(failed.body.split('\n')).toHaveLength(2);
    expect(await targets()).toEqual(['lc01', 'lc02']);
    await waitFor('hyperv_exporter_config_last_reload_successful 0', async () => reloadGauges((await httpGet(`${url}/metrics`)).body)[0] === 0, { timeoutMs: 5_000, intervalMs: 50 });
    expect((await exporter.stop()).code).toBe(0);
  });
});
