/**
 * The alert rules and the example configurations, checked by the real programs: promtool (check
 * rules, unit tests, check config) and amtool / Alertmanager. Also checks that the unit tests bite:
 * each deliberately broken copy of the rules must make them fail.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EXPORTER_METRICS } from './support/contract';
import { metricNames } from './support/promql';
import { describeResult, describeWithTools, REPOSITORY_ROOT, toolPath, runCommand } from './support/tools';

const RULES_FILE = path.join(REPOSITORY_ROOT, 'prometheus/alerts.yml');
const RULE_TESTS_DIRECTORY = path.join(REPOSITORY_ROOT, 'prometheus/tests');
const PROMETHEUS_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/prometheus.yml');
const PROBE_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/prometheus-probe.yml');
const BACKUP_EXAMPLE_TEST = path.join(REPOSITORY_ROOT, 'test/prometheus/fixtures/backup-example.test.yml');
const ALERTMANAGER_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/alertmanager.yml');
const ALERTS_DOC = path.join(REPOSITORY_ROOT, 'docs/alerts.md');
const RUNBOOK_BASE = 'https://github.com/hyperv-ic-exporter/hyperv-ic-exporter/blob/main/docs/alerts.md#';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * The template query with which every VM alert's annotations find the host the VM is on now: among
 * the hosts that report it running and not migrating, the one it arrived on last.
 */
const NOW_HOST_LOOKUP =
  '{{- with printf "topk(1, (hyperv_vm_seen_since_timestamp_seconds{job=%[1]q,vm_id=%[2]q} or on (instance) hyperv_vm_state{job=%[1]q,vm_id=%[2]q,state=\\"running\\"} * 0) and on (instance) (hyperv_vm_state{job=%[1]q,vm_id=%[2]q,state=\\"running\\"} == 1) unless on (instance) (hyperv_vm_migrating{job=%[1]q,vm_id=%[2]q} == 1))" $labels.job $labels.vm_id | query }}{{ $instance = . | first | label "instance" }}{{ end -}}';

/** The YAML of the example rule in docs/alerts.md ("Example: VMs without a recent backup"). */
function backupExampleFromDocs(): string {
  const page = readFileSync(ALERTS_DOC, 'utf8');
  const start = page.indexOf('## Example: VMs without a recent backup');
  expect(start).toBeGreaterThan(-1);
  const yaml = /```yaml\n([\s\S]*?)\n```/.exec(page.slice(start))?.[1];
  if (yaml === undefined) throw new Error('no ```yaml block in the backup example section of docs/alerts.md');
  return `${yaml}\n`;
}

function readRules(): AlertRule[] {
  const document = parseYaml(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ name: string; rules: AlertRule[] }> };
  return document.groups.flatMap((group) => group.rules);
}

function ruleTestFiles(directory = RULE_TESTS_DIRECTORY): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.yml'))
    .sort()
    .map((name) => path.join(directory, name));
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
/**
 * promtool check config on a Prometheus configuration as written: valid, and its only warnings are for
 * the file_sd targets files (`targets/<name>*.json`, name one of `targetNames`) that sit beside it in a
 * deployment.
 */
function expectValidWithOnlyTargetsMissing(promtool: string, config: string, targetNames: string): void {
  const result = runCommand(promtool, ['check', 'config', config]);
  expect({ status: result.status, output: describeResult(result) }).toEqual({ status: 0, output: expect.any(String) });
  const warnings = (result.stdout + result.stderr).split('\n').filter((line) => /WARNING/.test(line));
  const missingTargets = new RegExp(`WARNING: file "[^"]*targets\\/(${targetNames})\\*\\.json" for file_sd .* does not exist`);
  for (const warning of warnings) expect(warning).toMatch(missingTargets);
}

/** promtool check config on a copy of the configuration with alerts.yml and the given targets files beside it: no warning at all. */
function expectCleanWithTargets(promtool: string, config: string, targets: Readonly<Record<string, unknown>>): void {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-prometheus-config-'));
  try {
    cpSync(config, path.join(directory, 'prometheus.yml'));
    cpSync(RULES_FILE, path.join(directory, 'alerts.yml'));
    mkdirSync(path.join(directory, 'targets'));
    for (const [name, content] of Object.entries(targets)) writeFileSync(path.join(directory, 'targets', name), JSON.stringify(content));
    const result = runCommand(promtool, ['check', 'config', path.join(directory, 'prometheus.yml')]);
    expect({ status: result.status, output: describeResult(result) }).toEqual({ status: 0, output: expect.any(String) });
    expect(result.stdout + result.stderr).not.toMatch(/WARNING|FAILED/);
    expect(result.stdout).toMatch(/SUCCESS: 1 rule files found/);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('alert rules, read as data', () => {
  const rules = readRules();

  test('are one group with the alerts the issue asks for', () => {
    const document = parseYaml(readFileSync(RULES_FILE, 'utf8')) as { groups: unknown[] };
    expect(document.groups).toHaveLength(1);
    expect(rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'HyperVVMHeartbeatLost',
        'HyperVVMHeartbeatNoContact',
        'HyperVVMApplicationCritical',
        'HyperVVMIntegrationComponentUnhealthy',
        'HyperVVMTimeSyncDisabled',
        'HyperVExporterSamplingFailing',
        'HyperVExporterDataStale',
      ]),
    );
  });

  test('HyperVVMHeartbeatLost is critical after 2 minutes and the time-sync alert is info', () => {
    const byName = new Map(rules.map((rule) => [rule.alert, rule]));
    expect(byName.get('HyperVVMHeartbeatLost')?.labels?.['severity']).toBe('critical');
    expect(byName.get('HyperVVMHeartbeatLost')?.for).toBe('2m');
    expect(byName.get('HyperVVMTimeSyncDisabled')?.labels?.['severity']).toBe('info');
  });

  test.each(rules.map((rule) => [rule.alert, rule] as const))('%s has a severity, a summary, a description and a runbook', (_name, rule) => {
    expect(['critical', 'warning', 'info']).toContain(rule.labels?.['severity']);
    expect(rule.annotations?.['summary']).toEqual(expect.stringMatching(/\S/));
    expect(rule.annotations?.['runbook_url']).toBe(RUNBOOK_BASE + rule.alert.toLowerCase());
    const description = rule.annotations?.['description'] ?? '';
    const summary = rule.annotations?.['summary'] ?? '';
    // Every alert names the host: the target and, where the exporter answers, hyperv_host_info. A VM
    // alert has no instance label (it follows the VM): it looks up the host the VM is on now.
    if (rule.expr.includes('hyperv_vm_')) {
      expect(description).toContain('$labels.vm ');
      expect(description).toContain('$labels.vm_id');
      for (const text of [summary, description]) {
        expect(text).toContain(NOW_HOST_LOOKUP);
        expect(text).toContain('{{ $instance }}');
        expect(text).not.toContain('$labels.instance');
      }
    } else {
      expect(description).toContain('$labels.instance');
    }
    if (rule.expr.includes('hyperv_')) expect(description).toContain('hyperv_host_info');
  });

  test('VM alerts are keyed by the VM, not the host, and leave migrating copies out before aggregating', () => {
    const vmRules = rules.filter((rule) => rule.expr.includes('hyperv_vm_'));
    expect(vmRules.map((rule) => rule.alert).sort()).toEqual(
      ['HyperVVMApplicationCritical', 'HyperVVMHeartbeatLost', 'HyperVVMHeartbeatNoContact', 'HyperVVMIntegrationComponentUnhealthy', 'HyperVVMTimeSyncDisabled'],
    );
    for (const rule of vmRules) {
      const by = rule.alert === 'HyperVVMIntegrationComponentUnhealthy' ? '(job, vm_id, vm, component)' : '(job, vm_id, vm)';
      // max by (…) ( (condition per host) unless on (job, instance, vm_id) (hyperv_vm_migrating == 1) )
      expect({ alert: rule.alert, expr: rule.expr.trim() }).toEqual({
        alert: rule.alert,
        expr: expect.stringMatching(new RegExp(`^max by ${by.replace(/[()]/g, '\\$&')} \\(\\n\\s+\\([\\s\\S]+\\)\\n\\s+unless on \\(job, instance, vm_id\\) \\(hyperv_vm_migrating == 1\\)\\n\\)$`)),
      });
    }
  });

  test('exporter alerts judge one series per host (or per exporter) in both layouts', () => {
    const byName = new Map(rules.map((rule) => [rule.alert, rule.expr.trim()]));
    expect(byName.get('HyperVExporterSamplingFailing')).toBe('hyperv_up{host=""} == 0');
    expect(byName.get('HyperVExporterDataStale')).toBe('time() - hyperv_sample_timestamp_seconds{host=""} > 300');
    expect(byName.get('HyperVExporterDown')).toBe('up{job="hyperv-ic"} == 0');
    // The job HyperVExporterDown names is the exporter's own /metrics job in both shipped configurations.
    for (const file of [PROMETHEUS_CONFIG, PROBE_CONFIG]) {
      const config = parseYaml(readFileSync(file, 'utf8')) as { scrape_configs: Array<{ job_name: string; metrics_path?: string }> };
      const exporterJob = config.scrape_configs.find((job) => job.job_name === 'hyperv-ic');
      expect({ file, exporterJob: exporterJob !== undefined && (exporterJob.metrics_path ?? '/metrics') === '/metrics' }).toEqual({ file, exporterJob: true });
    }
  });

  test('use only metrics the exporter documents (and Prometheus\' up)', () => {
    for (const rule of rules) {
      for (const name of metricNames(rule.expr)) {
        if (name === 'up') continue;
        expect({ alert: rule.alert, metric: name, documented: EXPORTER_METRICS.has(name) }).toEqual({ alert: rule.alert, metric: name, documented: true });
      }
    }
  });

  test('every runbook_url points at a section of docs/alerts.md', () => {
    expect(existsSync(ALERTS_DOC)).toBe(true);
    const anchors = new Set(
      readFileSync(ALERTS_DOC, 'utf8')
        .split('\n')
        .filter((line) => /^#{1,6}\s/.test(line))
        .map((line) => githubAnchor(line.replace(/^#+\s*/, ''))),
    );
    for (const rule of rules) {
      const anchor = (rule.annotations?.['runbook_url'] ?? '').split('#')[1] ?? '';
      expect({ alert: rule.alert, anchor, present: anchors.has(anchor) }).toEqual({ alert: rule.alert, anchor, present: true });
    }
  });

  test('every alert has a promtool unit test in which it fires', () => {
    const firing = new Set<string>();
    for (const file of ruleTestFiles()) {
      const suite = parseYaml(readFileSync(file, 'utf8')) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
      };
      for (const t of suite.tests) {
        for (const check of t.alert_rule_test ?? []) if ((check.exp_alerts ?? []).length > 0) firing.add(check.alertname);
      }
    }
    expect([...firing].sort()).toEqual(rules.map((rule) => rule.alert).sort());
  });
});

describeWithTools(['promtool'], 'alert rules, checked by promtool', () => {
  const promtool = toolPath('promtool');

  test('promtool check rules: no complaint', () => {
    const result = runCommand(promtool, ['check', 'rules', RULES_FILE]);
    expect(result.status).toBe(0);
    // The file's own path is echoed back; anything else that is not a SUCCESS line is a complaint.
    const output = (result.stdout + result.stderr).split(RULES_FILE).join('<rules>');
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(output).not.toMatch(/WARNING|FAILED|error/i);
  });

  test('promtool test rules: every unit test passes', () => {
    const files = ruleTestFiles();
    expect(files.length).toBeGreaterThan(0);
    const result = runCommand(promtool, ['test', 'rules', ...files]);
    expect({ status: result.status, output: describeResult(result) }).toEqual({ status: 0, output: expect.any(String) });
    expect(result.stdout.match(/SUCCESS/g)).toHaveLength(files.length);
    expect(result.stdout + result.stderr).not.toMatch(/FAILED/);
  });

  // Each mutation removes one safeguard the issue asks for; the unit tests must notice every one.
  // `original` must occur exactly once in alerts.yml, so that the mutation is the one described.
  const heartbeatLostTail =
    '              and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n' +
    '              and on (job, instance, vm_id) (hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n' +
    '            )\n' +
    '            unless on (job, instance, vm_id) (hyperv_vm_migrating == 1)\n' +
    '          )\n' +
    '        for: 2m';
  const lostSummaryLookup = `${NOW_HOST_LOOKUP}\n            Heartbeat lost: VM`;
  const mutations: ReadonlyArray<readonly [string, string, string]> = [
    ['HeartbeatLost also fires for VMs that are not running', heartbeatLostTail, heartbeatLostTail.replace('              and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n', '')],
    [
      'HeartbeatLost also fires when the heartbeat is disabled',
      heartbeatLostTail,
      heartbeatLostTail.replace('              and on (job, instance, vm_id) (hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n', ''),
    ],
    ['HeartbeatLost treats no_contact (just started) as lost', 'status=~"lost_communication|error|non_recoverable_error"', 'status=~"lost_communication|error|non_recoverable_error|no_contact"'],
    [
      'HeartbeatLost restarts its timer when the status changes',
      'max by (job, vm_id, vm) (\n            (\n              hyperv_vm_heartbeat_status',
      'max by (job, vm_id, vm, status) (\n            (\n              hyperv_vm_heartbeat_status',
    ],
    [
      'HeartbeatNoContact ignores uptime',
      'hyperv_vm_uptime_seconds > 600\n              and on (job, instance, vm_id) (hyperv_vm_heartbeat_status{status="no_contact"} == 1)',
      'hyperv_vm_uptime_seconds >= 0\n              and on (job, instance, vm_id) (hyperv_vm_heartbeat_status{status="no_contact"} == 1)',
    ],
    ['ComponentUnhealthy ignores the boot grace', '              and on (job, instance, vm_id) (hyperv_vm_uptime_seconds > 600)\n', ''],
    ['ComponentUnhealthy counts disabled components', '              and on (job, instance, vm_id, component) (hyperv_vm_integration_component_enabled == 1)\n', ''],
    ['ComponentUnhealthy duplicates the heartbeat alerts', 'hyperv_vm_integration_component_ok{component!="heartbeat"}', 'hyperv_vm_integration_component_ok'],
    [
      'ApplicationCritical fires for paused VMs',
      'hyperv_vm_application_health{status="critical"} == 1\n              and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)',
      'hyperv_vm_application_health{status="critical"} == 1',
    ],
    [
      'TimeSyncDisabled fires for VMs that are off',
      'hyperv_vm_time_sync_enabled == 0\n              and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)',
      'hyperv_vm_time_sync_enabled == 0',
    ],
    ['ExporterDown fires for any job', 'up{job="hyperv-ic"} == 0', 'up == 0'],

    // Migration: a migrating copy is not judged, the alert is the VM's (no instance), the
    // annotations name the host the VM runs on now.
    ['HeartbeatLost judges a migrating copy (a slow migration pages)', heartbeatLostTail, heartbeatLostTail.replace('            unless on (job, instance, vm_id) (hyperv_vm_migrating == 1)\n', '')],
    [
      'HeartbeatNoContact judges a migrating copy (the destination of a slow migration pages)',
      '(hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n            )\n            unless on (job, instance, vm_id) (hyperv_vm_migrating == 1)\n          )\n        for: 5m',
      '(hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n            )\n          )\n        for: 5m',
    ],
    [
      'ApplicationCritical judges a migrating copy',
      'hyperv_vm_application_health{status="critical"} == 1\n              and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n            )\n            unless on (job, instance, vm_id) (hyperv_vm_migrating == 1)',
      'hyperv_vm_application_health{status="critical"} == 1\n              and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n            )',
    ],
    [
      'ComponentUnhealthy judges a migrating copy',
      '(hyperv_vm_uptime_seconds > 600)\n            )\n            unless on (job, instance, vm_id) (hyperv_vm_migrating == 1)',
      '(hyperv_vm_uptime_seconds > 600)\n            )',
    ],
    [
      'HeartbeatLost is keyed by the host (two alerts for one VM; a migration restarts the `for`)',
      'max by (job, vm_id, vm) (\n            (\n              hyperv_vm_heartbeat_status',
      'max by (job, instance, vm_id, vm) (\n            (\n              hyperv_vm_heartbeat_status',
    ],
    [
      'TimeSyncDisabled is keyed by the host (a migration restarts its 30m `for`)',
      'max by (job, vm_id, vm) (\n            (\n              hyperv_vm_time_sync_enabled',
      'max by (job, instance, vm_id, vm) (\n            (\n              hyperv_vm_time_sync_enabled',
    ],
    ['HeartbeatLost names a migrating copy\'s host', lostSummaryLookup, lostSummaryLookup.replace(' unless on (instance) (hyperv_vm_migrating{job=%[1]q,vm_id=%[2]q} == 1)', '')],
    ['HeartbeatLost names the host the VM arrived on first', lostSummaryLookup, lostSummaryLookup.replace('topk(1, ', 'bottomk(1, ')],
    [
      'HeartbeatLost names a host where the VM does not run',
      lostSummaryLookup,
      lostSummaryLookup.replace(' and on (instance) (hyperv_vm_state{job=%[1]q,vm_id=%[2]q,state=\\"running\\"} == 1)', ''),
    ],

    // Two layouts: one page per failing host, one per exporter that is down.
    ['SamplingFailing also judges the exporter\'s host-labelled copy (pages twice per host)', 'hyperv_up{host=""} == 0', 'hyperv_up == 0'],
    ['DataStale also judges the exporter\'s host-labelled copy', 'hyperv_sample_timestamp_seconds{host=""} > 300', 'hyperv_sample_timestamp_seconds > 300'],
    ['ExporterDown also judges the /probe targets (pages once per host)', 'up{job="hyperv-ic"} == 0', 'up{job=~"hyperv-ic|hyperv-ic-probe"} == 0'],
  ];

  test.each(mutations)('the unit tests fail when %s', (_what, original, replacement) => {
    const rules = readFileSync(RULES_FILE, 'utf8');
    expect(rules.split(original).length - 1).toBe(1);
    expect(replacement).not.toBe(original);
    const directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-rules-mutant-'));
    try {
      writeFileSync(path.join(directory, 'alerts.yml'), rules.replace(original, replacement));
      cpSync(RULE_TESTS_DIRECTORY, path.join(directory, 'tests'), { recursive: true });
      const mutantRules = runCommand(promtool, ['check', 'rules', path.join(directory, 'alerts.yml')]);
      expect(mutantRules.status).toBe(0); // still valid rules: only the unit tests can catch it
      const result = runCommand(promtool, ['test', 'rules', ...ruleTestFiles(path.join(directory, 'tests'))]);
      expect(result.status).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(/FAILED/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('promtool check config: prometheus.yml as written is valid; only its targets files are missing', () => {
    expectValidWithOnlyTargetsMissing(promtool, PROMETHEUS_CONFIG, 'hyperv-ic|alertmanager');
  });

  test('promtool check config: with targets files beside it, no warning at all', () => {
    expectCleanWithTargets(promtool, PROMETHEUS_CONFIG, {
      'hyperv-ic.json': [{ targets: ['hv01.example.com:10062'] }],
      'alertmanager.json': [{ targets: ['alertmanager:9093'] }],
    });
  });
});

describe('prometheus-probe.yml (many hosts behind one exporter), read as data', () => {
  const config = parseYaml(readFileSync(PROBE_CONFIG, 'utf8')) as {
    rule_files: string[];
    scrape_configs: Array<{
      job_name: string;
      metrics_path?: string;
      static_configs?: Array<{ targets: string[] }>;
      http_sd_configs?: Array<{ url: string }>;
      relabel_configs?: Array<{ source_labels?: string[]; target_label?: string; regex?: string; replacement?: string }>;
    }>;
  };
  const job = (name: string) => config.scrape_configs.find((j) => j.job_name === name);

  test('loads alerts.yml and has exactly the exporter job and the /probe job', () => {
    expect(config.rule_files).toEqual(['alerts.yml']);
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual(['hyperv-ic', 'hyperv-ic-probe']);
  });

  test('the /probe job discovers the hosts from the exporter it scrapes, and names each series by host', () => {
    const exporter = job('hyperv-ic');
    const probe = job('hyperv-ic-probe');
    const exporterAddress = exporter?.static_configs?.[0]?.targets[0];
    expect(exporterAddress).toEqual(expect.stringMatching(/^[\w.-]+:\d+$/));
    expect(probe?.metrics_path).toBe('/probe');
    expect(probe?.http_sd_configs).toEqual([expect.objectContaining({ url: `http://${String(exporterAddress)}/targets` })]);
    expect(probe?.relabel_configs).toEqual([
      { source_labels: ['__address__'], target_label: '__param_target' },
      { source_labels: ['__address__'], target_label: 'instance' },
      { source_labels: ['__meta_url'], regex: 'https?://([^/]+)/.*', target_label: '__address__', replacement: '$1' },
    ]);
  });
});

describeWithTools(['promtool'], 'prometheus-probe.yml and the backup example of docs/alerts.md, checked by promtool', () => {
  const promtool = toolPath('promtool');

  test('promtool check config: prometheus-probe.yml as written is valid; only its Alertmanager targets file is missing', () => {
    expectValidWithOnlyTargetsMissing(promtool, PROBE_CONFIG, 'alertmanager');
  });

  test('promtool check config: prometheus-probe.yml with its targets file beside it, no warning at all', () => {
    expectCleanWithTargets(promtool, PROBE_CONFIG, { 'alertmanager.json': [{ targets: ['alertmanager:9093'] }] });
  });

  /** Runs promtool on the example rule beside a copy of its unit test. */
  function checkBackupExample(rules: string): { check: ReturnType<typeof runCommand>; test: ReturnType<typeof runCommand> } {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-backup-example-'));
    try {
      writeFileSync(path.join(directory, 'backup-example.yml'), rules);
      cpSync(BACKUP_EXAMPLE_TEST, path.join(directory, 'backup-example.test.yml'));
      return {
        check: runCommand(promtool, ['check', 'rules', path.join(directory, 'backup-example.yml')]),
        test: runCommand(promtool, ['test', 'rules', path.join(directory, 'backup-example.test.yml')]),
      };
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }

  test('the example backup rule is valid and passes its unit test: 8 days old fires, 1 day old does not, never (0) fires', () => {
    const example = backupExampleFromDocs();
    expect((parseYaml(example) as { groups: Array<{ rules: AlertRule[] }> }).groups.flatMap((g) => g.rules).map((r) => r.alert)).toEqual(['HyperVVMBackupOld']);
    for (const name of metricNames(example.match(/expr: \|\n([\s\S]*?)\n\s+for:/)?.[1] ?? '')) {
      expect({ metric: name, documented: EXPORTER_METRICS.has(name) }).toEqual({ metric: name, documented: true });
    }
    const { check, test } = checkBackupExample(example);
    expect({ status: check.status, output: describeResult(check) }).toEqual({ status: 0, output: expect.any(String) });
    expect(check.stdout + check.stderr).not.toMatch(/WARNING|FAILED/);
    expect({ status: test.status, output: describeResult(test) }).toEqual({ status: 0, output: expect.any(String) });
    expect(test.stdout).toMatch(/SUCCESS/);
  });

  test.each([
    ['a threshold of 9 days (the 8-day-old backup stops firing)', '> 7 * 86400', '> 9 * 86400'],
    ['"never" (0) left out', 'hyperv_vm_last_successful_backup_timestamp_seconds\n            unless', 'hyperv_vm_last_successful_backup_timestamp_seconds > 0\n            unless'],
  ])('the example\'s unit test fails with %s', (_what, original, replacement) => {
    const example = backupExampleFromDocs();
    expect(example.split(original).length - 1).toBe(1);
    const { check, test } = checkBackupExample(example.replace(original, replacement));
    expect(check.status).toBe(0);
    expect(test.status).not.toBe(0);
    expect(test.stdout + test.stderr).toMatch(/FAILED/);
  });
});

describeWithTools(['amtool'], 'example Alertmanager configuration', () => {
  test('is accepted by amtool check-config', () => {
    const result = runCommand(toolPath('amtool'), ['check-config', ALERTMANAGER_CONFIG]);
    expect({ status: result.status, output: describeResult(result) }).toEqual({ status: 0, output: expect.any(String) });
    expect(result.stdout).toMatch(/SUCCESS/);
  });
});
