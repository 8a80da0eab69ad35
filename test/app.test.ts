import { once } from 'node:events';
import { createServer, get, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { RequestListener } from 'node:http';
import pino from 'pino';
import request from 'supertest';
import { createRequestListener } from '../src/app';
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
