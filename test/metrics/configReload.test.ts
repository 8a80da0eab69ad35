import { NO_SAMPLE_YET } from '../../src/metrics/samplingMetrics';
import { multiHostMetricsPage, singleHostMetricsPage, type ExporterInfo } from '../../src/metrics/pages';
import { parseExposition } from '../helpers/exposition';

/** hyperv_exporter_config_last_reload_*: on the exporter's own /metrics, in both modes, as blackbox_exporter has them. */
describe('the reload gauges of the exporter page', () => {
  let state = { successful: true, lastSuccessSeconds: 1_700_000_000.5 };
  const exporter: ExporterInfo = { version: '9.9.9', source: 'replay', processMetrics: null, configReload: () => state };
  const host = { modelText: '', health: NO_SAMPLE_YET };

  test('one host: after the build info, with the state main keeps at the time the page is made', async () => {
    const page = await singleHostMetricsPage(host, exporter);
    expect(page).toContain(
      [
        'hyperv_exporter_build_info{version="9.9.9",source="replay"} 1',
        '# HELP hyperv_exporter_config_last_reload_successful Whether the last reload of --web.config.file and --config.file (SIGHUP or POST /-/reload) succeeded (1) or kept the running configuration (0).',
        '# TYPE hyperv_exporter_config_last_reload_successful gauge',
        'hyperv_exporter_config_last_reload_successful 1',
        '# HELP hyperv_exporter_config_last_reload_success_timestamp_seconds Unix time of the last successful reload of the configuration files (the start time until one happens).',
        '# TYPE hyperv_exporter_config_last_reload_success_timestamp_seconds gauge',
        'hyperv_exporter_config_last_reload_success_timestamp_seconds 1700000000.5',
        '',
      ].join('\n'),
    );
    state = { ...state, successful: false };
    expect(await singleHostMetricsPage(host, exporter)).toMatch(/^hyperv_exporter_config_last_reload_successful 0$/m);
    state = { ...state, successful: true };
  });

  test('many hosts: the same two gauges, unlabelled, once', async () => {
    const page = await multiHostMetricsPage([{ name: 'hv01', health: NO_SAMPLE_YET }, { name: 'hv02', health: NO_SAMPLE_YET }], { ...exporter, source: 'config' }, null);
    const names = parseExposition(page).series.map((sample) => sample.name).filter((name) => name.startsWith('hyperv_exporter_config_'));
    expect(names).toEqual(['hyperv_exporter_config_last_reload_successful', 'hyperv_exporter_config_last_reload_success_timestamp_seconds']);
  });

  test('without a reload state (the tests\' pages, the golden files) the page is as before', async () => {
    const { configReload: _unused, ...withoutReload } = exporter;
    expect(await singleHostMetricsPage(host, withoutReload)).not.toContain('config_last_reload');
  });
});
