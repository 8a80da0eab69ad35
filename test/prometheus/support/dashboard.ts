import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPOSITORY_ROOT } from './tools';

export const DASHBOARD_FILE = path.join(REPOSITORY_ROOT, 'grafana/dashboards/hyperv-ic.json');

export interface DashboardTarget {
  readonly refId?: unknown;
  readonly expr?: unknown;
  readonly instant?: unknown;
  readonly range?: unknown;
  readonly format?: unknown;
  readonly datasource?: unknown;
  readonly legendFormat?: unknown;
}

export interface DashboardPanel {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly title?: unknown;
  readonly datasource?: unknown;
  readonly gridPos?: { x?: unknown; y?: unknown; w?: unknown; h?: unknown };
  readonly targets?: readonly DashboardTarget[];
  readonly panels?: readonly DashboardPanel[];
  readonly description?: unknown;
  readonly options?: Record<string, unknown>;
  readonly fieldConfig?: { defaults?: Record<string, unknown>; overrides?: unknown[] };
  readonly transformations?: ReadonlyArray<{ id?: unknown; options?: Record<string, unknown> }>;
}

export interface DashboardVariable {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly query?: unknown;
  readonly definition?: unknown;
  readonly datasource?: unknown;
  readonly current?: { text?: unknown; value?: unknown };
  readonly multi?: unknown;
  readonly includeAll?: unknown;
  readonly allValue?: unknown;
  readonly label?: unknown;
  readonly refresh?: unknown;
  readonly hide?: unknown;
  readonly options?: ReadonlyArray<{ readonly text?: unknown; readonly value?: unknown; readonly selected?: unknown }>;
}

export interface Dashboard {
  readonly uid?: unknown;
  readonly editable?: unknown;
  readonly links?: ReadonlyArray<{ readonly title?: unknown; readonly url?: unknown; readonly type?: unknown }>;
  readonly title?: unknown;
  readonly schemaVersion?: unknown;
  readonly __inputs?: ReadonlyArray<{ name?: unknown; type?: unknown; pluginId?: unknown }>;
  readonly __requires?: ReadonlyArray<{ type?: unknown; id?: unknown }>;
  readonly templating?: { list?: readonly DashboardVariable[] };
  readonly panels?: readonly DashboardPanel[];
}

export function readDashboardText(): string {
  return readFileSync(DASHBOARD_FILE, 'utf8');
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readDashboardText()) as Dashboard;
}

/** Every panel that is not a row, including panels inside collapsed rows. */
export function contentPanels(dashboard: Dashboard): DashboardPanel[] {
  const result: DashboardPanel[] = [];
  for (const panel of dashboard.panels ?? []) {
    if (panel.type === 'row') result.push(...(panel.panels ?? []));
    else result.push(panel);
  }
  return result;
}

export function variable(dashboard: Dashboard, name: string): DashboardVariable | undefined {
  return dashboard.templating?.list?.find((v) => v.name === name);
}

/** The query of a query variable: a string, or an object with a `query` string (newer Grafana). */
export function variableQuery(v: DashboardVariable): string {
  if (typeof v.query === 'string') return v.query;
  if (typeof v.query === 'object' && v.query !== null && typeof (v.query as { query?: unknown }).query === 'string') {
    return (v.query as { query: string }).query;
  }
  throw new Error(`variable ${String(v.name)} has no query string`);
}

/** label_values(<selector>, <label>) → its parts. */
export function parseLabelValues(query: string): { selector: string; label: string } {
  const match = /^\s*label_values\(\s*(.+?)\s*,\s*([A-Za-z_]\w*)\s*\)\s*$/.exec(query);
  if (!match?.[1] || !match[2]) throw new Error(`not a label_values(metric, label) query: ${query}`);
  return { selector: match[1], label: match[2] };
}

/** Grafana's escaping of a value used inside a =~ regex matcher of a Prometheus query. */
export function escapeForPrometheusRegex(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

/** The Backups panel's default: VMs whose last backup is older than this many days. */
export const DEFAULT_BACKUP_DAYS = 7;

/**
 * Substitutes the dashboard's variables the way Grafana would when every job ("All": `.+`) and every
 * VM of one host (the `instance` value: an exporter's address, or a /probe target name; `.+` (or `.*`)
 * for "All", unescaped as Grafana's allValue is) are selected, plus the built-in interval variables. Throws if any variable
 * is left, so a new variable cannot slip through untested.
 */
export function substituteVariables(expression: string, values: { instance: string; backupDays?: number }): string {
  const substituted = expression
    .replace(/\$\{?job\}?(?!\w)/g, '.+')
    .replace(/\$\{?__rate_interval\}?/g, '1m')
    .replace(/\$\{?__interval\}?/g, '15s')
    .replace(/\$\{?__range\}?/g, '5m')
    .replace(/\$\{?instance\}?/g, values.instance === '.*' || values.instance === '.+' ? values.instance : escapeForPrometheusRegex(values.instance))
    .replace(/\$\{?backup_days\}?/g, String(values.backupDays ?? DEFAULT_BACKUP_DAYS))
    .replace(/\$\{?vm\}?/g, '.*');
  const leftover = /\$\{?[A-Za-z_]\w*/.exec(substituted);
  if (leftover) throw new Error(`unsubstituted variable ${leftover[0]} in ${expression}`);
  return substituted;
}
