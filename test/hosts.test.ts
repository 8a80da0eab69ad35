import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createRequestListener } from '../src/app';
import { parseCommandLine } from '../src/cli/flags';
import type { Config } from '../src/config';
import { sampleManyHosts, sampleOneHost, type Sampling } from '../src/hosts';
import { SimulatedHost } from '../src/sources/simulator/simulatedHost';
import { parseExposition, valueOf } from './helpers/exposition';
import { waitFor } from './helpers/waitFor';
import { memoryLogger } from './sampling/support';

/** The hosts as main samples them, in process: --config.file (/probe, /targets, /metrics, a reload), and the one host of --source. */

function configOf(flags: readonly string[]): Config {
  const parsed = parseCommandLine(flags, 'linux');
  if (parsed.kind !== 'run') throw new Error('no config');
  return parsed.config;
}

// Each host samples once, at start (and at a reload): what is served stays put while the test compares it.
const configFor = (file: string): Config => configOf([`--config.file=${file}`, '--sample.interval=1h', '--sample.max-age=0s']);

describe('sampleManyHosts', () => {
  let dir: string;
  let sampling: Sampling | null = null;
  const log = memoryLogger('info');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'many-hosts-'));
    writeFileSync(join(dir, 'hv01.json'), JSON.stringify(new SimulatedHost({ vms: 3, seed: 1, computerName: 'HV01' }).next()));
    writeFileSync(join(dir, 'hv02.json'), JSON.stringify(new SimulatedHost({ vms: 2, seed: 2, computerName: 'HV02' }).next()));
  });
  afterEach(async () => {
    await sampling?.stop();
    sampling = null;
    rmSync(dir, { recursive: true, force: true });
  });

  function writeHosts(text: string): string {
    const path = join(dir, 'hosts.yml');
    writeFileSync(join(dir, 'next.yml'), text);
    renameSync(join(dir, 'next.yml'), path);
    return path;
  }

  test('each host at /probe?target=, the list at /targets, each host\'s health at /metrics, and SIGHUP\'s reload', async () => {
    const file = writeHosts('hosts:\n  - name: hv01\n    replay: hv01.json\n  - name: hv02\n    replay: hv02.json\n  - name: sim\n    simulator: {vms: 4, seed: 3}\n');
    const config = configFor(file);
    sampling = await sampleManyHosts({ config, exporter: { version: 'test', source: 'config', processMetrics: null }, logger: log.logger }, file);
    const app = createRequestListener({ telemetryPath: '/metrics', version: 'test', logger: log.logger, ...sampling.view });
    await waitFor('every host sampled once', () => sampling!.view.ready());
    await waitFor('the exporter page', () => /hyperv_up\{host="sim"\} 1/.test(sampling!.view.metrics()?.identity.toString() ?? ''));

    const targets = await request(app).get('/targets').expect(200).expect('Content-Type', /application\/json/);
    expect(JSON.parse(targets.text)).toEqual(['hv01', 'hv02', 'sim'].map((name) => ({ targets: [name], labels: { __meta_hyperv_ic_origin: 'configured' } })));

    const probe = await request(app).get('/probe?target=hv02').expect(200);
    const hv02 = parseExposition(probe.text);
    expect(valueOf(hv02, 'hyperv_up')).toBe(1);
    expect(hv02.series.filter((s) => s.name === 'hyperv_host_info').map((s) => s.labels['host'])).toEqual(['HV02']);
    expect(hv02.series.filter((s) => s.name === 'hyperv_vm_info')).toHaveLength(2);
    // Target names are compared without case, as a person types them.
    await request(app).get('/probe?target=HV02').expect(200);
    await request(app).get('/probe?target=nope').expect(404);
    await request(app).get('/probe').expect(400);
    await request(app).get('/probe?target=hv01&target=hv02').expect(400);
    await request(app).get('/probe?target=').expect(400);
    // Scrapes of a known host are answered ahead of express: the same body, decoded the same way, gzip where asked.
    expect((await request(app).get('/probe?module=x&target=hv%302').expect(200)).text).toBe(probe.text);
    await request(app).get('/probe?target=hv02').set('Accept-Encoding', 'gzip').expect(200).expect('Content-Encoding', 'gzip').expect('Vary', 'Accept-Encoding');
    expect((await request(app).head('/probe?target=hv02').expect(200)).headers['content-length']).toBe(String(Buffer.byteLength(probe.text)));
    await request(app).post('/probe?target=hv02').expect(404);

    const metrics = parseExposition((await request(app).get('/metrics').expect(200)).text);
    for (const host of ['hv01', 'hv02', 'sim']) expect(valueOf(metrics, 'hyperv_up', { host })).toBe(1);
    expect(metrics.series.some((s) => s.name === 'hyperv_vm_info')).toBe(false);

    // A fourth host appears on reload; a broken file keeps the running hosts.
    writeHosts('hosts:\n  - name: hv01\n    replay: hv01.json\n  - name: hv02\n    replay: hv02.json\n  - name: sim\n    simulator: {vms: 4, seed: 3}\n  - name: sim2\n    simulator: {vms: 1}\n');
    await sampling.reload();
    expect(sampling.view.hosts().map((h) => h.name)).toEqual(['hv01', 'hv02', 'sim', 'sim2']);
    writeHosts('hosts:\n  - name: hv01\n    replay: [broken\n');
    await expect(sampling.reload()).rejects.toThrow(/^config file .*hosts\.yml", line \d+: not valid YAML/);
    expect(sampling.view.hosts().map((h) => h.name)).toEqual(['hv01', 'hv02', 'sim', 'sim2']);
  });

  test('a host that fails answers /probe with hyperv_up 0; the others are not held up', async () => {
    const file = writeHosts('hosts:\n  - name: gone\n    replay: missing.json\n  - name: hv01\n    replay: hv01.json\n');
    const config = configFor(file);
    sampling = await sampleManyHosts({ config, exporter: { version: 'test', source: 'config', processMetrics: null }, logger: log.logger }, file);
    const app = createRequestListener({ telemetryPath: '/metrics', version: 'test', logger: log.logger, ...sampling.view });
    await waitFor('every host tried', () => sampling!.view.ready());
    const gone = parseExposition((await request(app).get('/probe?target=gone').expect(200)).text);
    expect(valueOf(gone, 'hyperv_up')).toBe(0);
    expect(valueOf(gone, 'hyperv_sample_failures_total', { reason: 'source_error' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(parseExposition((await request(app).get('/probe?target=hv01').expect(200)).text), 'hyperv_up')).toBe(1);
  });
});

describe('sampleOneHost', () => {
  test('the host of --source, sampled on its clock: /metrics is its body, ready once a sample succeeded, stop() ends it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'one-host-'));
    const file = join(dir, 'host.json');
    writeFileSync(file, JSON.stringify(new SimulatedHost({ vms: 3, seed: 1, computerName: 'HV01' }).next()));
    const log = memoryLogger('info');
    const config = configOf(['--source=replay', `--replay.file=${file}`, '--sample.interval=100ms']);
    const sampling = await sampleOneHost({ config, exporter: { version: 'test', source: 'replay', processMetrics: null }, logger: log.logger });
    try {
      await waitFor('the first sample', () => sampling.view.ready());
      const app = createRequestListener({ telemetryPath: '/metrics', version: 'test', logger: log.logger, ...sampling.view });
      const metrics = parseExposition((await request(app).get('/metrics').expect(200)).text);
      expect(valueOf(metrics, 'hyperv_up')).toBe(1);
      expect(metrics.series.filter((s) => s.name === 'hyperv_vm_info')).toHaveLength(3);
      expect(sampling.view.hosts().map((h) => h.name)).toEqual(['replay']);
      expect(sampling.view.probe).toBeUndefined();
      // Sampled again on its clock: a later sample is published.
      const first = sampling.view.metrics();
      await waitFor('the next sample', () => sampling.view.metrics() !== first);
    } finally {
      await sampling.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
