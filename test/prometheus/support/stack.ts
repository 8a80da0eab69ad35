import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { GiveUp, waitFor } from '../../helpers/waitFor';
import { freePort } from '../../helpers/freePort';
import { startProcess, stopAll, type StartedProcess } from './processes';
import { REPOSITORY_ROOT, toolPath } from './tools';

export const EXPORTER_MAIN = path.join(REPOSITORY_ROOT, 'dist/main.js');
const PROMETHEUS_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/prometheus.yml');
export const PROBE_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/prometheus-probe.yml');
const RULES_FILE = path.join(REPOSITORY_ROOT, 'prometheus/alerts.yml');

/**
 * The only changes the test makes to the shipped configuration, so that it runs in seconds: the global
 * scrape and evaluation interval, and every rule's `for` (two evaluations). Every other time of the
 * tests is a multiple of these (the exporter samples as often as Prometheus scrapes), so shortening
 * them shortens the tests without changing what they see: a scrape takes a few milliseconds here.
 */
export const TEST_SCRAPE_INTERVAL_MS = 500;
export const TEST_SCRAPE_INTERVAL = `${TEST_SCRAPE_INTERVAL_MS}ms`;
export const TEST_RULE_FOR_MS = 2 * TEST_SCRAPE_INTERVAL_MS;
export const TEST_RULE_FOR = `${TEST_RULE_FOR_MS}ms`;
/** The exporter's --sample.interval (and each host's `interval`) in the tests: one sample per scrape. */
export const TEST_SAMPLE_INTERVAL = TEST_SCRAPE_INTERVAL;
/**
 * The exporter's --sample.max-age in the tests (the default is 5m): how long it serves a host's last
 * good sample while sampling fails (three samples). Like the intervals, shortened so that the tests
 * take seconds.
 */
export const TEST_MAX_AGE = `${3 * TEST_SCRAPE_INTERVAL_MS}ms`;
/**
 * How long a test watches that nothing changes: longer than every rule's `for` plus a scrape and an
 * evaluation, so that whatever the data in Prometheus would make fire (or resolve) has done so.
 */
export const TEST_SETTLE_MS = TEST_RULE_FOR_MS + 2 * TEST_SCRAPE_INTERVAL_MS;

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

/** The exporter address prometheus-probe.yml is shipped with (its `hyperv-ic` job's static target). */
export function shippedProbeExporterAddress(): string {
  const config = parseYaml(readFileSync(PROBE_CONFIG, 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }> };
  const address = config.scrape_configs.find((job) => job.job_name === 'hyperv-ic')?.static_configs?.[0]?.targets[0];
  if (address === undefined) throw new Error('prometheus-probe.yml has no static target for job hyperv-ic');
  return address;
}

/**
 * The shipped prometheus-probe.yml for an exporter at `exporterAddress`: the shipped exporter address
 * replaced by it wherever it occurs (the exporter's target and the /targets URL), and the global
 * scrape and evaluation intervals shortened as in testConfigurations(). Nothing else changes (the
 * multi-host test checks that).
 */
export function probeTestConfiguration(exporterAddress: string): Record<string, unknown> & { global: Record<string, unknown> } {
  const text = readFileSync(PROBE_CONFIG, 'utf8').split(shippedProbeExporterAddress()).join(exporterAddress);
  const prometheus = parseYaml(text) as Record<string, unknown> & { global?: Record<string, unknown> };
  return { ...prometheus, global: { ...(prometheus.global ?? {}), scrape_interval: TEST_SCRAPE_INTERVAL, evaluation_interval: TEST_SCRAPE_INTERVAL } };
}

/**
 * Exporter (replay source) → Prometheus (shipped config) → Alertmanager → webhook in this process.
 * start(): one host, the exporter's /metrics, prometheus.yml. startMultiHost(): one exporter with
 * --config.file sampling several replay hosts, served on /probe, with prometheus-probe.yml.
 */
export class MonitoringStack {
  // Created by start(), not by the constructor: a skipped suite still constructs the stack.
  private directory = '';
  private replayFile = '';
  /** startMultiHost(): each host's replay file, by host name. */
  private readonly hostReplayFiles = new Map<string, string>();
  private webhookPort = 0;
  readonly deliveries: WebhookDelivery[] = [];
  exporterAddress = '';
  prometheusUrl = '';
  alertmanagerUrl = '';
  private exporter?: StartedProcess;
  private exporterArgs: readonly string[] = [];
  private prometheus?: StartedProcess;
  private prometheusArgs: readonly string[] = [];
  private alertmanager?: StartedProcess;
  private webhook?: Server;

  /** Replaces the replay document atomically: the exporter re-reads it at every sample. */
  writeDocument(document: unknown): void {
    this.writeReplayText(JSON.stringify(document));
  }

  writeReplayText(text: string): void {
    MonitoringStack.replaceFile(this.replayFile, text);
  }

  /** startMultiHost(): replaces one host's replay document atomically. */
  writeHostDocument(host: string, document: unknown): void {
    this.writeHostReplayText(host, JSON.stringify(document));
  }

  /** startMultiHost(): replaces one host's replay file with this text (say, one that is not JSON). */
  writeHostReplayText(host: string, text: string): void {
    const file = this.hostReplayFiles.get(host);
    if (file === undefined) throw new Error(`no host ${host}: the hosts are ${[...this.hostReplayFiles.keys()].join(', ')}`);
    MonitoringStack.replaceFile(file, text);
  }

  private static replaceFile(file: string, text: string): void {
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  }

  async start(initialDocument: unknown): Promise<void> {
    this.directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-e2e-'));
    this.replayFile = path.join(this.directory, 'replay/sample.json');
    mkdirSync(path.dirname(this.replayFile), { recursive: true });
    this.writeDocument(initialDocument);
    await this.allocatePorts();
    await this.startWebhookAndAlertmanager();

    this.exporterArgs = [
      EXPORTER_MAIN,
      '--source=replay',
      `--replay.file=${this.replayFile}`,
      `--web.listen-address=${this.exporterAddress}`,
      `--sample.interval=${TEST_SAMPLE_INTERVAL}`,
      `--sample.max-age=${TEST_MAX_AGE}`,
      '--log.level=warn',
    ];
    this.exporter = startProcess('exporter', process.execPath, this.exporterArgs);

    // Prometheus: the shipped files, next to the targets files the shipped config reads.
    const { prometheus, rules } = testConfigurations();
    this.startPrometheus(prometheus, rules, { 'targets/hyperv-ic.json': [{ targets: [this.exporterAddress] }] });
    await this.waitUntilReady();
  }

  /**
   * One exporter sampling several hosts from replay files (--config.file, /probe?target=<name>), and
   * Prometheus with the shipped prometheus-probe.yml pointed at it. The exporter is ready before
   * Prometheus starts, so Prometheus' first read of /targets already lists every host.
   */
  async startMultiHost(initialDocuments: Readonly<Record<string, unknown>>): Promise<void> {
    this.directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-e2e-probe-'));
    const exporterDirectory = path.join(this.directory, 'exporter');
    mkdirSync(exporterDirectory, { recursive: true });
    for (const [host, document] of Object.entries(initialDocuments)) {
      this.hostReplayFiles.set(host, path.join(exporterDirectory, `${host}.json`));
      this.writeHostDocument(host, document);
    }
    // Replay paths are relative to the hosts file; every host is sampled as often as Prometheus scrapes.
    writeFileSync(
      path.join(exporterDirectory, 'hosts.yml'),
      stringifyYaml({ hosts: [...this.hostReplayFiles.keys()].map((name) => ({ name, replay: `${name}.json`, interval: TEST_SAMPLE_INTERVAL, 'max-age': TEST_MAX_AGE })) }),
    );
    await this.allocatePorts();
    await this.startWebhookAndAlertmanager();

    this.exporterArgs = [
      EXPORTER_MAIN,
      `--config.file=${path.join(exporterDirectory, 'hosts.yml')}`,
      `--web.listen-address=${this.exporterAddress}`,
      `--sample.interval=${TEST_SAMPLE_INTERVAL}`,
      '--log.level=warn',
    ];
    this.exporter = startProcess('exporter', process.execPath, this.exporterArgs);
    await this.waitForReady('exporter', this.exporter, `http://${this.exporterAddress}/-/ready`);

    const { rules } = testConfigurations();
    this.startPrometheus(probeTestConfiguration(this.exporterAddress), rules, {});
    await this.waitUntilReady();
  }

  private async allocatePorts(): Promise<void> {
    const [exporterPort, prometheusPort, alertmanagerPort, webhookPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    this.exporterAddress = `127.0.0.1:${exporterPort}`;
    this.prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    this.alertmanagerUrl = `http://127.0.0.1:${alertmanagerPort}`;
    this.webhookPort = webhookPort;
  }

  private async startWebhookAndAlertmanager(): Promise<void> {
    const webhookPort = this.webhookPort;

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

    // Alertmanager: the test's own configuration (a webhook to this process, group timers of one scrape interval).
    const alertmanagerDirectory = path.join(this.directory, 'alertmanager');
    mkdirSync(alertmanagerDirectory);
    writeFileSync(
      path.join(alertmanagerDirectory, 'alertmanager.yml'),
      stringifyYaml({
        route: { receiver: 'test-webhook', group_by: ['...'], group_wait: TEST_SCRAPE_INTERVAL, group_interval: TEST_SCRAPE_INTERVAL, repeat_interval: '1h' },
        receivers: [{ name: 'test-webhook', webhook_configs: [{ url: `http://127.0.0.1:${webhookPort}/alerts`, send_resolved: true }] }],
      }),
    );
    this.alertmanager = startProcess('alertmanager', toolPath('prometheus-alertmanager'), [
      `--config.file=${path.join(alertmanagerDirectory, 'alertmanager.yml')}`,
      `--storage.path=${path.join(alertmanagerDirectory, 'data')}`,
      `--web.listen-address=${new URL(this.alertmanagerUrl).host}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ]);
  }

  /** Prometheus with `prometheus` as its configuration, `rules` as alerts.yml beside it, and the given targets files. */
  private startPrometheus(prometheus: unknown, rules: unknown, targets: Readonly<Record<string, unknown>>): void {
    const prometheusDirectory = path.join(this.directory, 'prometheus');
    mkdirSync(path.join(prometheusDirectory, 'targets'), { recursive: true });
    writeFileSync(path.join(prometheusDirectory, 'prometheus.yml'), stringifyYaml(prometheus));
    writeFileSync(path.join(prometheusDirectory, 'alerts.yml'), stringifyYaml(rules));
    for (const [file, content] of Object.entries(targets)) writeFileSync(path.join(prometheusDirectory, file), JSON.stringify(content));
    writeFileSync(path.join(prometheusDirectory, 'targets/alertmanager.json'), JSON.stringify([{ targets: [new URL(this.alertmanagerUrl).host] }]));
    this.prometheusArgs = [
      `--config.file=${path.join(prometheusDirectory, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(prometheusDirectory, 'data')}`,
      `--web.listen-address=${new URL(this.prometheusUrl).host}`,
      '--log.level=warn',
    ];
    this.prometheus = startProcess('prometheus', toolPath('prometheus'), this.prometheusArgs);
  }

  /** Stops the exporter (SIGTERM, by pid): Prometheus' scrapes of it fail from now on. */
  async stopExporter(): Promise<void> {
    await stopAll([this.exporter]);
  }

  /** Starts the exporter again, with the same flags and address, and waits until it is ready. */
  async startExporter(): Promise<void> {
    if (this.exporter?.running === true) throw new Error('the exporter is already running');
    this.exporter = startProcess('exporter', process.execPath, this.exporterArgs);
    await this.waitForReady('exporter', this.exporter, `http://${this.exporterAddress}/-/ready`);
  }

  /**
   * Stops Prometheus, waits `downMs`, and starts it again on the same storage, configuration and port,
   * with `--query.lookback-delta` set to `lookbackDelta`: scaled down like the intervals, so that an
   * outage of a few seconds is longer than the lookback, as an outage of more than 5 minutes is in
   * production. A rule that remembered only through the lookback would have forgotten.
   */
  async restartPrometheus(options: { downMs: number; lookbackDelta: string }): Promise<void> {
    await stopAll([this.prometheus]);
    await new Promise((resolve) => setTimeout(resolve, options.downMs));
    this.prometheus = startProcess('prometheus', toolPath('prometheus'), [...this.prometheusArgs, `--query.lookback-delta=${options.lookbackDelta}`]);
    await this.waitForReady('prometheus', this.prometheus, `${this.prometheusUrl}/-/ready`);
  }

  private async waitForReady(name: string, program: StartedProcess | undefined, url: string): Promise<void> {
    if (program === undefined) throw new Error(`${name} was not started`);
    await waitFor(
      `${name} to answer ${url}`,
      async () => {
        if (!program.running) throw new GiveUp(`${name} exited with ${String(program.exitCode)}`);
        return (await fetch(url)).ok ? true : undefined;
      },
      { timeoutMs: 30_000, describe: () => program.log() },
    );
  }

  private async waitUntilReady(): Promise<void> {
    await Promise.all([
      this.waitForReady('exporter', this.exporter, `http://${this.exporterAddress}/-/ready`),
      this.waitForReady('alertmanager', this.alertmanager, `${this.alertmanagerUrl}/-/ready`),
      this.waitForReady('prometheus', this.prometheus, `${this.prometheusUrl}/-/ready`),
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

  /** Runs `body`, adding the programs' output to a failure, so a red test says what Prometheus or the exporter said. */
  async withLogs<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (error instanceof Error) error.message += `\n${this.logs()}`;
      throw error;
    }
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
