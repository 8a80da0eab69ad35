/**
 * The dashboard held to Grafana's dashboard linter (github.com/grafana/dashboard-linter, lint/rules.go):
 * every rule that applies to a Prometheus dashboard finds nothing, and each of them finds the fault in
 * a copy broken for it, so no rule passes by doing nothing. The rules are written out in
 * support/dashboardLint.ts; their PromQL is parsed by support/promqlParser.ts, which promtool checks
 * here against Prometheus' own parser for every query of the dashboard. Beyond the linter: every
 * numeric column of a table has a unit (or value mappings that turn its numbers into text), and the
 * sample failures are a rate, not a count that changes with the time range shown.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { allPanels, expandVariables, LINT_RULES, panelUnitsRule, VALID_UNITS, type LintDashboard, type LintOverride, type LintPanel } from './support/dashboardLint';
import { loadDashboard } from './support/dashboard';
import { parsePromQL, PromQLSyntaxError, vectorSelectors } from './support/promqlParser';
import { describeResult, describeWithTools, runCommand, toolPath } from './support/tools';

type Mutable = { -readonly [K in string]: any };

const shipped = loadDashboard() as LintDashboard;

/** A deep copy of the dashboard, changed by `change`. */
function broken(change: (d: Mutable) => void): LintDashboard {
  const copy = JSON.parse(JSON.stringify(shipped)) as Mutable;
  change(copy);
  return copy as LintDashboard;
}

function panelOf(d: Mutable, title: string): Mutable {
  const panel = allPanels(d as LintDashboard).find((p) => p.title === title) as Mutable | undefined;
  if (panel === undefined) throw new Error(`no panel ${title}`);
  return panel;
}

function variableOf(d: Mutable, name: string): Mutable {
  return (d['templating'].list as Mutable[]).find((v) => v['name'] === name) as Mutable;
}

/** For each rule, a copy of the dashboard with exactly the fault the rule is there to find. */
const BREAKS: Readonly<Record<string, (d: Mutable) => void>> = {
  'template-datasource-rule': (d) => (variableOf(d, 'datasource')['name'] = 'ds'),
  'template-job-rule': (d) => (variableOf(d, 'job')['allValue'] = '.*'),
  'template-instance-rule': (d) => (variableOf(d, 'instance')['multi'] = false),
  'template-label-promql-rule': (d) => (variableOf(d, 'instance')['query'] = 'label_values(hyperv_host_info{job=~"$job", , instance)'),
  'template-on-time-change-reload-rule': (d) => (variableOf(d, 'vm')['refresh'] = 1),
  'panel-datasource-rule': (d) => (panelOf(d, 'Backups')['datasource'] = { type: 'prometheus', uid: 'prometheus' }),
  'panel-title-description-rule': (d) => delete panelOf(d, 'VMs running')['description'],
  'panel-units-rule': (d) => delete panelOf(d, 'Age of last sample')['fieldConfig'].defaults.unit,
  'panel-no-targets-rule': (d) => delete panelOf(d, 'Sample duration')['targets'],
  'target-promql-rule': (d) => (panelOf(d, 'Time sync disabled')['targets'][0].expr = 'count(hyperv_vm_time_sync_enabled{job=~"$job", instance=~"$instance"} == ) or vector(0)'),
  'target-rate-interval-rule': (d) => {
    const target = panelOf(d, 'Sample failures by reason')['targets'][0];
    target.expr = String(target.expr).replace('[$__rate_interval]', '[5m]');
  },
  // The `and on` side of a join: the linter looks at every selector, not just the first.
  'target-job-rule': (d) => {
    const target = panelOf(d, 'Heartbeat no contact')['targets'][0];
    target.expr = String(target.expr).replace('hyperv_vm_state{state="running", job=~"$job", instance=~"$instance"}', 'hyperv_vm_state{state="running", instance=~"$instance"}');
  },
  'target-instance-rule': (d) => {
    const target = panelOf(d, 'Heartbeat lost')['targets'][0];
    target.expr = String(target.expr).replace('hyperv_vm_migrating{job=~"$job", instance=~"$instance"}', 'hyperv_vm_migrating{job=~"$job"}');
  },
  'target-counter-agg-rule': (d) => {
    const target = panelOf(d, 'Dropped instances and KVP items')['targets'][0];
    target.expr = 'sum by (job, instance, reason) (hyperv_sample_dropped_total{host="", job=~"$job", instance=~"$instance"})';
  },
  'uneditable-dashboard': (d) => (d['editable'] = true),
};

describe('grafana/dashboards/hyperv-ic.json and the rules of Grafana\'s dashboard linter', () => {
  test('every rule the linter runs on a Prometheus dashboard is held here (the LogQL ones do not apply)', () => {
    // lint/rules.go, NewRuleSet: all of them, less target-logql-rule and target-logql-auto-rule.
    expect(Object.keys(LINT_RULES).sort()).toEqual(
      [
        'template-datasource-rule', 'template-job-rule', 'template-instance-rule', 'template-label-promql-rule', 'template-on-time-change-reload-rule',
        'panel-datasource-rule', 'panel-title-description-rule', 'panel-units-rule', 'panel-no-targets-rule', 'target-promql-rule',
        'target-rate-interval-rule', 'target-job-rule', 'target-instance-rule', 'target-counter-agg-rule', 'uneditable-dashboard',
      ].sort(),
    );
    expect(Object.keys(BREAKS).sort()).toEqual(Object.keys(LINT_RULES).sort());
  });

  test.each(Object.keys(LINT_RULES))('%s: nothing to report (errors and warnings)', (name) => {
    expect((LINT_RULES[name] as (d: LintDashboard) => string[])(shipped)).toEqual([]);
  });

  test.each(Object.keys(BREAKS))('%s: finds the fault in a copy broken for it', (name) => {
    const rule = LINT_RULES[name] as (d: LintDashboard) => string[];
    const findings = rule(broken(BREAKS[name] as (d: Mutable) => void));
    expect(findings.length).toBeGreaterThan(0);
  });

  test('every selector, on both sides of every join, is filtered by job=~"$job" and instance=~"$instance"', () => {
    let selectors = 0;
    for (const panel of allPanels(shipped)) {
      for (const target of panel.targets ?? []) {
        for (const selector of vectorSelectors(parsePromQL(String(target.expr)))) {
          selectors++;
          const has = (name: string): boolean => selector.matchers.some((m) => m.name === name && m.type === '=~' && m.value === `$${name}`);
          expect({ panel: panel.title, selector: selector.name, job: has('job'), instance: has('instance') }).toEqual({ panel: panel.title, selector: selector.name, job: true, instance: true });
        }
      }
    }
    expect(selectors).toBeGreaterThanOrEqual(70);
  });

  test('panel-units-rule as the linter codes it excuses a panel whose mappings are `[]`; held here as the rule says', () => {
    const withoutUnit = broken(BREAKS['panel-units-rule'] as (d: Mutable) => void);
    expect(panelUnitsRule(withoutUnit, { strict: false })).toEqual([]);
    expect(panelUnitsRule(withoutUnit, { strict: true })).toEqual(["panel 'Age of last sample' has no or invalid units defined: ''"]);
  });
});

/** The fields of a table panel that carry numbers, by the name the table shows. */
function numericColumns(panel: LintPanel): string[] {
  const transformations = panel.transformations ?? [];
  if (transformations.some((t) => t.id === 'groupingToMatrix')) return ['(every cell of the matrix)'];
  const organize = transformations.find((t) => t.id === 'organize')?.options as { excludeByName?: Record<string, boolean>; renameByName?: Record<string, string> } | undefined;
  const targets = panel.targets ?? [];
  const values = targets.length === 1 ? ['Value'] : targets.map((t) => `Value #${String(t.refId)}`);
  return values.filter((field) => organize?.excludeByName?.[field] !== true).map((field) => organize?.renameByName?.[field] ?? field);
}

/** Whether a column shows its numbers with a unit, or turns them into text with value mappings. */
function columnHasUnit(panel: LintPanel, column: string): boolean {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const byText = (mappings: unknown): boolean => Array.isArray(mappings) && mappings.some((m: { type?: unknown }) => m.type === 'value' || m.type === 'range');
  const properties = (panel.fieldConfig?.overrides ?? [])
    .filter((o: LintOverride) => o.matcher?.id === 'byName' && o.matcher.options === column)
    .flatMap((o) => o.properties ?? []);
  if (properties.some((p) => (p.id === 'unit' && VALID_UNITS.has(String(p.value))) || (p.id === 'mappings' && byText(p.value)))) return true;
  return VALID_UNITS.has(String(defaults.unit ?? '')) || byText(defaults.mappings);
}

describe('numbers the dashboard shows', () => {
  const tables = allPanels(shipped).filter((p) => p.type === 'table');

  test('every table column that carries numbers has a unit, or value mappings that show its numbers as text', () => {
    let columns = 0;
    for (const panel of tables) {
      for (const column of numericColumns(panel)) {
        columns++;
        expect({ table: panel.title, column, unit: columnHasUnit(panel, column) }).toEqual({ table: panel.title, column, unit: true });
      }
    }
    expect(columns).toBeGreaterThanOrEqual(9);
  });

  test('the check finds a numeric column without a unit', () => {
    const copy = broken((d) => {
      const timing = panelOf(d, 'Heartbeat timing');
      timing['fieldConfig'].overrides = (timing['fieldConfig'].overrides as Mutable[]).filter((o) => o['matcher'].options !== 'Threshold');
    });
    const timing = allPanels(copy).find((p) => p.title === 'Heartbeat timing') as LintPanel;
    expect(numericColumns(timing)).toEqual(['Interval', 'Latency', 'Threshold', 'Lost after']);
    expect(numericColumns(timing).filter((c) => !columnHasUnit(timing, c))).toEqual(['Threshold']);
  });

  /** A panel whose numbers are per unit of time: rate() over $__rate_interval, scaled, with a rate unit. */
  function perMinute(panel: LintPanel): boolean {
    const [target, ...more] = panel.targets ?? [];
    const expr = String(target?.expr ?? '');
    return more.length === 0 && /^sum by \([^)]*\) \(rate\([a-z_]+_total\{[^}]*\}\[\$__rate_interval\]\)\) \* 60$/.test(expr) && panel.fieldConfig?.defaults?.unit === 'cpm';
  }

  test('"Sample failures by reason" and "Dropped instances and KVP items" are per minute, the same at every zoom', () => {
    // increase(…[$__rate_interval]) is a count over a window that grows as one zooms out; a rate is not.
    for (const title of ['Sample failures by reason', 'Dropped instances and KVP items']) {
      const panel = allPanels(shipped).find((p) => p.title === title) as LintPanel;
      expect({ title, perMinute: perMinute(panel) }).toEqual({ title, perMinute: true });
      expect(String(panel.description)).toContain('per minute');
    }
    const zoomed = broken((d) => {
      const target = panelOf(d, 'Sample failures by reason')['targets'][0];
      target.expr = 'sum by (job, instance, reason) (increase(hyperv_sample_failures_total{host="", job=~"$job", instance=~"$instance"}[$__rate_interval]))';
    });
    expect(perMinute(allPanels(zoomed).find((p) => p.title === 'Sample failures by reason') as LintPanel)).toBe(false);
  });
});

describe('the PromQL parser of these tests', () => {
  test('rejects what Prometheus rejects in the dashboard\'s kind of queries', () => {
    for (const bad of ['sum(x', 'x{a="1"', 'rate(x[5m)', 'x == ', 'foo(x)', 'x{a=~"("}', 'x and 1', '{a=""}', 'x[5m][5m]', 'sum by (a) x', 'rate(x[5m]) offset 1h']) {
      expect({ bad, error: (() => { try { parsePromQL(bad); return 'accepted'; } catch (e) { return e instanceof PromQLSyntaxError ? 'rejected' : String(e); } })() }).toEqual({ bad, error: 'rejected' });
    }
  });
});

describeWithTools(['promtool'], 'the dashboard\'s queries, checked by Prometheus\' own parser', () => {
  test('promtool accepts every query (variables expanded as the linter expands them) that the tests\' parser accepts', () => {
    const queries = allPanels(shipped).flatMap((p) => (p.targets ?? []).map((t) => expandVariables(String(t.expr), shipped.templating?.list ?? [])));
    for (const query of queries) parsePromQL(query);
    const directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-dashboard-queries-'));
    try {
      const file = path.join(directory, 'queries.yml');
      writeFileSync(file, stringifyYaml({ groups: [{ name: 'dashboard', rules: queries.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
      const result = runCommand(toolPath('promtool'), ['check', 'rules', file]);
      expect({ status: result.status, output: describeResult(result) }).toEqual({ status: 0, output: expect.any(String) });
      expect(result.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
