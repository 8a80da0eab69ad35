/**
 * The alert rules and the example configurations, checked by the real programs: promtool (check
 * rules, unit tests, check config) and amtool / Alertmanager. Also checks that the unit tests bite:
 * each deliberately broken copy of the rules must make them fail.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EXPORTER_METRICS } from './support/contract';
import { metricNames } from './support/promql';
import { describeResult, describeWithTools, REPOSITORY_ROOT, toolPath, runCommand, runCommandCombinedAsync } from './support/tools';

const RULES_FILE = path.join(REPOSITORY_ROOT, 'prometheus/alerts.yml');
const RULE_TESTS_DIRECTORY = path.join(REPOSITORY_ROOT, 'prometheus/tests');
const PROMETHEUS_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/prometheus.yml');
const PROBE_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/prometheus-probe.yml');
const BACKUP_EXAMPLE_TEST = path.join(REPOSITORY_ROOT, 'test/prometheus/fixtures/backup-example.test.yml');
const ALERTMANAGER_CONFIG = path.join(REPOSITORY_ROOT, 'prometheus/alertmanager.yml');
const ALERTS_DOC = path.join(REPOSITORY_ROOT, 'docs/alerts.md');
/**
 * Every runbook_url: the external label runbook_base_url (prometheus.yml) or, without it, the path of
 * the runbooks in a release, then the alert's anchor in docs/alerts.md.
 */
const RUNBOOK_TEMPLATE = '{{ with $externalLabels.runbook_base_url }}{{ . }}{{ else }}docs/alerts.md{{ end }}#';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RecordingRule {
  record: string;
  expr: string;
}

/** The recording rules alerts.yml defines, in order: the memory of the latched paging. */
const RECORDED = ['hyperv:vm_heartbeat_lost', 'hyperv:vm_heartbeat_lost:latched', 'hyperv:host_info:remembered', 'hyperv:vm_running:remembered'];

/**
 * The template query with which every VM alert's annotations find the host the VM is on now: among
 * the hosts that report it running and not migrating, the one it arrived on last.
 */
const NOW_HOST_LOOKUP =
  '{{- with printf "topk(1, (hyperv_vm_seen_since_timestamp_seconds{job=%[1]q,vm_id=%[2]q} or on (instance) hyperv_vm_state{job=%[1]q,vm_id=%[2]q,state=\\"running\\"} * 0) and on (instance) (hyperv_vm_state{job=%[1]q,vm_id=%[2]q,state=\\"running\\"} == 1) unless on (instance) (hyperv_vm_migrating{job=%[1]q,vm_id=%[2]q} == 1))" $labels.job $labels.vm_id | query }}{{ $instance = . | first | label "instance" }}{{ end -}}';
/** HyperVVMHeartbeatLost's fallback when no host reports the VM now: the host where its heartbeat was last seen lost. */
const LATCHED_HOST_LOOKUP =
  '{{- if eq $instance "(unknown)" }}{{ with printf "hyperv:vm_heartbeat_lost:latched{job=%q,vm_id=%q} == 1" $labels.job $labels.vm_id | query }}{{ $instance = . | first | label "instance" }}{{ end }}{{ end -}}';

/** The YAML of the example rule in docs/alerts.md ("Example: VMs without a recent backup"). */
function backupExampleFromDocs(): string {
  const page = readFileSync(ALERTS_DOC, 'utf8');
  const start = page.indexOf('## Example: VMs without a recent backup');
  expect(start).toBeGreaterThan(-1);
  const yaml = /```yaml\n([\s\S]*?)\n```/.exec(page.slice(start))?.[1];
  if (yaml === undefined) throw new Error('no ```yaml block in the backup example section of docs/alerts.md');
  return `${yaml}\n`;
}

function readAllRules(): Array<AlertRule | RecordingRule> {
  const document = parseYaml(readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ name: string; rules: Array<AlertRule | RecordingRule> }> };
  return document.groups.flatMap((group) => group.rules);
}

/** The alerting rules of alerts.yml. */
function readRules(): AlertRule[] {
  return readAllRules().filter((rule): rule is AlertRule => 'alert' in rule);
}

function readRecordingRules(): RecordingRule[] {
  return readAllRules().filter((rule): rule is RecordingRule => 'record' in rule);
}

function ruleTestFiles(directory = RULE_TESTS_DIRECTORY): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.yml'))
    .sort()
    .map((name) => path.join(directory, name));
}

/**
 * promtool's report on several files (`promtool check rules a b …`, `promtool test rules a b …`, its
 * stdout and stderr in the order written) cut into each file's own part: from the line that names the
 * file (`heading`, whose group 1 is the file) to the next such line. A file named twice is left out,
 * as is one not named at all.
 */
function reportsByFile(output: string, heading: RegExp, files: readonly string[]): Map<string, string> {
  const parts = new Map<string, string[]>();
  const twice = new Set<string>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const file = heading.exec(line)?.[1];
    if (file !== undefined && files.includes(file)) {
      if (parts.has(file)) twice.add(file);
      current = [];
      parts.set(file, current);
    }
    current?.push(line);
  }
  return new Map([...parts].filter(([file]) => !twice.has(file)).map(([file, lines]) => [file, lines.join('\n')]));
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

  test('are one group: the recording rules of the latched paging first, then the alerts the issues ask for', () => {
    const document = parseYaml(readFileSync(RULES_FILE, 'utf8')) as { groups: unknown[] };
    // One group: its rules run in order, so the alerts read the memory recorded in the same evaluation.
    expect(document.groups).toHaveLength(1);
    const all = readAllRules();
    expect(all.slice(0, RECORDED.length).map((rule) => ('record' in rule ? rule.record : rule.alert))).toEqual(RECORDED);
    expect(readRecordingRules().map((rule) => rule.record)).toEqual(RECORDED);
    expect(rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'HyperVVMHeartbeatLost',
        'HyperVHostNotSampled',
        'HyperVVMHeartbeatNoContact',
        'HyperVVMApplicationCritical',
        'HyperVVMIntegrationComponentUnhealthy',
        'HyperVVMTimeSyncDisabled',
        'HyperVExporterSamplingFailing',
        'HyperVExporterDataStale',
        'HyperVExporterDown',
      ]),
    );
  });

  test('HyperVVMHeartbeatLost and HyperVHostNotSampled are critical after 2 minutes and the time-sync alert is info', () => {
    const byName = new Map(rules.map((rule) => [rule.alert, rule]));
    for (const name of ['HyperVVMHeartbeatLost', 'HyperVHostNotSampled']) {
      expect({ name, severity: byName.get(name)?.labels?.['severity'], for: byName.get(name)?.for }).toEqual({ name, severity: 'critical', for: '2m' });
    }
    expect(byName.get('HyperVVMTimeSyncDisabled')?.labels?.['severity']).toBe('info');
    // Nothing else pages: the exporter's own alerts are warnings (HyperVHostNotSampled pages for them).
    expect(rules.filter((rule) => rule.labels?.['severity'] === 'critical').map((rule) => rule.alert).sort()).toEqual(['HyperVHostNotSampled', 'HyperVVMHeartbeatLost']);
  });

  test.each(rules.map((rule) => [rule.alert, rule] as const))('%s has a severity, a summary, a description and a runbook', (_name, rule) => {
    expect(['critical', 'warning', 'info']).toContain(rule.labels?.['severity']);
    expect(rule.annotations?.['summary']).toEqual(expect.stringMatching(/\S/));
    expect(rule.annotations?.['runbook_url']).toBe(RUNBOOK_TEMPLATE + rule.alert.toLowerCase());
    const description = rule.annotations?.['description'] ?? '';
    const summary = rule.annotations?.['summary'] ?? '';
    // Every alert names the host: the target and, where the exporter answers, hyperv_host_info (or,
    // for a host that no longer answers, its remembered name). A VM alert has no instance label (it
    // follows the VM): it looks up the host the VM is on now, and HyperVVMHeartbeatLost, for a VM no
    // host reports any more, the host where its heartbeat was last seen lost.
    if (rule.expr.includes('hyperv_vm_') || rule.expr.includes('hyperv:vm_')) {
      expect(description).toContain('$labels.vm ');
      expect(description).toContain('$labels.vm_id');
      for (const text of [summary, description]) {
        expect(text).toContain(NOW_HOST_LOOKUP);
        // (a folded YAML scalar: the template's lines are joined by spaces)
        if (rule.alert === 'HyperVVMHeartbeatLost') expect(text).toContain(`${NOW_HOST_LOOKUP} ${LATCHED_HOST_LOOKUP}`);
        expect(text).toContain('{{ $instance }}');
        expect(text).not.toContain('$labels.instance');
      }
    } else {
      expect(description).toContain('$labels.instance');
    }
    if (/hyperv_(?!vm_)|hyperv:vm_/.test(rule.expr) && rule.alert !== 'HyperVHostNotSampled') expect(description).toContain('hyperv_host_info');
    // HyperVHostNotSampled's host has no hyperv_host_info any more: its name is a label of the memory.
    if (rule.alert === 'HyperVHostNotSampled') expect(description).toContain('$labels.host');
  });

  test('VM alerts are keyed by the VM, not the host, and leave migrating copies out before aggregating', () => {
    const vmRules = rules.filter((rule) => rule.expr.includes('hyperv_vm_') || rule.expr.includes('hyperv:vm_'));
    expect(vmRules.map((rule) => rule.alert).sort()).toEqual(
      ['HyperVVMApplicationCritical', 'HyperVVMHeartbeatLost', 'HyperVVMHeartbeatNoContact', 'HyperVVMIntegrationComponentUnhealthy', 'HyperVVMTimeSyncDisabled'],
    );
    // max by (…) ( (condition per host) unless on (job, instance, vm_id) (hyperv_vm_migrating == 1) )
    const perHost = (by: string): RegExp =>
      new RegExp(`^max by ${by.replace(/[()]/g, '\\$&')} \\(\\n\\s+\\([\\s\\S]+\\)\\n\\s+unless on \\(job, instance, vm_id\\) \\(hyperv_vm_migrating == 1\\)\\n\\)$`);
    for (const rule of vmRules) {
      if (rule.alert === 'HyperVVMHeartbeatLost') {
        // It pages on the latch, which the lost-now condition (of the same shape, per host) feeds.
        expect(rule.expr.trim()).toBe('max by (job, vm_id, vm) (hyperv:vm_heartbeat_lost:latched == 1)');
        const lostNow = readRecordingRules().find((r) => r.record === 'hyperv:vm_heartbeat_lost');
        expect(lostNow?.expr.trim()).toMatch(perHost('(job, instance, vm_id, vm)'));
        continue;
      }
      const by = rule.alert === 'HyperVVMIntegrationComponentUnhealthy' ? '(job, vm_id, vm, component)' : '(job, vm_id, vm)';
      expect({ alert: rule.alert, expr: rule.expr.trim() }).toEqual({ alert: rule.alert, expr: expect.stringMatching(perHost(by)) });
    }
  });

  test('a recording rule that reads its own output looks back a day, not just the 5-minute lookback, and writes a 0 when cleared', () => {
    for (const rule of readRecordingRules().filter((r) => r.expr.includes(r.record + '['))) {
      const selfReads = [...rule.expr.matchAll(new RegExp(`([a-z_]+)\\(${rule.record}\\[([^\\]]+)\\]\\)`, 'g'))];
      expect({ rule: rule.record, reads: selfReads.length > 0 }).toEqual({ rule: rule.record, reads: true });
      for (const read of selfReads) expect({ rule: rule.record, read: read[0] }).toEqual({ rule: rule.record, read: `last_over_time(${rule.record}[1d])` });
      // A bare self-reference (the 5-minute lookback) would forget the memory over a restart of Prometheus.
      expect({ rule: rule.record, bare: new RegExp(`${rule.record}(?![:\\w\\[])`).test(rule.expr.replace(/last_over_time\([^)]*\)/g, '')) }).toEqual({ rule: rule.record, bare: false });
      expect(rule.expr.trim()).toMatch(new RegExp(`or\\n\\s*\\(last_over_time\\(${rule.record}\\[1d\\]\\) (== 1|> 0)\\) \\* 0$`));
    }
    expect(readRecordingRules().filter((r) => r.expr.includes(r.record + '[')).map((r) => r.record)).toEqual(RECORDED.slice(1));
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

  test('use only metrics the exporter documents, the recording rules of this file (and Prometheus\' up)', () => {
    for (const rule of readAllRules()) {
      const name = 'alert' in rule ? rule.alert : rule.record;
      for (const metric of metricNames(rule.expr)) {
        if (metric === 'up') continue;
        expect({ rule: name, metric, documented: EXPORTER_METRICS.has(metric) || RECORDED.includes(metric) }).toEqual({ rule: name, metric, documented: true });
      }
    }
  });

  test('every runbook_url points at a section of docs/alerts.md, and the runbook base is set once, in both example configurations', () => {
    expect(existsSync(ALERTS_DOC)).toBe(true);
    const page = readFileSync(ALERTS_DOC, 'utf8');
    const anchors = new Set(
      page
        .split('\n')
        .filter((line) => /^#{1,6}\s/.test(line))
        .map((line) => githubAnchor(line.replace(/^#+\s*/, ''))),
    );
    for (const rule of rules) {
      const anchor = (rule.annotations?.['runbook_url'] ?? '').split('#')[1] ?? '';
      expect({ alert: rule.alert, anchor, present: anchors.has(anchor) }).toEqual({ alert: rule.alert, anchor, present: true });
      // One runbook per alert: a section whose heading is the alert's name.
      expect({ alert: rule.alert, section: page.includes(`\n## ${rule.alert}\n`) }).toEqual({ alert: rule.alert, section: true });
    }
    // Every `## HyperV…` section is an alert's runbook (none left over from a removed alert).
    expect([...page.matchAll(/^## (HyperV\w+)$/gm)].map((m) => m[1]).sort()).toEqual(rules.map((rule) => rule.alert).sort());
    const bases = [PROMETHEUS_CONFIG, PROBE_CONFIG].map(
      (file) => (parseYaml(readFileSync(file, 'utf8')) as { global: { external_labels?: Record<string, string> } }).global.external_labels?.['runbook_base_url'],
    );
    expect(bases[0]).toEqual(expect.stringMatching(/^(file|https?):\/\/\S+\/alerts\.md$/));
    expect(bases[1]).toBe(bases[0]);
    // docs/alerts.md says what the default is and how to change it.
    expect(page).toContain(String(bases[0]));
    expect(page).toContain('runbook_base_url');
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

  // Each mutation removes one safeguard the issues ask for; the unit tests must notice every one.
  // `original` must occur exactly once in alerts.yml, so that the mutation is the one described.
  const heartbeatLostTail =
    '              and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n' +
    '              and on (job, instance, vm_id) (hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n' +
    '            )\n' +
    '            unless on (job, instance, vm_id) (hyperv_vm_migrating == 1)\n' +
    '          )\n' +
    '\n' +
    '      # The latch:';
  const lostSummaryLookup = `${NOW_HOST_LOOKUP}\n            ${LATCHED_HOST_LOOKUP}\n            Heartbeat lost: VM`;
  const latchedBefore = '(last_over_time(hyperv:vm_heartbeat_lost:latched[1d]) == 1)';
  const lostAlert = 'max by (job, vm_id, vm) (hyperv:vm_heartbeat_lost:latched == 1)';
  type Mutation = readonly [what: string, original: string, replacement: string];
  /** The mutations, each with the unit-test file of prometheus/tests/ that must catch it. */
  const mutationsByFile: Readonly<Record<string, readonly Mutation[]>> = {
    'heartbeat.yml': [
      ['HeartbeatLost also fires for VMs that are not running', heartbeatLostTail, heartbeatLostTail.replace('              and on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 1)\n', '')],
      [
        'HeartbeatLost also fires when the heartbeat is disabled',
        heartbeatLostTail,
        heartbeatLostTail.replace('              and on (job, instance, vm_id) (hyperv_vm_integration_component_enabled{component="heartbeat"} == 1)\n', ''),
      ],
      ['HeartbeatLost treats no_contact (just started) as lost', 'status=~"lost_communication|error|non_recoverable_error"', 'status=~"lost_communication|error|non_recoverable_error|no_contact"'],
      [
        'HeartbeatNoContact ignores uptime',
        'hyperv_vm_uptime_seconds > 600\n              and on (job, instance, vm_id) (hyperv_vm_heartbeat_status{status="no_contact"} == 1)',
        'hyperv_vm_uptime_seconds >= 0\n              and on (job, instance, vm_id) (hyperv_vm_heartbeat_status{status="no_contact"} == 1)',
      ],
    ],
    'components.yml': [
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
    ],
    'exporter.yml': [
      ['ExporterDown fires for any job', 'up{job="hyperv-ic"} == 0', 'up == 0'],
      ['SamplingFailing also judges the exporter\'s host-labelled copy (pages twice per host)', 'hyperv_up{host=""} == 0', 'hyperv_up == 0'],
      ['DataStale also judges the exporter\'s host-labelled copy', 'expr: time() - hyperv_sample_timestamp_seconds{host=""} > 300', 'expr: time() - hyperv_sample_timestamp_seconds > 300'],
      ['ExporterDown also judges the /probe targets (pages once per host)', 'up{job="hyperv-ic"} == 0', 'up{job=~"hyperv-ic|hyperv-ic-probe"} == 0'],
    ],
    // Migration: a migrating copy is not judged, the alert is the VM's (no instance), the
    // annotations name the host the VM runs on now.
    'migration.yml': [
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
      ['HeartbeatLost is keyed by the host (two alerts for one VM; a migration restarts the `for`)', lostAlert, lostAlert.replace('(job, vm_id, vm)', '(job, instance, vm_id, vm)')],
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


    ],
    // The latch: a page that has fired stays until a fresh sample clears it, and only then.
    'latched.yml': [
      [
        'the latch is kept only while its host serves a sample (a page resolves when sampling fails past max-age, or the exporter dies)',
        `${latchedBefore}\n                unless on (job, instance) hyperv_host_info`,
        `${latchedBefore}\n                and on (job, instance) hyperv_host_info`,
      ],
      ['HeartbeatLost pages on the data of the moment instead of the latch', lostAlert, 'max by (job, vm_id, vm) (hyperv:vm_heartbeat_lost == 1)'],
      ['a fresh OK heartbeat does not clear the latch', '            unless on (job, instance, vm_id) (hyperv_vm_heartbeat_status{status=~"ok|degraded"} == 1)\n', ''],
      ['no_contact (a guest still booting after a reset) clears the latch', 'status=~"ok|degraded"} == 1)', 'status=~"ok|degraded|no_contact"} == 1)'],
      ['a VM that is no longer running does not clear the latch', '            unless on (job, instance, vm_id) (hyperv_vm_state{state="running"} == 0)\n', ''],
      ['a disabled heartbeat service does not clear the latch', '            unless on (job, instance, vm_id) (hyperv_vm_integration_component_enabled{component="heartbeat"} == 0)\n', ''],
      ['a VM gone from its host\'s sample does not clear the latch', `${latchedBefore}\n                and on (job, instance, vm_id) hyperv_vm_info\n`, `${latchedBefore}\n`],
      [
        'a VM on another host does not clear the latch',
        '            unless on (job, vm_id) (\n              hyperv_vm_info\n',
        '            unless on (job, vm_id) (\n              hyperv_vm_info{job="never"}\n',
      ],
      ['the cleared latch writes no 0 (the day-long look back finds the 1 before it again)', `or\n          ${latchedBefore} * 0`, `or\n          ${latchedBefore} * 0 > 0`],

    // The host page: for hosts only, when scrapes fail or the data ages out, naming the VMs.
      [
        'HostNotSampled also pages for a target that never served a host (the exporter\'s own /metrics behind /probe)',
        'time() - (hyperv:host_info:remembered > 0)\n',
        'time() - (hyperv:host_info:remembered > 0 or on (job, instance) (up * 0 + 1))\n',
      ],
      ['HostNotSampled ignores failing scrapes (the exporter is gone)', '              (up unless on (job, instance) hyperv_host_info)\n            or\n', ''],
      ['HostNotSampled ignores data older than 5 minutes', '            or\n              (time() - hyperv_sample_timestamp_seconds{host=""} > 300)\n', ''],
      [
        'the host is forgotten as soon as it serves no sample',
        '(last_over_time(hyperv:host_info:remembered[1d]) > 0)\n            unless on (job, instance) hyperv_host_info',
        '(last_over_time(hyperv:host_info:remembered[1d]) > 0)\n            and on (job, instance) hyperv_host_info',
      ],
      [
        'the host is forgotten while a restarted Prometheus has not scraped it yet',
        '            unless on (job, instance) (\n              (time() - last_over_time(hyperv:host_info:remembered[1d]) > 7 * 86400)\n              unless on (job, instance) up\n            )\n',
        '            and on (job, instance) up\n',
      ],
      [
        'the VMs of a host are forgotten after the first minutes without a sample (not carried)',
        '              (last_over_time(hyperv:vm_running:remembered[1d]) == 1)\n            or\n',
        '              (last_over_time(hyperv:vm_running:remembered[1d]) == 1) * 0\n            or\n',
      ],
      [
        'HostNotSampled names VMs that were not running',
        'max by (job, instance, vm_id, vm) (last_over_time(hyperv_vm_state{state="running"}[10m])) == 1',
        'max by (job, instance, vm_id, vm) (last_over_time(hyperv_vm_state{state="running"}[10m])) * 0 + 1',
      ],
      [
        'HostNotSampled names VMs that moved to another host before it went dark',
        '                  >= on (job, instance) group_left ()\n',
        '                  >= on (job, instance) group_left () 0 *\n',
      ],
      [
        'the VMs of a host are still remembered after it is sampled again',
        '          unless on (job, instance) hyperv_host_info\n          and on (job, instance) (hyperv:host_info:remembered > 0)\n',
        '          and on (job, instance) (hyperv:host_info:remembered > 0)\n',
      ],
      ['the runbook link ignores runbook_base_url', "'{{ with $externalLabels.runbook_base_url }}{{ . }}{{ else }}docs/alerts.md{{ end }}#hypervexporterdown'", "'docs/alerts.md#hypervexporterdown'"],
    ],
  };
  const mutations: ReadonlyArray<readonly [...Mutation, string]> = Object.entries(mutationsByFile).flatMap(([file, list]) => list.map((m) => [...m, file] as const));

  // Each mutant is a directory of its own (the mutated alerts.yml beside a copy of the unit-test file
  // that must catch it) and is caught when that file fails. Starting promtool costs more than most
  // unit-test files take to run, and promtool takes many files in one run and reports on each: one
  // `promtool check rules` checks every mutant, and two `promtool test rules` runs (the machines have
  // 2 cores) share the mutants' unit-test files.
  test('the unit tests fail for every mutation', async () => {
    const rulesText = readFileSync(RULES_FILE, 'utf8');
    const survivors: string[] = [];
    const problems: string[] = [];
    const root = mkdtempSync(path.join(os.tmpdir(), 'hyperv-rules-mutants-'));
    try {
      const mutants: Array<{ readonly what: string; readonly rules: string; readonly tests: string; readonly size: number }> = [];
      for (const [index, [what, original, replacement, file]] of mutations.entries()) {
        if (rulesText.split(original).length - 1 !== 1) {
          problems.push(`${what}: the original text occurs ${rulesText.split(original).length - 1} times in alerts.yml`);
          continue;
        }
        if (replacement === original) {
          problems.push(`${what}: the replacement is the original`);
          continue;
        }
        const directory = path.join(root, `mutant-${index}`);
        mkdirSync(path.join(directory, 'tests'), { recursive: true });
        writeFileSync(path.join(directory, 'alerts.yml'), rulesText.replace(original, replacement));
        const tests = path.join(directory, 'tests', file);
        cpSync(path.join(RULE_TESTS_DIRECTORY, file), tests);
        mutants.push({ what, rules: path.join(directory, 'alerts.yml'), tests, size: statSync(tests).size });
      }

      // Still valid rules: only the unit tests can catch it.
      const checking = runCommandCombinedAsync(promtool, ['check', 'rules', ...mutants.map((m) => m.rules)], { timeoutMs: 60_000 }).then((check) => {
        const checks = reportsByFile(check.output, /^Checking (.+)$/, mutants.map((m) => m.rules));
        const invalid = mutants.filter((m) => !/SUCCESS: \d+ rules found/.test(checks.get(m.rules) ?? '') || /FAILED/.test(checks.get(m.rules) ?? ''));
        for (const m of invalid) problems.push(`${m.what}: the mutant is not valid: ${checks.get(m.rules) ?? `promtool check rules did not report on it:\n${check.output}`}`);
        if ((check.status !== 0) !== (invalid.length > 0)) problems.push(`promtool check rules exited with ${String(check.status)}:\n${check.output}`);
      });

      // Two runs of about the same work (a file's run time follows its size): largest first, each to the lighter run.
      const runs: Array<typeof mutants> = [[], []];
      const sizes = [0, 0];
      for (const mutant of [...mutants].sort((a, b) => b.size - a.size)) {
        const lighter = (sizes[0] ?? 0) <= (sizes[1] ?? 0) ? 0 : 1;
        runs[lighter]?.push(mutant);
        sizes[lighter] = (sizes[lighter] ?? 0) + mutant.size;
      }
      await Promise.all(
        runs
          .filter((run) => run.length > 0)
          .map(async (run) => {
            const result = await runCommandCombinedAsync(promtool, ['test', 'rules', ...run.map((m) => m.tests)], { timeoutMs: 90_000 });
            const reports = reportsByFile(result.output, /^Unit Testing:\s+(.+)$/, run.map((m) => m.tests));
            for (const mutant of run) {
              const report = reports.get(mutant.tests);
              if (report === undefined) problems.push(`${mutant.what}: promtool test rules did not report on ${mutant.tests} (exit ${String(result.status)}):\n${result.output.slice(-3000)}`);
              else if (!/FAILED/.test(report)) survivors.push(mutant.what);
            }
            // promtool fails a run exactly when one of its files fails (here: every one should).
            const failed = run.some((m) => /FAILED/.test(reports.get(m.tests) ?? ''));
            if ((result.status !== 0) !== failed) problems.push(`promtool test rules exited with ${String(result.status)} although ${failed ? 'a file' : 'no file'} failed:\n${result.output.slice(-3000)}`);
          }),
      );
      await checking;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    expect({ problems, survivors }).toEqual({ problems: [], survivors: [] });
    expect(mutations.length).toBeGreaterThanOrEqual(37);
  }, 120_000);

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
