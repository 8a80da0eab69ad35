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
    // Every alert names the host: the target and, where the exporter answers, hyperv_host_info.
    expect(description).toContain('$labels.instance');
    if (rule.expr.includes('hyperv_vm_')) {
      expect(description).toContain('$labels.vm ');
      expect(description).toContain('$labels.vm_id');
    }
    if (rule.expr.includes('hyperv_')) expect(description).toContain('hyperv_host_info');
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
  const mutations: ReadonlyArray<readonly [string, string, string]> = [
    [
      'HeartbeatLost also fires for VMs that are not running',
      '          and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n          and on (job, instance, vm_id) (hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n        for: 2m',
      '          and on (job, instance, vm_id) (hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n        for: 2m',
    ],
    [
      'HeartbeatLost also fires when the heartbeat is disabled',
      '          and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n          and on (job, instance, vm_id) (hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n        for: 2m',
      '          and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n        for: 2m',
    ],
    ['HeartbeatLost treats no_contact (just started) as lost', 'status=~"lost_communication|error|non_recoverable_error"', 'status=~"lost_communication|error|non_recoverable_error|no_contact"'],
    ['HeartbeatLost restarts its timer when the status changes', 'max by (job, instance, vm_id, vm) (\n            hyperv_vm_heartbeat_status', 'max by (job, instance, vm_id, vm, status) (\n            hyperv_vm_heartbeat_status'],
    ['HeartbeatNoContact ignores uptime', 'hyperv_vm_uptime_seconds > 600\n          and on (job, instance, vm_id) (hyperv_vm_heartbeat_status{status="no_contact"} == 1)', 'hyperv_vm_uptime_seconds >= 0\n          and on (job, instance, vm_id) (hyperv_vm_heartbeat_status{status="no_contact"} == 1)'],
    ['ComponentUnhealthy ignores the boot grace', '          and on (job, instance, vm_id) (hyperv_vm_uptime_seconds > 600)\n', ''],
    ['ComponentUnhealthy counts disabled components', '          and on (job, instance, vm_id, component) (hyperv_vm_integration_component_enabled == 1)\n', ''],
    ['ComponentUnhealthy duplicates the heartbeat alerts', 'hyperv_vm_integration_component_ok{component!="heartbeat"}', 'hyperv_vm_integration_component_ok'],
    ['ApplicationCritical fires for paused VMs', 'max by (job, instance, vm_id, vm) (hyperv_vm_application_health{status="critical"}) == 1\n          and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)', 'max by (job, instance, vm_id, vm) (hyperv_vm_application_health{status="critical"}) == 1'],
    ['TimeSyncDisabled fires for VMs that are off', 'hyperv_vm_time_sync_enabled == 0\n          and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)', 'hyperv_vm_time_sync_enabled == 0'],
    ['ExporterDown fires for any job', 'up{job="hyperv-ic"} == 0', 'up == 0'],
  ];

  test.each(mutations)('the unit tests fail when %s', (_what, original, replacement) => {
    const rules = readFileSync(RULES_FILE, 'utf8');
    expect(rules).toContain(original);
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
    const result = runCommand(promtool, ['check', 'config', PROMETHEUS_CONFIG]);
    expect({ status: result.status, output: describeResult(result) }).toEqual({ status: 0, output: expect.any(String) });
    const warnings = (result.stdout + result.stderr).split('\n').filter((line) => /WARNING/.test(line));
    for (const warning of warnings) expect(warning).toMatch(/WARNING: file "[^"]*targets\/(hyperv-ic|alertmanager)\*\.json" for file_sd .* does not exist/);
  });

  test('promtool check config: with targets files beside it, no warning at all', () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-prometheus-config-'));
    try {
      cpSync(PROMETHEUS_CONFIG, path.join(directory, 'prometheus.yml'));
      cpSync(RULES_FILE, path.join(directory, 'alerts.yml'));
      mkdirSync(path.join(directory, 'targets'));
      writeFileSync(path.join(directory, 'targets/hyperv-ic.json'), JSON.stringify([{ targets: ['hv01.example.com:10062'] }]));
      writeFileSync(path.join(directory, 'targets/alertmanager.json'), JSON.stringify([{ targets: ['alertmanager:9093'] }]));
      const result = runCommand(promtool, ['check', 'config', path.join(directory, 'prometheus.yml')]);
      expect({ status: result.status, output: describeResult(result) }).toEqual({ status: 0, output: expect.any(String) });
      expect(result.stdout + result.stderr).not.toMatch(/WARNING|FAILED/);
      expect(result.stdout).toMatch(/SUCCESS: 1 rule files found/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describeWithTools(['amtool'], 'example Alertmanager configuration', () => {
  test('is accepted by amtool check-config', () => {
    const result = runCommand(toolPath('amtool'), ['check-config', ALERTMANAGER_CONFIG]);
    expect({ status: result.status, output: describeResult(result) }).toEqual({ status: 0, output: expect.any(String) });
    expect(result.stdout).toMatch(/SUCCESS/);
  });
});
