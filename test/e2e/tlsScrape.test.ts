import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { MAIN, startExporter, type RunningExporter } from '../helpers/exporterProcess';
import { freePort } from '../helpers/freePort';
import { waitFor } from '../helpers/waitFor';
import { describeWithTools, testTools, toolPath } from '../helpers/testTools';
import { createTestPki, type TestPki } from '../server/tls/testPki';
import { curl } from '../server/tls/testClients';

/** A real Prometheus that scrapes `target` over TLS with basic auth; resolves with the port of its API. */
async function startPrometheus(pki: TestPki, password: string, target: string): Promise<{ child: ChildProcess; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'prom-tls-'));
  writeFileSync(join(dir, 'password'), password);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 500ms, evaluation_interval: 500ms }',
      'scrape_configs:',
      '  - job_name: hyperv-ic',
      '    scheme: https',
      `    tls_config: { ca_file: ${pki.path('caCertificate')} }`,
      `    basic_auth: { username: prometheus, password_file: ${join(dir, 'password')} }`,
      `    static_configs: [{ targets: ['${target}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child = spawn(toolPath('prometheus'), [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: 'ignore' });
  return { child, port };
}

/** The built exporter behind --web.config.file: TLS and basic auth as a Prometheus user sets them up. */
describe('the exporter behind TLS and basic auth', () => {
  let pki: TestPki;
  let exporter: RunningExporter;
  let webConfig: string;
  const password = 'scrape-secret';
  // Prometheus applies new targets only every 5 s, so its first scrape comes some 5 s after it starts: it
  // starts here (where the tests have it), and the tests before its own run meanwhile.
  let prometheus: { child: ChildProcess; port: number } | undefined;

  beforeAll(async () => {
    pki = createTestPki();
    webConfig = join(pki.directory, 'web.yml');
    writeFileSync(
      webConfig,
      [
        'tls_server_config:',
        `  cert_file: ${pki.files.serverCertificate}`,
        `  key_file: ${pki.files.serverKey}`,
        'basic_auth_users:',
        `  prometheus: ${bcrypt.hashSync(password, 10)}`,
        '',
      ].join('\n'),
    );
    exporter = await startExporter([`--web.config.file=${webConfig}`, '--sample.interval=1s']);
    if (testTools().prometheus.path !== null) prometheus = await startPrometheus(pki, password, new URL(exporter.baseUrl).host);
  });
  afterAll(async () => {
    prometheus?.child.kill('SIGKILL');
    await exporter?.stop();
    pki.remove();
  });

  test('curl: 401 without or with wrong credentials, 200 with them, over TLS only', async () => {
    const url = exporter.baseUrl.replace('http:', 'https:');
    const ca = pki.path('caCertificate');
    const anonymous = await curl(['--cacert', ca, `${url}/metrics`]);
    expect(anonymous.status).toBe(401);
    const wrong = await curl(['--cacert', ca, '-u', 'prometheus:nope', `${url}/metrics`]);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toBe(anonymous.body);
    const right = await curl(['--cacert', ca, '-u', `prometheus:${password}`, `${url}/metrics`]);
    expect(right.status).toBe(200);
    expect(right.body).toContain('hyperv_exporter_build_info');
    const plain = await curl([`${exporter.baseUrl}/metrics`]);
    expect(plain.status).not.toBe(200);
  });

  test('a broken web config stops the start with one line naming the file', () => {
    const broken = join(pki.directory, 'broken.yml');
    writeFileSync(broken, 'basic_auth_users:\n  prometheus: not-a-bcrypt-hash\n');
    const result = spawnSync(process.execPath, [MAIN, `--web.config.file=${broken}`, '--web.listen-address=127.0.0.1:0'], { encoding: 'utf8', timeout: 10_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(broken);
    const failure = result.stderr.split('\n').filter((line) => line.startsWith('hyperv-ic-exporter:'));
    expect(failure).toHaveLength(1);
    expect(failure[0]).toContain('is not a bcrypt hash');
  });

  describeWithTools(['prometheus'], 'a real Prometheus', () => {
    test('scrapes it over TLS with basic auth and sees hyperv_up 1', async () => {
      prometheus ??= await startPrometheus(pki, password, new URL(exporter.baseUrl).host);
      const { port } = prometheus;
      const value = await waitFor(
        'Prometheus to scrape hyperv_up',
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=hyperv_up`);
          const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
          return body.data.result[0]?.value[1];
        },
        { timeoutMs: 30_000 },
      );
      expect(value).toBe('1');
    }, 40_000);
  });
});
