import { once } from 'node:events';
import { createServer, get, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { RequestListener } from 'node:http';
import pino from 'pino';
import request from 'supertest';
import { createRequestListener, requestClassesOf, type ReloadOutcome } from '../src/app';
import type { CurrentSample } from '../src/sampling/currentSample';
import { oneHostView } from '../src/hosts';
import type { RawSample, SampleSource } from '../src/contract/sample';
import { SimulatedHost } from '../src/sources/simulator/simulatedHost';
import { sampleOnce as sampleAndPublish, singleHostSampler } from './sampling/support';

async function setup(documents: Array<() => RawSample>) {
  const source: SampleSource = {
    name: 'replay',
    sample: async () => {
      const next = documents.shift();
      if (next === undefined) throw new Error('no more documents');
      return next();
    },
    close: async () => undefined,
  };
  const sampler = singleHostSampler(source, { version: '9.9.9', logger: pino({ level: 'silent' }) });
  await sampler.publishInitial();
  const app = createRequestListener({ telemetryPath: '/metrics', version: '9.9.9', logger: pino({ level: 'silent' }), ...oneHostView('replay', () => sampler.current) });
  return { app, sampleOnce: () => sampleAndPublish(sampler) };
}

/** The bytes as they travel: superagent would inflate a gzip body before the test sees it. */
async function rawGet(app: RequestListener, path: string, headers: Record<string, string>): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  const server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
  } finally {
    server.close();
  }
}

const host = new SimulatedHost({ vms: 12, seed: 7, now: () => Date.UTC(2026, 10, 24) });

describe('HTTP app', () => {
  test('before the first sample: /metrics says hyperv_up 0 and /-/ready is 503', async () => {
    const { app } = await setup([]);
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.text).toContain('hyperv_up 0');
    expect(metrics.text).not.toContain('hyperv_vm_info');
    await request(app).get('/-/ready').expect(503);
    await request(app).get('/-/healthy').expect(200, 'Healthy\n');
  });

  test('after a sample: VM metrics, exporter metrics and ready', async () => {
    const { app, sampleOnce } = await setup([() => ({ document: host.next() })]);
    await sampleOnce();
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).toContain('hyperv_up 1');
    expect(metrics.text).toContain('hyperv_exporter_build_info{version="9.9.9",source="replay"} 1');
    expect(metrics.text).toContain('hyperv_host_info{host="HV-SIM01"} 1');
    expect(metrics.text.match(/^hyperv_vm_info\{/gm)).toHaveLength(12);
    expect(metrics.text).toMatch(/^hyperv_sample_failures_total\{reason="timeout"\} 0$/m);
    await request(app).get('/-/ready').expect(200, 'Ready\n');
  });

  test('gzip when asked: one valid gzip stream with the same text as the identity response', async () => {
    const { app, sampleOnce } = await setup([() => ({ document: host.next() })]);
    await sampleOnce();
    const plain = await request(app).get('/metrics').set('Accept-Encoding', 'identity').expect(200);
    const zipped = await rawGet(app, '/metrics', { 'Accept-Encoding': 'gzip, deflate' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['vary']).toBe('Accept-Encoding');
    const text = gunzipSync(zipped.body).toString('utf8');
    // The very same body, rendered once: compressed for one client, as it is for the other.
    expect(text).toBe(plain.text);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Number(plain.headers['content-length'])).toBe(Buffer.byteLength(plain.text));
  });

  test('gzip;q=0 is not gzip', async () => {
    const { app, sampleOnce } = await setup([() => ({ document: host.next() })]);
    await sampleOnce();
    const response = await request(app).get('/metrics').set('Accept-Encoding', 'gzip;q=0, identity').expect(200);
    expect(response.headers['content-encoding']).toBeUndefined();
  });

  test('HEAD /metrics has the headers and no body', async () => {
    const { app } = await setup([]);
    const response = await request(app).head('/metrics').expect(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.text ?? '').toBe('');
  });

  test('a failed sample keeps the last good VM series and counts the reason', async () => {
    const { app, sampleOnce } = await setup([() => ({ document: host.next() }), () => ({ text: '{"schemaVersion": 1, "classes": ' })]);
    await sampleOnce();
    await sampleOnce();
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).toContain('hyperv_up 0');
    expect(metrics.text).toMatch(/^hyperv_sample_failures_total\{reason="invalid_document"\} 1$/m);
    expect(metrics.text.match(/^hyperv_vm_info\{/gm)).toHaveLength(12);
    await request(app).get('/-/ready').expect(200);
  });

  test('the landing page lists VMs with their heartbeat and escapes what it shows', async () => {
    const evil = host.next() as { classes: { Msvm_ComputerSystem: Array<Record<string, unknown>> } };
    const vm = evil.classes.Msvm_ComputerSystem[1];
    if (vm) vm['ElementName'] = '<script>alert(1)</script>';
    const { app, sampleOnce } = await setup([() => ({ document: evil })]);
    await sampleOnce();
    const page = await request(app).get('/').expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('href="/metrics"');
    expect(page.text).toContain('9.9.9');
    expect(page.text).toContain('lost_communication');
    // Each VM's last backup (never, for some) and first address.
    expect(page.text).toContain('<th>Last backup (UTC)</th>');
    expect(page.text).toContain('<td>never</td>');
    expect(page.text).toMatch(/<td>10\.20\.0\.\d+<\/td>/);
    expect(page.text).not.toContain('<script>');
    expect(page.text).toContain('&#60;script&#62;');
  });

  test('the telemetry path with a query string is still the metrics', async () => {
    const { app } = await setup([]);
    const response = await request(app).get('/metrics?collect[]=x').expect(200);
    expect(response.text).toContain('hyperv_up 0');
  });

  test('a scrape right after a sample sees its outcome, however recently the last scrape rendered', async () => {
    const { app, sampleOnce } = await setup([() => ({ document: host.next() }), () => ({ text: 'garbage' }), () => ({ text: 'garbage' })]);
    await sampleOnce();
    expect((await request(app).get('/metrics')).text).toMatch(/^hyperv_up 1$/m);
    await sampleOnce();
    const afterFirstFailure = (await request(app).get('/metrics')).text;
    expect(afterFirstFailure).toMatch(/^hyperv_up 0$/m);
    expect(afterFirstFailure).toMatch(/^hyperv_sample_failures_total\{reason="invalid_document"\} 1$/m);
    await sampleOnce();
    expect((await request(app).get('/metrics')).text).toMatch(/^hyperv_sample_failures_total\{reason="invalid_document"\} 2$/m);
  });

  test('unknown paths are 404 without a stack trace', async () => {
    const { app } = await setup([]);
    const response = await request(app).get('/nope').expect(404);
    expect(response.text).toBe('Not found\n');
  });
});

/** A published sample as /probe serves it: only the body and readiness matter to the app. */
function published(text: string): CurrentSample {
  const identity = Buffer.from(text, 'utf8');
  return { body: { identity, gzip: gzipSync(identity) } } as unknown as CurrentSample;
}

/** The app over fixed publications (no sampler): one body for /metrics, hosts for /probe, and an optional reload. */
function fixedApp(options: { metrics?: string | null; probe?: Record<string, CurrentSample | null>; reload?: () => Promise<ReloadOutcome>; telemetryPath?: string } = {}): RequestListener {
  const metricsText = options.metrics === undefined ? 'hyperv_up 1\n' : options.metrics;
  const body = metricsText === null ? null : published(metricsText).body;
  const hosts = options.probe;
  return createRequestListener({
    telemetryPath: options.telemetryPath ?? '/metrics',
    version: '9.9.9',
    source: hosts === undefined ? 'replay' : 'config',
    logger: pino({ level: 'silent' }),
    metrics: () => body,
    hosts: () => [],
    ready: () => body !== null,
    ...(hosts === undefined
      ? {}
      : {
          probe: (target: string) => (Object.hasOwn(hosts, target) ? hosts[target] : undefined),
          targets: () => Object.keys(hosts).map((name) => ({ targets: [name], labels: { __meta_hyperv_ic_origin: 'configured' } })),
        }),
    ...(options.reload === undefined ? {} : { reload: options.reload }),
  });
}

describe('one router: express answers every path', () => {
  test('/metrics: 503 "Starting" before the first publication, HEAD without a body, gzip only when taken', async () => {
    await request(fixedApp({ metrics: null })).get('/metrics').expect(503, 'Starting\n');
    const app = fixedApp({ metrics: 'hyperv_up 1\n' });
    const head = await request(app).head('/metrics').expect(200);
    expect(head.headers['content-length']).toBe(String('hyperv_up 1\n'.length));
    const zipped = await rawGet(app, '/metrics', { 'Accept-Encoding': 'br;q=1, GZIP;q=0.5' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.body).toString()).toBe('hyperv_up 1\n');
    const refused = await rawGet(app, '/metrics', { 'Accept-Encoding': 'gzip;q=0.0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    expect(refused.body.toString()).toBe('hyperv_up 1\n');
  });

  test('a telemetry path with characters express routes would read as a pattern is matched as written', async () => {
    const app = fixedApp({ telemetryPath: '/metrics:all(*)' });
    await request(app).get('/metrics:all(*)').expect(200, 'hyperv_up 1\n');
    await request(app).get('/metricsX').expect(404, 'Not found\n');
  });

  test('/probe: 200 for a known host (gzip too), 503 before its first sample, 400 without one target, 404 for an unknown one', async () => {
    const app = fixedApp({ probe: { hv01: published('hyperv_up 1\nhv01\n'), hv02: null } });
    await request(app).get('/probe?target=hv01').expect(200, 'hyperv_up 1\nhv01\n');
    const zipped = await rawGet(app, '/probe?target=hv01', { 'Accept-Encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.body).toString()).toBe('hyperv_up 1\nhv01\n');
    await request(app).head('/probe?target=hv01').expect(200);
    await request(app).get('/probe?target=hv02').expect(503, 'Starting\n');
    for (const query of ['', '?target=', '?target=hv01&target=hv01', '?other=hv01']) {
      await request(app).get(`/probe${query}`).expect(400, 'Missing the target parameter: /probe?target=<host name>\n');
    }
    await request(app).get('/probe?target=hv09').expect(404, 'Unknown target: not a configured or discovered host\n');
    // One host (no --config.file): no /probe, no /targets.
    await request(fixedApp()).get('/probe?target=hv01').expect(404, 'Not found\n');
    await request(fixedApp()).get('/targets').expect(404);
  });

  test('/targets lists the hosts for http_sd_configs', async () => {
    const response = await request(fixedApp({ probe: { hv01: null } })).get('/targets').expect(200);
    expect(response.headers['content-type']).toContain('application/json');
    expect(JSON.parse(response.text)).toEqual([{ targets: ['hv01'], labels: { __meta_hyperv_ic_origin: 'configured' } }]);
  });

  test("with requestClassesOf, the server makes requests and responses of express's prototypes: express's own prototype change is a no-op, and every path still answers", async () => {
    const app = createRequestListener({
      telemetryPath: '/metrics',
      version: '9.9.9',
      logger: pino({ level: 'silent' }),
      source: 'config',
      metrics: () => published('hyperv_up 1\n').body,
      hosts: () => [],
      ready: () => true,
      probe: (target) => (target === 'hv01' ? published('hv01\n') : undefined),
    });
    const seen: boolean[] = [];
    const server = createServer(requestClassesOf(app), (req, res) => {
      seen.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
      app(req, res);
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      await request(server).get('/metrics').expect(200, 'hyperv_up 1\n');
      await request(server).get('/probe?target=hv01').expect(200, 'hv01\n');
      await request(server).get('/probe?target=hv02').expect(404);
      await request(server).get('/nowhere').expect(404, 'Not found\n');
      const zipped = await request(server).get('/metrics').set('Accept-Encoding', 'gzip').expect(200);
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(seen).toEqual([true, true, true, true, true]);
    } finally {
      server.close();
    }
  });

  test('the landing page takes ?page=', async () => {
    const response = await request(fixedApp()).get('/?page=2').expect(200);
    expect(response.headers['content-type']).toContain('text/html');
  });
});

describe('POST /-/reload', () => {
  test('without --web.enable-lifecycle: 403 "Lifecycle API is not enabled.", as Prometheus answers', async () => {
    const response = await request(fixedApp()).post('/-/reload').expect(403);
    expect(response.text).toBe('Lifecycle API is not enabled.\n');
  });

  test('any other method: 405 with Allow: POST, and no reload', async () => {
    const reload = jest.fn(async (): Promise<ReloadOutcome> => ({ ok: true }));
    const app = fixedApp({ reload });
    for (const method of ['get', 'put', 'delete'] as const) {
      const response = await request(app)[method]('/-/reload').expect(405);
      expect(response.headers['allow']).toBe('POST');
    }
    expect(reload).not.toHaveBeenCalled();
  });

  test('200 when the reload succeeded; 500 with the one-line reason when it did not', async () => {
    await request(fixedApp({ reload: async () => ({ ok: true }) })).post('/-/reload').expect(200, 'Reloaded\n');
    const failed = await request(fixedApp({ reload: async () => ({ ok: false, reason: 'config file "hosts.yml", line 5: not valid YAML\n(more)' }) }))
      .post('/-/reload')
      .expect(500);
    expect(failed.text).toBe('failed to reload config: config file "hosts.yml", line 5: not valid YAML (more)\n');
  });

  test('a reload that throws is a generic 500, logged, never a stack trace', async () => {
    const response = await request(fixedApp({ reload: () => Promise.reject(new Error('secret detail')) })).post('/-/reload').expect(500);
    expect(response.text).toBe('Internal server error\n');
  });
});
