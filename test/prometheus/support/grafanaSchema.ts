/**
 * Grafana's own types for a dashboard (@grafana/schema 12.0.2, the version of Grafana that
 * docker-compose.yml runs), narrowed so that a dashboard written as a JSON literal can be checked
 * against them by tsc (dashboardSchema.test.ts writes the dashboard into a .ts file as
 * `const dashboard: DashboardFile = <the JSON>` and compiles it):
 *
 * - Json<T>: Grafana's types use TypeScript enums (FieldColorModeId, BigValueColorMode, …), which no
 *   string literal is assignable to; Json<T> turns every string enum into the union of its values, so
 *   "thresholds" checks against FieldColorModeId's values and "rainbow" fails. Nothing else changes:
 *   required fields stay required, unknown keys stay errors (object literals get excess-property
 *   checks).
 * - A panel's `type` selects its own options and field-config types (the panel plugins' generated
 *   types, dist/esm/raw/composable/<plugin>/panelcfg/x/*_types.gen): `Panel` itself types them as
 *   Record<string, unknown>, which would accept anything.
 * - `FieldConfig.custom` is `TOptions & Record<string, unknown>` in Grafana's type, which accepts any
 *   key; here it is exactly the plugin's field config.
 * - Override properties are typed by their id (unit → FieldConfig['unit'], …) instead of `unknown`;
 *   an id this file does not know is an error.
 * - Targets are Prometheus queries: @grafana/schema 12.0.2 does not ship the Prometheus data source's
 *   query type, so it is mirrored from Grafana's generated one (grafana/grafana,
 *   packages/grafana-prometheus/src/dataquery.gen.ts: interface Prometheus extends DataQuery), with
 *   `datasource` narrowed from `unknown` to a DataSourceRef.
 *
 * What stays unchecked: the options of transformations (their types live in @grafana/data, not in
 * @grafana/schema), and the query of a query variable (`string | Record<string, unknown>`).
 */
import type {
  AnnotationContainer,
  Dashboard,
  DataQuery,
  DataSourceRef,
  DataTransformerConfig,
  FieldConfig,
  GridPos,
  MatcherConfig,
  RowPanel,
  VariableModel,
} from '@grafana/schema';
import type * as BarGauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as StateTimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as Table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/** Grafana's type as JSON can satisfy it: string enums become the union of their values. */
export type Json<T> = 0 extends 1 & T
  ? T // any stays any
  : T extends string
    ? string extends T
      ? T
      : `${T}`
    : T extends number | boolean | null | undefined
      ? T
      : T extends ReadonlyArray<infer U>
        ? Array<Json<U>>
        : T extends object
          ? { [K in keyof T]: Json<T[K]> }
          : T;

/** The Prometheus data source's query (grafana-prometheus dataquery.gen.ts, Grafana 12). */
export interface PrometheusQuery extends Omit<DataQuery, 'datasource'> {
  datasource?: DataSourceRef;
  /** QueryEditorMode: 'builder' | 'code'. */
  editorMode?: 'builder' | 'code';
  exemplar?: boolean;
  expr: string;
  /** PromQueryFormat. */
  format?: 'time_series' | 'table' | 'heatmap';
  instant?: boolean;
  intervalFactor?: number;
  legendFormat?: string;
  legendUrlFormat?: string;
  range?: boolean;
  scope?: { matchers: string };
}

/** An override property, typed by its id. */
type OverrideProperty<Custom> =
  | { id: 'unit'; value: FieldConfig['unit'] }
  | { id: 'decimals'; value: FieldConfig['decimals'] }
  | { id: 'displayName'; value: FieldConfig['displayName'] }
  | { id: 'mappings'; value: FieldConfig['mappings'] }
  | { id: 'color'; value: FieldConfig['color'] }
  | { id: 'thresholds'; value: FieldConfig['thresholds'] }
  | { id: 'min'; value: FieldConfig['min'] }
  | { id: 'max'; value: FieldConfig['max'] }
  | { [K in keyof Custom & string]: { id: `custom.${K}`; value: Custom[K] } }[keyof Custom & string];

/** Field matchers of Grafana (FieldMatcherID): by name, by type and the other built-in ones. */
type FieldMatcher = Omit<MatcherConfig, 'id' | 'options'> &
  ({ id: 'byName' | 'byRegexp' | 'byFrameRefID' | 'byType'; options: string } | { id: 'byNames' | 'byValue' | 'byRegexpOrNames'; options: unknown });

/** Grafana's FieldConfigSource with the plugin's own custom field config and typed overrides. */
type PanelFieldConfig<Custom> = {
  defaults: Omit<FieldConfig, 'custom'> & ([Custom] extends [never] ? { custom?: never } : { custom?: Custom });
  overrides: Array<{ matcher: FieldMatcher; properties: Array<OverrideProperty<[Custom] extends [never] ? Record<never, never> : Custom>> }>;
};

/** A panel of one plugin: Grafana's Panel with that plugin's options and field config. */
type PluginPanel<Type extends string, Options, Custom> = Json<
  Omit<import('@grafana/schema').Panel, 'type' | 'options' | 'fieldConfig' | 'targets' | 'transformations'> & {
    type: Type;
    options: Options;
    fieldConfig: PanelFieldConfig<Custom>;
    targets: PrometheusQuery[];
    transformations?: DataTransformerConfig[];
  }
>;

/** Every panel type the dashboard uses, each with its own types. */
export type DashboardPanel =
  | PluginPanel<'stat', Stat.Options, never>
  | PluginPanel<'bargauge', BarGauge.Options, never>
  | PluginPanel<'table', Table.Options, Table.FieldConfig>
  | PluginPanel<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig>
  | PluginPanel<'state-timeline', StateTimeline.Options, StateTimeline.FieldConfig>;

export type DashboardRow = Json<Omit<RowPanel, 'panels' | 'gridPos'>> & { gridPos: Json<GridPos>; panels: DashboardPanel[] };

/**
 * A dashboard as this repository ships it, without the export-only keys (__inputs, __requires,
 * __elements: see dashboardSchema.test.ts): Grafana's Dashboard with typed panels.
 */
export type DashboardFile = Json<Omit<Dashboard, 'panels' | 'templating' | 'annotations'>> & {
  annotations: Json<AnnotationContainer>;
  templating: { list: Array<Json<VariableModel>> };
  panels: Array<DashboardPanel | DashboardRow>;
};
