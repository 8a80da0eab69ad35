/**
 * The dashboard type-checked against Grafana's own types: @grafana/schema 12.0.2, the Grafana version
 * docker-compose.yml runs. The test writes the dashboard into a TypeScript file as an object literal,
 * `const dashboard: DashboardFile = <the JSON>` (support/grafanaSchema.ts: Grafana's Dashboard with
 * each panel's own options and field config, enums as their values), and runs tsc on it. A JSON
 * import would widen every string and check nothing; an object literal keeps every value and every
 * key, so a misspelt option, a value Grafana does not know or a panel option of the wrong plugin is a
 * compile error. The same run compiles deliberately broken copies, each of which must fail.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DASHBOARD_FILE } from './support/dashboard';
import { describeResult, REPOSITORY_ROOT, runCommandAsync } from './support/tools';

/** The @grafana/schema version the check is pinned to: the Grafana of docker-compose.yml. */
const GRAFANA_VERSION = '12.0.2';

/**
 * Keys of the dashboard file that Grafana's Dashboard type (12.0.2) does not have, left out of the
 * check, and why. Everything else must type-check as it is.
 */
const EXPORT_ONLY_KEYS = [
  // Written by "Export → Export for sharing externally" and read by "Import": the data source the
  // importer is asked for (DS_PROMETHEUS), the plugins the dashboard needs, and library panels. They
  // are not part of a stored dashboard, so the schema does not have them.
  '__inputs',
  '__requires',
  '__elements',
] as const;
/**
 * Fields Grafana writes that its 12.0.2 types do not declare (they differ between versions of the
 * frontend and of the schema): left out of the check, pinned to 12.0.2.
 */
const VERSION_DIFFERENCES = {
  // Query variables: the query editor (Grafana 7 to 12) writes the query's text here as well, for the
  // variables list; VariableModel of @grafana/schema 12.0.2 has no such field.
  variableDefinition: 'templating.list[].definition',
} as const;

interface DashboardJson {
  templating: { list: Array<Record<string, unknown>> };
  panels: Array<Record<string, unknown> & { panels?: Array<Record<string, unknown>> }>;
  [key: string]: unknown;
}

function shippedDashboard(): DashboardJson {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as DashboardJson;
}

/** The dashboard without the allow-listed keys: what is checked. */
function checkedPart(dashboard: DashboardJson): DashboardJson {
  const copy = JSON.parse(JSON.stringify(dashboard)) as DashboardJson;
  for (const key of EXPORT_ONLY_KEYS) delete copy[key];
  for (const variable of copy.templating.list) delete variable['definition'];
  return copy;
}

function allPanels(dashboard: DashboardJson): Array<Record<string, any>> {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Deliberately wrong copies: each must fail the type check. */
const BROKEN: Readonly<Record<string, (d: DashboardJson) => void>> = {
  'a stat panel with a colour mode Grafana does not have': (d) => (allPanels(d).find((p) => p['type'] === 'stat')!['options'].colorMode = 'rainbow'),
  'a table panel typed as a stat panel (table options on a stat)': (d) => (allPanels(d).find((p) => p['type'] === 'table')!['type'] = 'stat'),
  'a table option misspelt': (d) => {
    const options = allPanels(d).find((p) => p['type'] === 'table')!['options'];
    options.showHeaders = options.showHeader;
    delete options.showHeader;
  },
  'a table cell type Grafana does not have': (d) => (allPanels(d).find((p) => p['type'] === 'table')!['fieldConfig'].defaults.custom.cellOptions = { type: 'sparkles' }),
  'an unknown key in a table\'s custom field config': (d) => (allPanels(d).find((p) => p['type'] === 'table')!['fieldConfig'].defaults.custom.wrap = true),
  'a unit override that is not a string': (d) => (allPanels(d).find((p) => p['title'] === 'Heartbeat timing')!['fieldConfig'].overrides[0].properties[0].value = 5),
  'an override of a custom option the plugin does not have': (d) => (allPanels(d).find((p) => p['title'] === 'Heartbeat timing')!['fieldConfig'].overrides[0].properties[0].id = 'custom.colour'),
  'a Prometheus query without expr': (d) => {
    const target = allPanels(d).find((p) => p['type'] === 'stat')!['targets'][0];
    target.expression = target.expr;
    delete target.expr;
  },
  'a grid position given as text': (d) => (allPanels(d).find((p) => p['type'] === 'timeseries')!['gridPos'].w = '12'),
  'a variable refresh mode that does not exist': (d) => (d.templating.list.find((v) => v['name'] === 'job')!['refresh'] = 7),
  'a time-series draw style that does not exist': (d) => (allPanels(d).find((p) => p['type'] === 'timeseries')!['fieldConfig'].defaults.custom.drawStyle = 'dots'),
  'an unknown top-level key': (d) => (d['refreshInterval'] = '30s'),
  'a stat panel without a required option': (d) => delete allPanels(d).find((p) => p['type'] === 'stat')!['options'].graphMode,
};

function checkFile(dashboard: DashboardJson): string {
  const types = path.join(REPOSITORY_ROOT, 'test/prometheus/support/grafanaSchema');
  return `import type { DashboardFile } from ${JSON.stringify(types)};\n\nexport const dashboard: DashboardFile = ${JSON.stringify(dashboard, null, 2)};\n`;
}

describe(`grafana/dashboards/hyperv-ic.json against Grafana's types (@grafana/schema ${GRAFANA_VERSION})`, () => {
  test(`the installed @grafana/schema is ${GRAFANA_VERSION}, the Grafana of docker-compose.yml`, () => {
    const schema = JSON.parse(readFileSync(path.join(REPOSITORY_ROOT, 'node_modules/@grafana/schema/package.json'), 'utf8')) as { version: string };
    expect(schema.version).toBe(GRAFANA_VERSION);
    const compose = parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'docker-compose.yml'), 'utf8')) as { services: { grafana: { image: string } } };
    expect(compose.services.grafana.image).toBe(`grafana/grafana:\${GRAFANA_VERSION:-${GRAFANA_VERSION}}`);
  });

  test('the allow-list is exactly what the file has beyond the schema, and nothing is left out silently', () => {
    const dashboard = shippedDashboard();
    for (const key of EXPORT_ONLY_KEYS) expect({ key, present: key in dashboard }).toEqual({ key, present: true });
    expect(dashboard.templating.list.filter((v) => v['type'] === 'query').every((v) => typeof v['definition'] === 'string')).toBe(true);
    expect(VERSION_DIFFERENCES.variableDefinition).toBe('templating.list[].definition');
    const checked = checkedPart(dashboard);
    const dropped = (JSON.stringify(dashboard).length - JSON.stringify(checked).length) / JSON.stringify(dashboard).length;
    // The keys left out are the import metadata and one field per query variable: a few percent.
    expect(dropped).toBeLessThan(0.05);
  });

  test('tsc: the dashboard type-checks, and every deliberately broken copy fails', async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-dashboard-schema-'));
    try {
      const files: Record<string, string> = { 'dashboard.ts': checkFile(checkedPart(shippedDashboard())) };
      const brokenFiles = Object.entries(BROKEN).map(([what, change], index) => {
        const copy = checkedPart(shippedDashboard());
        change(copy);
        const name = `broken-${index}.ts`;
        files[name] = checkFile(copy);
        return { what, name };
      });
      for (const [name, text] of Object.entries(files)) writeFileSync(path.join(directory, name), text);
      writeFileSync(
        path.join(directory, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            target: 'ES2022',
            module: 'commonjs',
            moduleResolution: 'node',
            skipLibCheck: true,
            types: [],
            baseUrl: REPOSITORY_ROOT,
            // The generated files live outside the repository: find its node_modules from here.
            paths: { '@grafana/schema': ['node_modules/@grafana/schema/dist/cjs/index.d.cts'], '@grafana/schema/*': ['node_modules/@grafana/schema/*'] },
          },
          files: Object.keys(files),
        }),
      );
      const tsc = path.join(REPOSITORY_ROOT, 'node_modules/typescript/bin/tsc');
      const result = await runCommandAsync(process.execPath, [tsc, '-p', path.join(directory, 'tsconfig.json')], { timeoutMs: 120_000 });
      const diagnostics = (result.stdout + result.stderr).split('\n').filter((line) => /error TS\d+/.test(line));
      const errorsIn = (name: string): string[] => diagnostics.filter((line) => line.includes(`${name}(`));
      expect({ dashboard: errorsIn('dashboard.ts') }).toEqual({ dashboard: [] });
      for (const { what, name } of brokenFiles) expect({ what, fails: errorsIn(name).length > 0 }).toEqual({ what, fails: true });
      // Nothing else went wrong (a missing module, say, would fail every file alike).
      expect(diagnostics.filter((line) => !/broken-\d+\.ts\(/.test(line))).toEqual([]);
      // tsc fails the run: the broken copies.
      expect({ failed: result.status !== 0, output: describeResult(result).slice(0, 200) }).toEqual({ failed: true, output: expect.any(String) });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 120_000);
});
