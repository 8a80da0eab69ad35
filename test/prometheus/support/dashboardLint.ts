/**
 * The rules of Grafana's dashboard linter (github.com/grafana/dashboard-linter, lint/rules.go and the
 * lint/rule_*.go files it lists, read at commit 4d0844b), written out in TypeScript so that the tests
 * can hold the dashboard to them without Go. Each function is one rule, named as the linter names it,
 * and returns what the linter would report (errors and warnings alike), in its words where it has
 * them. The LogQL rules (target-logql-rule, target-logql-auto-rule) do not apply: the dashboard has
 * no Loki data source.
 *
 * Where the linter's code does less than its rule says, the rule is held as it says, and the
 * difference is noted at the function (panel-units-rule, target-counter-agg-rule).
 */
import { type Expr, parsePromQL, vectorSelectors, walk, type VectorSelector } from './promqlParser';

export interface LintVariable {
  readonly name?: unknown;
  readonly label?: unknown;
  readonly type?: unknown;
  readonly query?: unknown;
  readonly datasource?: unknown;
  readonly multi?: unknown;
  readonly allValue?: unknown;
  readonly current?: { readonly text?: unknown; readonly value?: unknown };
  readonly options?: ReadonlyArray<{ readonly text?: unknown; readonly value?: unknown }>;
  readonly refresh?: unknown;
}

export interface LintTarget {
  readonly expr?: unknown;
  readonly refId?: unknown;
  readonly hide?: unknown;
  readonly datasource?: unknown;
}

export interface LintOverride {
  readonly matcher?: { readonly id?: unknown; readonly options?: unknown };
  readonly properties?: ReadonlyArray<{ readonly id?: unknown; readonly value?: unknown }>;
}

export interface LintPanel {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly title?: unknown;
  readonly description?: unknown;
  readonly datasource?: unknown;
  readonly targets?: readonly LintTarget[];
  readonly panels?: readonly LintPanel[];
  readonly options?: { readonly reduceOptions?: { readonly fields?: unknown } } & Record<string, unknown>;
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: unknown; readonly mappings?: unknown }; readonly overrides?: readonly LintOverride[] };
  readonly transformations?: ReadonlyArray<{ readonly id?: unknown; readonly options?: Record<string, unknown> }>;
}

export interface LintDashboard {
  readonly title?: unknown;
  readonly editable?: unknown;
  readonly templating?: { readonly list?: readonly LintVariable[] };
  readonly panels?: readonly LintPanel[];
}

/** Units the linter accepts (lint/rule_panel_units.go, from grafana-data's valueFormats/categories.ts). */
export const VALID_UNITS: ReadonlySet<string> = new Set([
  'none', 'string',
  'short', 'percent', 'percentunit', 'humidity', 'dB', 'hex0x', 'hex', 'sci', 'locale', 'pixel',
  'accMS2', 'accFS2', 'accG',
  'degree', 'radian', 'grad', 'arcmin', 'arcsec',
  'areaM2', 'areaF2', 'areaMI2',
  'flops', 'mflops', 'gflops', 'tflops', 'pflops', 'eflops', 'zflops', 'yflops',
  'ppm', 'conppb', 'conngm3', 'conngNm3', 'conμgm3', 'conμgNm3', 'conmgm3', 'conmgNm3', 'congm3', 'congNm3', 'conmgdL', 'conmmolL',
  'currencyUSD', 'currencyGBP', 'currencyEUR', 'currencyJPY', 'currencyRUB', 'currencyUAH', 'currencyBRL', 'currencyDKK', 'currencyISK', 'currencyNOK',
  'currencySEK', 'currencyCZK', 'currencyCHF', 'currencyPLN', 'currencyBTC', 'currencymBTC', 'currencyμBTC', 'currencyZAR', 'currencyINR', 'currencyKRW',
  'currencyIDR', 'currencyPHP', 'currencyVND',
  'bytes', 'decbytes', 'bits', 'decbits', 'kbytes', 'deckbytes', 'mbytes', 'decmbytes', 'gbytes', 'decgbytes', 'tbytes', 'dectbytes', 'pbytes', 'decpbytes',
  'pps', 'binBps', 'Bps', 'binbps', 'bps', 'KiBs', 'Kibits', 'KBs', 'Kbits', 'MiBs', 'Mibits', 'MBs', 'Mbits', 'GiBs', 'Gibits', 'GBs', 'Gbits', 'TiBs',
  'Tibits', 'TBs', 'Tbits', 'PiBs', 'Pibits', 'PBs', 'Pbits',
  'dateTimeAsIso', 'dateTimeAsIsoNoDateIfToday', 'dateTimeAsUS', 'dateTimeAsUSNoDateIfToday', 'dateTimeAsLocal',
  'dateTimeAsLocalNoDateIfToday', 'dateTimeAsSystem', 'dateTimeFromNow',
  'watt', 'kwatt', 'megwatt', 'gwatt', 'mwatt', 'Wm2', 'voltamp', 'kvoltamp', 'voltampreact', 'kvoltampreact', 'watth', 'watthperkg', 'kwatth', 'kwattm',
  'amph', 'kamph', 'mamph', 'joule', 'ev', 'amp', 'kamp', 'mamp', 'volt', 'kvolt', 'mvolt', 'dBm', 'ohm', 'kohm', 'Mohm', 'farad', 'µfarad', 'nfarad',
  'pfarad', 'ffarad', 'henry', 'mhenry', 'µhenry', 'lumens',
  'flowgpm', 'flowcms', 'flowcfs', 'flowcfm', 'litreh', 'flowlpm', 'flowmlpm', 'lux',
  'forceNm', 'forcekNm', 'forceN', 'forcekN',
  'Hs', 'KHs', 'MHs', 'GHs', 'THs', 'PHs', 'EHs',
  'massmg', 'massg', 'masslb', 'masskg', 'masst',
  'lengthmm', 'lengthin', 'lengthft', 'lengthm', 'lengthkm', 'lengthmi',
  'pressurembar', 'pressurebar', 'pressurekbar', 'pressurepa', 'pressurehpa', 'pressurekpa', 'pressurehg', 'pressurepsi',
  'radbq', 'radci', 'radgy', 'radrad', 'radsv', 'radmsv', 'radusv', 'radrem', 'radexpckg', 'radr', 'radsvh', 'radmsvh', 'radusvh',
  'rotrpm', 'rothz', 'rotrads', 'rotdegs',
  'celsius', 'fahrenheit', 'kelvin',
  'hertz', 'ns', 'µs', 'ms', 's', 'm', 'h', 'd', 'dtdurationms', 'dtdurations', 'dthms', 'dtdhms', 'timeticks', 'clockms', 'clocks',
  'cps', 'ops', 'reqps', 'rps', 'wps', 'iops', 'cpm', 'opm', 'rpm', 'wpm', 'mps', 'mpm',
  'velocityms', 'velocitykmh', 'velocitymph', 'velocityknot',
  'mlitre', 'litre', 'm3', 'Nm3', 'dm3', 'gallons',
  'bool', 'bool_yes_no', 'bool_on_off',
]);

/** Sample values of Grafana's global variables (lint/variables.go). */
const GLOBAL_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '8869990787ms',
  __interval: '4867856611ms',
  __interval_ms: '7781188786',
  __range_ms: '6737667980',
  __range_s: '9397795485',
  __range: '6069770749ms',
  __dashboard: 'AwREbnft',
  __name: 'name',
  __org: '42',
  '__org.name': 'orgname',
  '__user.id': '42',
  '__user.login': 'user',
  '__user.email': 'user@test.com',
  __auto: '12345ms',
};
export const RATE_INTERVAL_SAMPLE = GLOBAL_VARIABLES['__rate_interval'] as string;

const PANEL_TYPES_WITH_QUERIES = new Set(['singlestat', 'gauge', 'table', 'stat', 'state-timeline', 'timeseries']);
const PANEL_TYPES_LINTED = new Set(['stat', 'singlestat', 'graph', 'table', 'timeseries', 'gauge']);

/** Every panel, rows and the panels inside them included (Dashboard.GetPanels). */
export function allPanels(dashboard: LintDashboard): LintPanel[] {
  const out: LintPanel[] = [];
  const visit = (panel: LintPanel): void => {
    out.push(panel);
    for (const inner of panel.panels ?? []) visit(inner);
  };
  for (const panel of dashboard.panels ?? []) visit(panel);
  return out;
}

function variables(dashboard: LintDashboard): readonly LintVariable[] {
  return dashboard.templating?.list ?? [];
}

function firstString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return '';
}

function datasourceUid(datasource: unknown): string {
  if (typeof datasource === 'string') return datasource;
  if (typeof datasource === 'object' && datasource !== null && typeof (datasource as { uid?: unknown }).uid === 'string') return (datasource as { uid: string }).uid;
  return '';
}

/** A query variable's query string (a string, or `{query: …}`), as Template.UnmarshalJSON reads it. */
function variableQuery(variable: LintVariable): string {
  if (typeof variable.query === 'string') return variable.query;
  if (typeof variable.query === 'object' && variable.query !== null && typeof (variable.query as { query?: unknown }).query === 'string') return (variable.query as { query: string }).query;
  return '';
}

function templateDatasource(dashboard: LintDashboard): LintVariable | undefined {
  return variables(dashboard).find((v) => v.type === 'datasource');
}

function prometheusDashboard(dashboard: LintDashboard): boolean {
  return variableQuery(templateDatasource(dashboard) ?? {}) === 'prometheus';
}

/** expandVariables (lint/variables.go): every variable outside double quotes becomes a sample value. */
export function expandVariables(expression: string, list: readonly LintVariable[]): string {
  const pattern = /\$([A-Za-z0-9_]+)|\$\{([^}]+)\}|\[\[([^[\]]+)\]\]/g;
  return expression
    .split('"')
    .map((part, index) => (index % 2 === 1 ? part : part.replace(pattern, (_m, a?: string, b?: string, c?: string) => sampleValue(a ?? b ?? c ?? '', list))))
    .join('"');
}

function sampleValue(reference: string, list: readonly LintVariable[]): string {
  const [name = '', ...format] = reference.split(':');
  if (format.length > 0) throw new Error(`variable formats are not used by this dashboard: ${reference}`);
  const global = GLOBAL_VARIABLES[name];
  if (global !== undefined) return global;
  if (name.startsWith('__auto_interval')) return '10s';
  const variable = list.find((v) => v.name === name);
  if (variable !== undefined) {
    const rest = list.filter((v) => v.name !== name);
    const current = firstString(variable.current?.value);
    if (current !== '') return expandVariables(current, rest);
    const option = firstString(variable.options?.[0]?.value);
    if (option !== '') return expandVariables(option, rest);
  }
  return name;
}

/** parsePromQL of the linter: variables expanded, then parsed. */
export function lintParse(expression: string, dashboard: LintDashboard): Expr {
  return parsePromQL(expandVariables(expression, variables(dashboard)));
}

// --- dashboard rules ---------------------------------------------------------------------------

/** template-datasource-rule: a templated data source, named `datasource` (or `<type>_datasource`), labelled "Data source". */
export function templateDatasourceRule(dashboard: LintDashboard): string[] {
  const problems: string[] = [];
  const templated = variables(dashboard).filter((v) => String(v.type).toLowerCase() === 'datasource');
  if (templated.length === 0) problems.push('does not have a templated data source');
  for (const variable of templated) {
    const query = variableQuery(variable);
    const uids = new Set([`${query.toLowerCase()}_datasource`, ...(templated.length === 1 ? ['datasource'] : [])]);
    const names = new Set([`${query.charAt(0).toUpperCase()}${query.slice(1).toLowerCase()} data source`, ...(templated.length === 1 ? ['Data source'] : [])]);
    if (!uids.has(String(variable.name))) problems.push(`templated data source variable named '${String(variable.name)}', should be named one of ${[...uids].join(', ')}`);
    if (!names.has(String(variable.label))) problems.push(`(warning) templated data source variable labeled '${String(variable.label)}', should be labeled one of ${[...names].join(', ')}`);
  }
  return problems;
}

function checkTemplate(dashboard: LintDashboard, name: string): string[] {
  if (!prometheusDashboard(dashboard)) return [];
  const variable = variables(dashboard).find((v) => v.name === name);
  if (variable === undefined) return [`is missing the ${name} template`];
  const problems: string[] = [];
  const uid = datasourceUid(variable.datasource);
  if (!['$datasource', '${datasource}', '$prometheus_datasource', '${prometheus_datasource}'].includes(uid)) problems.push(`${name} template should use datasource '$datasource', is currently '${uid}'`);
  if (variable.type !== 'query') problems.push(`${name} template should be a Prometheus query, is currently '${String(variable.type)}'`);
  const title = name.charAt(0).toUpperCase() + name.slice(1);
  if (variable.label !== title) problems.push(`(warning) ${name} template should be a labeled '${title}', is currently '${String(variable.label)}'`);
  if (variable.multi !== true) problems.push(`${name} template should be a multi select`);
  if (variable.allValue !== '.+') problems.push(`${name} template allValue should be '.+', is currently '${String(variable.allValue ?? '')}'`);
  return problems;
}

/** template-job-rule */
export function templateJobRule(dashboard: LintDashboard): string[] {
  return checkTemplate(dashboard, 'job');
}

/** template-instance-rule */
export function templateInstanceRule(dashboard: LintDashboard): string[] {
  return checkTemplate(dashboard, 'instance');
}

/**
 * template-label-promql-rule: query variables call label_names, label_values, metrics or
 * query_result, with valid PromQL. The linter accepts whatever Prometheus' parser returns a partial
 * tree for; held here as meant: label_values(<selector>, <label>) with a selector that parses.
 */
export function templateLabelPromqlRule(dashboard: LintDashboard): string[] {
  if (!prometheusDashboard(dashboard)) return [];
  const problems: string[] = [];
  for (const variable of variables(dashboard).filter((v) => v.type === 'query')) {
    const query = variableQuery(variable);
    const call = /([a-z_]+)\((.+)\)/.exec(query);
    if (call === null) {
      problems.push(`template '${String(variable.name)}' invalid templated label '${query}': invalid 'query'`);
      continue;
    }
    const [, func = '', argument = ''] = call;
    if (!['label_names', 'label_values', 'metrics', 'query_result'].includes(func)) {
      problems.push(`template '${String(variable.name)}' invalid templated label '${query}': invalid 'function': ${func}`);
      continue;
    }
    const expression = func === 'label_values' ? (/^(.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*$/.exec(argument)?.[1] ?? argument) : argument;
    if (func === 'label_names' || func === 'metrics') continue;
    try {
      lintParse(expression, dashboard);
    } catch (error) {
      problems.push(`template '${String(variable.name)}' invalid templated label '${query}': ${(error as Error).message}`);
    }
  }
  return problems;
}

/** template-on-time-change-reload-rule: query variables refresh on time range change (2). */
export function templateOnTimeChangeReloadRule(dashboard: LintDashboard): string[] {
  return variables(dashboard)
    .filter((v) => v.type === 'query' && v.refresh !== 2)
    .map((v) => `templated datasource variable named '${String(v.name)}', should be set to be refreshed 'On Time Range Change (value 2)', is currently '${String(v.refresh)}'`);
}

/** uneditable-dashboard */
export function uneditableRule(dashboard: LintDashboard): string[] {
  return dashboard.editable === true || dashboard.editable === undefined ? ["is editable, it should be set to 'editable: false'"] : [];
}

// --- panel rules -------------------------------------------------------------------------------

function panelName(panel: LintPanel): string {
  return `panel '${String(panel.title)}'`;
}

/** panel-datasource-rule: singlestat, graph, table and timeseries panels use the templated data source. */
export function panelDatasourceRule(dashboard: LintDashboard): string[] {
  const allowed = new Set(variables(dashboard).filter((v) => String(v.type).toLowerCase() === 'datasource').flatMap((v) => [`$${String(v.name)}`, `\${${String(v.name)}}`]));
  return allPanels(dashboard)
    .filter((p) => ['singlestat', 'graph', 'table', 'timeseries'].includes(String(p.type)))
    .filter((p) => !allowed.has(datasourceUid(p.datasource)))
    .map((p) => `${panelName(p)} does not use a templated datasource, uses '${datasourceUid(p.datasource)}'`);
}

/** panel-title-description-rule */
export function panelTitleDescriptionRule(dashboard: LintDashboard): string[] {
  return allPanels(dashboard)
    .filter((p) => PANEL_TYPES_LINTED.has(String(p.type)))
    .filter((p) => typeof p.title !== 'string' || p.title === '' || typeof p.description !== 'string' || p.description === '')
    .map((p) => `${panelName(p)} has missing title or description`);
}

function hasMappings(value: unknown, emptyCounts: boolean): boolean {
  if (value === undefined || value === null) return false;
  return emptyCounts || !Array.isArray(value) || value.length > 0;
}

/**
 * panel-units-rule: stat, singlestat, graph, table, timeseries and gauge panels have a valid unit
 * (the last unit override, else the default), unless they have value mappings or are stat panels
 * that show a non-numeric field. The linter counts `"mappings": []` as mappings (it only checks that
 * the JSON is there), which would excuse every panel Grafana exports; `strict` does not.
 */
export function panelUnitsRule(dashboard: LintDashboard, options: { strict: boolean } = { strict: true }): string[] {
  const problems: string[] = [];
  for (const panel of allPanels(dashboard).filter((p) => PANEL_TYPES_LINTED.has(String(p.type)))) {
    if (panel.type === 'stat' && typeof panel.options?.reduceOptions?.fields === 'string' && panel.options.reduceOptions.fields !== '') continue;
    const overrides = panel.fieldConfig?.overrides ?? [];
    const overrideMappings = overrides.flatMap((o) => o.properties ?? []).some((p) => p.id === 'mappings' && hasMappings(p.value, !options.strict));
    if (overrideMappings || hasMappings(panel.fieldConfig?.defaults?.mappings, !options.strict)) continue;
    const overrideUnits = overrides.flatMap((o) => o.properties ?? []).filter((p) => p.id === 'unit');
    const unit = overrideUnits.length > 0 ? String(overrideUnits[overrideUnits.length - 1]?.value) : String(panel.fieldConfig?.defaults?.unit ?? '');
    if (!VALID_UNITS.has(unit)) problems.push(`${panelName(panel)} has no or invalid units defined: '${unit}'`);
  }
  return problems;
}

/** panel-no-targets-rule */
export function panelNoTargetsRule(dashboard: LintDashboard): string[] {
  return allPanels(dashboard)
    .filter((p) => PANEL_TYPES_LINTED.has(String(p.type)) && p.targets === undefined)
    .map((p) => `${panelName(p)} has no targets`);
}

// --- target rules ------------------------------------------------------------------------------

interface LintedTarget {
  readonly panel: LintPanel;
  readonly target: LintTarget;
  readonly expr: string;
}

function promqlTargets(dashboard: LintDashboard): LintedTarget[] {
  if (!prometheusDashboard(dashboard)) return [];
  return allPanels(dashboard)
    .filter((p) => PANEL_TYPES_WITH_QUERIES.has(String(p.type)))
    .flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target, expr: String(target.expr ?? '') })));
}

function targetName(t: LintedTarget): string {
  return `${panelName(t.panel)} target ${String(t.target.refId)}`;
}

/** target-promql-rule: every query parses. */
export function targetPromqlRule(dashboard: LintDashboard): string[] {
  const problems: string[] = [];
  for (const t of promqlTargets(dashboard)) {
    try {
      lintParse(t.expr, dashboard);
    } catch (error) {
      problems.push(`${targetName(t)}: invalid PromQL query '${t.expr}': ${(error as Error).message}`);
    }
  }
  return problems;
}

function parsedTargets(dashboard: LintDashboard): Array<LintedTarget & { readonly tree: Expr }> {
  return promqlTargets(dashboard).flatMap((t) => {
    try {
      return [{ ...t, tree: lintParse(t.expr, dashboard) }];
    } catch {
      return []; // Invalid PromQL is another rule.
    }
  });
}

/**
 * target-rate-interval-rule: a range that is not $__rate_interval may not be the argument of rate()
 * or irate(), and a range must be a function's argument.
 */
export function targetRateIntervalRule(dashboard: LintDashboard): string[] {
  const problems: string[] = [];
  for (const t of parsedTargets(dashboard)) {
    walk(t.tree, (node, parents) => {
      if (node.kind !== 'MatrixSelector' || node.range === RATE_INTERVAL_SAMPLE || parents.length === 0) return;
      const parent = parents[parents.length - 1] as Expr;
      if (parent.kind !== 'Call') problems.push(`${targetName(t)}: invalid PromQL query '${t.expr}': $__rate_interval used in non-rate function`);
      else if (parent.func === 'rate' || parent.func === 'irate') problems.push(`${targetName(t)}: invalid PromQL query '${t.expr}': should use $__rate_interval`);
    });
  }
  return problems;
}

function checkForMatcher(selector: VectorSelector, name: string, value: string): string | null {
  let result: string | null = `${name} selector not found`;
  for (const matcher of selector.matchers) {
    if (matcher.name !== name) continue;
    if (matcher.type === '=~' && matcher.value === value) return null;
    if (matcher.type !== '=~') result = `${name} selector is ${matcher.type}, not =~`;
    if (matcher.value !== value) result = `${name} selector is ${matcher.value}, not ${value}`;
  }
  return result;
}

function requiredMatcherRule(dashboard: LintDashboard, name: string): string[] {
  const problems: string[] = [];
  for (const t of parsedTargets(dashboard)) {
    for (const selector of vectorSelectors(t.tree)) {
      const problem = checkForMatcher(selector, name, `$${name}`);
      if (problem !== null) problems.push(`${targetName(t)}: selector ${selector.name}{…}: ${problem}`);
    }
  }
  return problems;
}

/** target-job-rule: every selector has job=~"$job". */
export function targetJobRule(dashboard: LintDashboard): string[] {
  return requiredMatcherRule(dashboard, 'job');
}

/** target-instance-rule: every selector has instance=~"$instance". */
export function targetInstanceRule(dashboard: LintDashboard): string[] {
  return requiredMatcherRule(dashboard, 'instance');
}

/**
 * target-counter-agg-rule: a counter (a metric named …_total) is only read through rate, irate or
 * increase. The linter tests `selector.String()`, which ends with `}` whenever the selector has
 * matchers, so it catches only bare names; held here by the metric name, as the rule says.
 */
export function targetCounterAggRule(dashboard: LintDashboard): string[] {
  const problems: string[] = [];
  for (const t of parsedTargets(dashboard)) {
    walk(t.tree, (node, parents) => {
      if (node.kind !== 'VectorSelector' || !node.name.endsWith('_total')) return;
      const range = parents[parents.length - 1];
      const call = parents[parents.length - 2];
      const ok = range?.kind === 'MatrixSelector' && call?.kind === 'Call' && ['rate', 'irate', 'increase'].includes(call.func);
      if (!ok) problems.push(`${targetName(t)}: counter metric '${node.name}' is not aggregated with rate, irate, or increase`);
    });
  }
  return problems;
}

/** Every rule of the linter's RuleSet that applies to a Prometheus dashboard, by its name. */
export const LINT_RULES: Readonly<Record<string, (dashboard: LintDashboard) => string[]>> = {
  'template-datasource-rule': templateDatasourceRule,
  'template-job-rule': templateJobRule,
  'template-instance-rule': templateInstanceRule,
  'template-label-promql-rule': templateLabelPromqlRule,
  'template-on-time-change-reload-rule': templateOnTimeChangeReloadRule,
  'panel-datasource-rule': panelDatasourceRule,
  'panel-title-description-rule': panelTitleDescriptionRule,
  'panel-units-rule': (dashboard) => panelUnitsRule(dashboard),
  'panel-no-targets-rule': panelNoTargetsRule,
  'target-promql-rule': targetPromqlRule,
  'target-rate-interval-rule': targetRateIntervalRule,
  'target-job-rule': targetJobRule,
  'target-instance-rule': targetInstanceRule,
  'target-counter-agg-rule': targetCounterAggRule,
  'uneditable-dashboard': uneditableRule,
};
