import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freePort, GiveUp, startProcess, stopAll, waitFor, type StartedProcess } from './processes';
import { REPOSITORY_ROOT, toolPath } from './tools';

export const EXPORTER_MAIN = path.join(REPOSITORY_ROOT, 'dist/main.js');
const PROMETHEUS_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/prometheus.yml');
const RULES_FILE = path.join(REPOSITORY_ROOT, 'prometheus/alerts.yml');

/** The only changes the test makes to the shipped configuration, so that it runs in seconds. */
export const TEST_SCRAPE_INTERVAL = '1s';
export const TEST_RULE_FOR = '2s';

/** One Alertmanager webhook delivery (the fields the test reads). */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface WebhookDelivery {
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
}

/** Prometheus' /api/v1/alerts entry. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

export interface QueryResult {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }> };
}

/**
 * The shipped prometheus.yml with only the global scrape and evaluation intervals shortened, and
 * alerts.yml with only each rule's `for` shortened; returns both so a test can show that nothing
 * else differs.
 */
export function testConfigurations(): { prometheus: Record<string, unknown>; rules: { groups: Array<{ rules: Array<Record<string, unknown>> }> } } {
  const prometheus = parseYaml(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as Record<string, unknown> & { global?: Record<string, unknown> };
  prometheus.global = { ...(prometheus.global ?? {}), scrape_interval: TEST_SCRAPE_INTERVAL, evaluation_interval: TEST_SCRAPE_INTERVAL };
  const rules = parseYaml(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Array<Record<string, unknown>> }> };
  for (const group of rules.groups) for (const rule of group.rules) if ('for' in rule) rule['for'] = TEST_RULE_FOR;
  return { prometheus, rules };
}

/** Exporter (replay source) → Prometheus (shipped config) → Alertmanager → webhook in this process. */
export class MonitoringStack {
  // Created by start(), not by the constructor: a skipped suite still constructs the stack.
  private directory = '';
  private replayFile = '';
  readonly deliveries: WebhookDelivery[] = [];
  exporterAddress = '';
  prometheusUrl = '';
  alertmanagerUrl = '';
  private exporter?: StartedProcess;
  private prometheus?: StartedProcess;
  private alertmanager?: StartedProcess;
  private webhook?: Server;

  /** Replaces the replay document atomically: the exporter re-reads it at every sample. */
  writeDocument(document: unknown): void {
    this.writeReplayText(JSON.stringify(document));
  }

  writeReplayText(text: string): void {
    const temporary = `${this.replayFile}.${process.pid}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, this.replayFile);
  }

  async start(initialDocument: unknown): Promise<void> {
    this.directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-e2e-'));
    this.replayFile = path.join(this.directory, 'replay/sample.json');
    mkdirSync(path.dirname(this.replayFile), { recursive: true });
    this.writeDocument(initialDocument);
    const [exporterPort, prometheusPort, alertmanagerPort, webhookPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    this.exporterAddress = `127.0.0.1:${exporterPort}`;
    this.prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    this.alertmanagerUrl = `http://127.0.0.1:${alertmanagerPort}`;

    this.webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        try {
          this.deliveries.push(JSON.parse(body) as WebhookDelivery);
        } catch {
          // not a webhook delivery; ignore
        }
        response.writeHead(200).end();
      });
    });
    const webhook = this.webhook;
    await new Promise<void>((resolve) => webhook.listen(webhookPort, '127.0.0.1', resolve));

    // Alertmanager: the test's own configuration (a webhook to this process, short group timers).
    const alertmanagerDirectory = path.join(this.directory, 'alertmanager');
    mkdirSync(alertmanagerDirectory);
    writeFileSync(
      path.join(alertmanagerDirectory, 'alertmanager.yml'),
      stringifyYaml({
        route: { receiver: 'test-webhook', group_by: ['...'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
        receivers: [{ name: 'test-webhook', webhook_configs: [{ url: `http://127.0.0.1:${webhookPort}/alerts`, send_resolved: true }] }],
      }),
    );
    this.alertmanager = startProcess('alertmanager', toolPath('prometheus-alertmanager'), [
      `--config.file=${path.join(alertmanagerDirectory, 'alertmanager.yml')}`,
      `--storage.path=${path.join(alertmanagerDirectory, 'data')}`,
      `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ]);

    this.exporter = startProcess('exporter', process.execPath, [
      EXPORTER_MAIN,
      '--source=replay',
      `--replay.file=${this.replayFile}`,
      `--web.listen-address=${this.exporterAddress}`,
      '--sample.interval=1s',
      '--log.level=warn',
    ]);

    // Prometheus: the shipped files, next to the targets files the shipped config reads.
    const prometheusDirectory = path.join(this.directory, 'prometheus');
    mkdirSync(path.join(prometheusDirectory, 'targets'), { recursive: true });
    const { prometheus, rules } = testConfigurations();
    writeFileSync(path.join(prometheusDirectory, 'prometheus.yml'), stringifyYaml(prometheus));
    writeFileSync(path.join(prometheusDirectory, 'alerts.yml'), stringifyYaml(rules));
    writeFileSync(path.join(prometheusDirectory, 'targets/hyperv-ic.json'), JSON.stringify([{ targets: [this.exporterAddress] }]));
    writeFileSync(path.join(prometheusDirectory, 'targets/alertmanager.json'), JSON.stringify([{ targets: [`127.0.0.1:${alertmanagerPort}`] }]));
    this.prometheus = startProcess('prometheus', toolPath('prometheus'), [
      `--config.file=${path.join(prometheusDirectory, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(prometheusDirectory, 'data')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
      '--log.level=warn',
    ]);

    const ready = async (name: string, program: StartedProcess, url: string): Promise<void> => {
      await waitFor(
        `${name} to answer ${url}`,
        async () => {
          if (!program.running) throw new GiveUp(`${name} exited with ${String(program.exitCode)}`);
          return (await fetch(url)).ok ? true : undefined;
        },
        { timeoutMs: 30_000, describe: () => program.log() },
      );
    };
    await Promise.all([
      ready('exporter', this.exporter, `http://${this.exporterAddress}/-/ready`),
      ready('alertmanager', this.alertmanager, `${this.alertmanagerUrl}/-/ready`),
      ready('prometheus', this.prometheus, `${this.prometheusUrl}/-/ready`),
    ]);
  }

  async stop(): Promise<void> {
    await stopAll([this.prometheus, this.alertmanager, this.exporter]);
    const webhook = this.webhook;
    if (webhook) await new Promise<void>((resolve) => webhook.close(() => resolve()));
    if (this.directory !== '') rmSync(this.directory, { recursive: true, force: true });
  }

  logs(): string {
    return [this.exporter, this.prometheus, this.alertmanager].map((p) => p?.log() ?? '').join('\n');
  }

  async query(expression: string): Promise<QueryResult> {
    const response = await fetch(`${this.prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expression })}`);
    return (await response.json()) as QueryResult;
  }

  async queryRange(expression: string, seconds: number): Promise<QueryResult> {
    const end = Date.now() / 1000;
    const parameters = new URLSearchParams({ query: expression, start: String(end - seconds), end: String(end), step: '1' });
    const response = await fetch(`${this.prometheusUrl}/api/v1/query_range?${parameters}`);
    return (await response.json()) as QueryResult;
  }

  async labelValues(label: string, selector: string): Promise<string[]> {
    const response = await fetch(`${this.prometheusUrl}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': selector })}`);
    const body = (await response.json()) as { status: string; data: string[] };
    if (body.status !== 'success') throw new Error(`label values of ${label} for ${selector}: ${JSON.stringify(body)}`);
    return body.data;
  }

  async alerts(): Promise<PrometheusAlert[]> {
    const response = await fetch(`${this.prometheusUrl}/api/v1/alerts`);
    const body = (await response.json()) as { data: { alerts: PrometheusAlert[] } };
    return body.data.alerts;
  }

  async firingAlerts(): Promise<PrometheusAlert[]> {
    return (await this.alerts()).filter((alert) => alert.state === 'firing');
  }
}
