/**
 * The Grafana dashboard and provisioning files, read as data: importable shape (uid, __inputs,
 * variables), every panel queries only documented metrics through the data-source variable, the
 * layout does not overlap, and every status code a query produces has a colour mapping.
 * (Running the queries against a real Prometheus is in endToEnd.test.ts.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EXPORTER_METRICS, HEARTBEAT_STATUSES, SECONDARY_STATUSES, VM_STATES } from './support/contract';
import { contentPanels, DEFAULT_BACKUP_DAYS, loadDashboard, parseLabelValues, readDashboardText, variable, variableQuery, type DashboardPanel } from './support/dashboard';
import { grafanaVariables, metricNames } from './support/promql';
import { REPOSITORY_ROOT } from './support/tools';

const dashboard = loadDashboard();
const panels = contentPanels(dashboard);
const DATASOURCE_REF = { type: 'prometheus', uid: '${datasource}' };

function expressions(panel: DashboardPanel): string[] {
  return (panel.targets ?? []).map((target) => String(target.expr ?? ''));
}

function panelByTitle(title: string): DashboardPanel {
  const panel = panels.find((p) => p.title === title);
  if (panel === undefined) throw new Error(`no panel titled ${title}`);
  return panel;
}

/** The value-mapping keys of a field config's value mappings. */
function mappedValues(mappings: unknown): Set<string> {
  const keys = new Set<string>();
  for (const mapping of (mappings as Array<{ type?: string; options?: Record<string, unknown> }> | undefined) ?? []) {
    if (mapping.type === 'value') for (const value of Object.keys(mapping.options ?? {})) keys.add(value);
  }
  return keys;
}

/** The codes an "or"-chain query assigns: `{status="x", …} * N` → x → N. */
function codesByLabelValue(expression: string, label: string): Map<string, number> {
  const codes = new Map<string, number>();
  for (const match of expression.matchAll(new RegExp(`\\{${label}="([a-z_]+)"[^}]*\\}\\s*\\*\\s*(\\d+)`, 'g'))) {
    if (match[1] !== undefined && match[2] !== undefined) codes.set(match[1], Number(match[2]));
  }
  return codes;
}

describe('dashboard grafana/dashboards/hyperv-ic.json', () => {
  test('has a stable uid, a title and a Grafana 10+ schema version', () => {
    expect(dashboard.uid).toBe('hyperv-ic');
    expect(dashboard.title).toEqual(expect.stringMatching(/\S/));
    expect(typeof dashboard.schemaVersion === 'number' && dashboard.schemaVersion >= 36).toBe(true);
  });

  test('declares the Prometheus data source in __inputs and uses exactly the placeholders it declares', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const placeholders = new Set([...readDashboardText().matchAll(/\$\{(DS_[A-Z0-9_]+)\}/g)].map((m) => m[1]));
    expect([...placeholders]).toEqual(['DS_PROMETHEUS']);
  });

  test('lists Grafana, Prometheus and every panel type it uses in __requires', () => {
    const required = new Set((dashboard.__requires ?? []).map((r) => `${String(r.type)}:${String(r.id)}`));
    expect(required.has('grafana:grafana')).toBe(true);
    expect(required.has('datasource:prometheus')).toBe(true);
    for (const type of new Set(panels.map((p) => String(p.type)))) expect({ type, required: required.has(`panel:${type}`) }).toEqual({ type, required: true });
  });

  test('has a data-source variable and job / instance / vm variables fed by label_values', () => {
    const datasource = variable(dashboard, 'datasource');
    expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus', label: 'Data source' });
    // A manual import fills in the value; a provisioned copy falls back to matching the text.
    expect(datasource?.current).toMatchObject({ value: '${DS_PROMETHEUS}', text: 'Prometheus' });

    // Job: hyperv-ic (each exporter's /metrics) and, behind /probe, hyperv-ic-probe. All = `.+`
    // (dashboard-linter's template-job-rule), so a selector matches every series that has the label.
    const job = variable(dashboard, 'job');
    expect(job).toMatchObject({ type: 'query', label: 'Job', datasource: DATASOURCE_REF, multi: true, includeAll: true, allValue: '.+', refresh: 2 });
    expect(parseLabelValues(variableQuery(job ?? {}))).toEqual({ selector: 'hyperv_up', label: 'job' });

    // Instance: the host's target, an exporter's address with one exporter per host, a /probe target name with many.
    const instance = variable(dashboard, 'instance');
    expect(instance).toMatchObject({ type: 'query', label: 'Instance', datasource: DATASOURCE_REF, multi: true, includeAll: true, allValue: '.+', refresh: 2 });
    expect(parseLabelValues(variableQuery(instance ?? {}))).toEqual({ selector: 'hyperv_host_info{job=~"$job"}', label: 'instance' });

    const vm = variable(dashboard, 'vm');
    expect(vm).toMatchObject({ type: 'query', datasource: DATASOURCE_REF, multi: true, includeAll: true, allValue: '.*', refresh: 2 });
    expect(parseLabelValues(variableQuery(vm ?? {}))).toEqual({ selector: 'hyperv_vm_info{job=~"$job", instance=~"$instance"}', label: 'vm' });
    // Without an explicit "All", Grafana would start with only the first job, exporter or VM selected.
    for (const v of [job, instance, vm]) expect(v?.current).toMatchObject({ value: ['$__all'] });
    expect(dashboard.templating?.list?.map((v) => v.name)).toEqual(['datasource', 'job', 'instance', 'vm', 'backup_days', 'runbook_base_url']);
  });

  test('is not editable (it is provisioned from this file), and its runbook link is set in one hidden variable', () => {
    expect(dashboard.editable).toBe(false);
    const base = variable(dashboard, 'runbook_base_url');
    expect(base).toMatchObject({ type: 'textbox', hide: 2 });
    // The same default as the external label runbook_base_url of the shipped Prometheus configurations.
    const prometheus = parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'prometheus/prometheus.yml'), 'utf8')) as { global: { external_labels: Record<string, string> } };
    expect(base?.query).toBe(prometheus.global.external_labels['runbook_base_url']);
    expect(base?.current).toMatchObject({ value: base?.query });
    expect(dashboard.links).toEqual([expect.objectContaining({ title: 'Alert runbooks', type: 'link', url: '${runbook_base_url}' })]);
  });

  test('has a backup_days variable for the Backups panel, 7 days by default, offering only whole numbers', () => {
    const days = variable(dashboard, 'backup_days') as (ReturnType<typeof variable> & { options?: Array<{ value: string; selected: boolean }> }) | undefined;
    expect(days).toMatchObject({ type: 'custom', multi: false, includeAll: false, current: { value: String(DEFAULT_BACKUP_DAYS) } });
    const values = String(days?.query).split(',');
    expect(values).toContain(String(DEFAULT_BACKUP_DAYS));
    for (const value of values) expect(value).toMatch(/^[1-9]\d*$/);
    expect(days?.options?.map((o) => o.value)).toEqual(values);
    expect(days?.options?.filter((o) => o.selected).map((o) => o.value)).toEqual([String(DEFAULT_BACKUP_DAYS)]);
  });

  test('every panel has a unique id, queries through the data-source variable and has at least one query', () => {
    const ids = (dashboard.panels ?? []).flatMap((p) => [p.id, ...(p.panels ?? []).map((inner) => inner.id)]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const title = String(panel.title);
      expect({ title, datasource: panel.datasource }).toEqual({ title, datasource: DATASOURCE_REF });
      expect({ title, targets: (panel.targets ?? []).length > 0 }).toEqual({ title, targets: true });
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect({ title, uniqueRefIds: new Set(refIds).size === refIds.length }).toEqual({ title, uniqueRefIds: true });
      for (const target of panel.targets ?? []) {
        expect({ title, datasource: target.datasource }).toEqual({ title, datasource: DATASOURCE_REF });
        expect({ title, expr: typeof target.expr === 'string' && target.expr.trim() !== '' }).toEqual({ title, expr: true });
      }
    }
  });

  test('every query uses only documented metrics (or the recording rules of alerts.yml) and known variables', () => {
    const allowedVariables = new Set(['job', 'instance', 'vm', 'backup_days', '__rate_interval', '__interval', '__range']);
    const queries = [
      ...panels.flatMap((panel) => expressions(panel).map((expr) => ({ where: String(panel.title), expr }))),
      ...['job', 'instance', 'vm'].map((name) => ({ where: `variable ${name}`, expr: variableQuery(variable(dashboard, name) ?? {}).replace(/^label_values\((.*),\s*\w+\)$/, '$1') })),
    ];
    const recorded = new Set(
      (parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ record?: string }> }> }).groups
        .flatMap((g) => g.rules)
        .flatMap((r) => (r.record === undefined ? [] : [r.record])),
    );
    for (const { where, expr } of queries) {
      const names = metricNames(expr);
      expect({ where, names: names.size > 0 }).toEqual({ where, names: true });
      for (const name of names) expect({ where, metric: name, known: EXPORTER_METRICS.has(name) || recorded.has(name) }).toEqual({ where, metric: name, known: true });
      for (const v of grafanaVariables(expr)) expect({ where, variable: v, known: allowedVariables.has(v) }).toEqual({ where, variable: v, known: true });
    }
  });

  test('a panel that reads a recording rule still works without it ("Heartbeat lost" falls back to the raw condition)', () => {
    const [lost] = expressions(panelByTitle('Heartbeat lost'));
    expect(lost).toContain('hyperv:vm_heartbeat_lost:latched{');
    expect(lost).toMatch(/== 1\n\s+or\n\s+\(\n\s+hyperv_vm_heartbeat_status\{status=~"lost_communication\|error\|non_recoverable_error"/);
    const [sampling] = expressions(panelByTitle('Sampling'));
    expect(sampling).toMatch(/^hyperv_up\{[^}]*\}\nor on \(job, instance\)\n/);
    expect(mappedValues(panelByTitle('Sampling').fieldConfig?.defaults?.['mappings'])).toEqual(new Set(['-1', '0', '1']));
  });

  test('covers what the issue asks for', () => {
    const typeOf = (title: string): unknown => panelByTitle(title).type;
    for (const title of ['VMs running', 'Heartbeat lost', 'Components unhealthy', 'Time sync disabled']) expect({ title, type: typeOf(title) }).toEqual({ title, type: 'stat' });
    expect(typeOf('Heartbeat per VM')).toBe('state-timeline');
    const matrix = panelByTitle('Integration components per VM');
    expect(matrix.type).toBe('table');
    expect(matrix.transformations?.[0]).toMatchObject({ id: 'groupingToMatrix', options: { columnField: 'component' } });
    expect(matrix.fieldConfig?.defaults?.['custom']).toMatchObject({ cellOptions: { type: 'color-background' } });
    const used = new Set(panels.flatMap((panel) => expressions(panel).flatMap((expr) => [...metricNames(expr)])));
    for (const metric of [
      'hyperv_vm_integration_component_enabled', 'hyperv_vm_integration_component_status', 'hyperv_vm_kvp_items', 'hyperv_vm_guest_info',
      'hyperv_up', 'hyperv_sample_duration_seconds', 'hyperv_sample_timestamp_seconds', 'hyperv_sample_failures_total',
      'hyperv_vm_seen_since_timestamp_seconds', 'hyperv_vm_migrating', 'hyperv_vm_last_successful_backup_timestamp_seconds',
      'hyperv_vm_heartbeat_interval_seconds', 'hyperv_vm_heartbeat_latency_seconds', 'hyperv_vm_heartbeat_error_threshold', 'hyperv_vm_guest_address_info',
    ]) {
      expect({ metric, used: used.has(metric) }).toEqual({ metric, used: true });
    }
  });

  test('"Where each VM is now": one row per VM with its host and since when, migrating VMs marked', () => {
    const panel = panelByTitle('Where each VM is now');
    expect(panel.type).toBe('table');
    const [where, migrating] = expressions(panel);
    // One row per vm_id: the host where it runs and is not migrating, else where it is not migrating, else any; latest arrival first.
    expect(where).toMatch(/topk by \(vm_id\) \(1,/);
    expect(where).toContain('unless on (job, instance, vm_id) (hyperv_vm_migrating{job=~"$job", instance=~"$instance"} == 1)');
    expect(where).toContain('hyperv_vm_seen_since_timestamp_seconds');
    expect(where).toContain('"vm_short_id", "$1", "vm_id", "([0-9a-f]{8}).*"');
    expect(migrating).toMatch(/^max by \(vm_id\) \(hyperv_vm_migrating\{/);
    expect(panel.transformations?.map((t) => t.id)).toEqual(['merge', 'organize']);
    const rename = panel.transformations?.[1]?.options?.['renameByName'] as Record<string, string>;
    expect(rename).toMatchObject({ vm: 'VM', vm_short_id: 'vm_id', instance: 'Host', 'Value #A': 'Here since', 'Value #B': 'Migrating' });
    const overrides = panel.fieldConfig?.overrides as Array<{ matcher: { options: string }; properties: Array<{ id: string; value: unknown }> }>;
    expect(overrides.find((o) => o.matcher.options === 'Here since')?.properties).toContainEqual({ id: 'unit', value: 'dateTimeAsIso' });
    expect(mappedValues(overrides.find((o) => o.matcher.options === 'Migrating')?.properties.find((p) => p.id === 'mappings')?.value)).toEqual(new Set(['0', '1']));
  });

  test('"Backups": VMs backed up longer ago than $backup_days days or never, with the age and the VSS status', () => {
    const panel = panelByTitle('Backups');
    expect(panel.type).toBe('table');
    const [expr] = expressions(panel);
    expect(expr).toContain('> $backup_days * 86400');
    expect(expr).toContain('hyperv_vm_last_successful_backup_timestamp_seconds');
    expect(expr).toMatch(/== 0\) - 1/); // never → -1, shown as "Never"
    expect(expr).toContain('group_left (vss)');
    expect(expr).toContain('hyperv_vm_integration_component_status{component="vss"');
    const overrides = panel.fieldConfig?.overrides as Array<{ matcher: { options: string }; properties: Array<{ id: string; value: unknown }> }>;
    const age = overrides.find((o) => o.matcher.options === 'Last backup')?.properties;
    expect(age).toContainEqual({ id: 'unit', value: 's' });
    expect(mappedValues(age?.find((p) => p.id === 'mappings')?.value)).toEqual(new Set(['-1']));
  });

  test('heartbeat timing and guest addresses are shown per VM', () => {
    const timing = panelByTitle('Heartbeat timing');
    expect(timing.type).toBe('table');
    expect(expressions(timing).map((e) => [...metricNames(e)].sort().join(' '))).toEqual([
      'hyperv_vm_heartbeat_interval_seconds',
      'hyperv_vm_heartbeat_latency_seconds',
      'hyperv_vm_heartbeat_error_threshold',
      'hyperv_vm_heartbeat_error_threshold hyperv_vm_heartbeat_interval_seconds hyperv_vm_heartbeat_latency_seconds',
    ]);
    // The guest table carries one address per VM (IPv4 preferred) and keeps VMs without one.
    const [guest] = expressions(panelByTitle('Guest operating system'));
    expect(guest).toContain('group_left (address)');
    expect(guest).toMatch(/or on \(job, instance, vm_id\)\n\s+hyperv_vm_guest_info/);
    expect(panelByTitle('Guest operating system').transformations?.[0]?.options?.['renameByName']).toMatchObject({ address: 'Address' });
    expect(expressions(panelByTitle('Guest addresses'))).toEqual(['hyperv_vm_guest_address_info{job=~"$job", instance=~"$instance", vm=~"$vm"}']);
  });

  test('the per-host sampling metrics are read once per host in both layouts (host="", not the exporter\'s host-labelled copy)', () => {
    const sampling = ['hyperv_up', 'hyperv_sample_duration_seconds', 'hyperv_sample_timestamp_seconds', 'hyperv_sample_failures_total', 'hyperv_sample_dropped_total'];
    let seen = 0;
    for (const panel of panels) {
      for (const expr of expressions(panel)) {
        for (const metric of sampling) {
          for (const match of expr.matchAll(new RegExp(`${metric}(\\{[^}]*\\})?`, 'g'))) {
            seen += 1;
            expect({ title: panel.title, selector: match[0], oneCopy: (match[1] ?? '').includes('host=""') }).toEqual({ title: panel.title, selector: match[0], oneCopy: true });
          }
        }
      }
    }
    expect(seen).toBeGreaterThanOrEqual(sampling.length);
  });

  test('panels fit the 24-column grid without overlapping', () => {
    const boxes = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => {
      const { x, y, w, h } = p.gridPos ?? {};
      if (![x, y, w, h].every((n) => typeof n === 'number')) throw new Error(`panel ${String(p.title)} has no complete gridPos`);
      return { title: String(p.title), x: x as number, y: y as number, w: w as number, h: h as number };
    });
    for (const box of boxes) expect({ title: box.title, fits: box.x >= 0 && box.w > 0 && box.x + box.w <= 24 }).toEqual({ title: box.title, fits: true });
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect({ a: a.title, b: b.title, overlap }).toEqual({ a: a.title, b: b.title, overlap: false });
      }
    }
  });

  test('the heartbeat timeline and component table give every status a code and every code a colour', () => {
    for (const title of ['Heartbeat per VM', 'Integration components per VM']) {
      const panel = panelByTitle(title);
      const expr = expressions(panel).join('\n');
      const codes = codesByLabelValue(expr, 'status');
      expect({ title, statuses: [...codes.keys()].sort() }).toEqual({ title, statuses: [...HEARTBEAT_STATUSES].sort() });
      expect({ title, distinct: new Set(codes.values()).size }).toEqual({ title, distinct: HEARTBEAT_STATUSES.length });
      const mapped = mappedValues(panel.fieldConfig?.defaults?.['mappings']);
      for (const code of [0, ...codes.values()]) expect({ title, code, mapped: mapped.has(String(code)) }).toEqual({ title, code, mapped: true });
    }
    // The table also shows disabled components (-1).
    expect(mappedValues(panelByTitle('Integration components per VM').fieldConfig?.defaults?.['mappings']).has('-1')).toBe(true);
  });

  test('the VM state timeline gives every state a code and a colour', () => {
    const panel = panelByTitle('VM state');
    const codes = codesByLabelValue(expressions(panel).join('\n'), 'state');
    expect([...codes.keys()].sort()).toEqual([...VM_STATES].sort());
    const mapped = mappedValues(panel.fieldConfig?.defaults?.['mappings']);
    for (const code of codes.values()) expect({ code, mapped: mapped.has(String(code)) }).toEqual({ code, mapped: true });
  });

  test('the secondary-status table has a colour for every status it can show', () => {
    const panel = panelByTitle('Secondary status (not ok)');
    const override = (panel.fieldConfig?.overrides as Array<{ properties: Array<{ id: string; value: unknown }> }>)[0];
    const mapped = mappedValues(override?.properties.find((p) => p.id === 'mappings')?.value);
    expect([...mapped].sort()).toEqual(SECONDARY_STATUSES.filter((s) => s !== 'ok').sort());
  });
});

describe('the metric contract of these tests', () => {
  test('lists exactly the metrics docs/metrics.md documents', () => {
    const documented = [...readFileSync(path.join(REPOSITORY_ROOT, 'docs/metrics.md'), 'utf8').matchAll(/^\| `(hyperv_[a-z_]+)` \|/gm)].map((m) => m[1]);
    expect([...EXPORTER_METRICS].sort()).toEqual([...new Set(documented)].sort());
  });
});

describe('Grafana provisioning', () => {
  test('the data source is the compose Prometheus and is the one the dashboard selects by name', () => {
    const file = parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
      apiVersion: number;
      datasources: Array<Record<string, unknown>>;
    };
    expect(file.apiVersion).toBe(1);
    expect(file.datasources).toHaveLength(1);
    expect(file.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', uid: 'prometheus', isDefault: true });
    expect(file.datasources[0]?.['name']).toBe(variable(dashboard, 'datasource')?.current?.text);
  });

  test('the dashboard provider loads the directory the compose file mounts', () => {
    const file = parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'grafana/provisioning/dashboards/hyperv-ic.yml'), 'utf8')) as {
      apiVersion: number;
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(file.apiVersion).toBe(1);
    expect(file.providers).toEqual([expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: '/var/lib/grafana/dashboards/hyperv' }) })]);
  });
});
