import { ExpositionWriter, gauge } from './exposition';

/**
 * How the last reload of the configuration files (--web.config.file and --config.file, by SIGHUP or
 * POST /-/reload) went, as blackbox_exporter reports its own: main keeps it, the exporter's /metrics
 * page writes it.
 */
export interface ConfigReloadState {
  /** The last reload read and applied every file; true at start (the files were read then). */
  readonly successful: boolean;
  /** Unix time of the last successful reload; the start time until one happens. */
  readonly lastSuccessSeconds: number;
}

export const CONFIG_RELOAD_SUCCESSFUL_FAMILY = gauge(
  'hyperv_exporter_config_last_reload_successful',
  'Whether the last reload of --web.config.file and --config.file (SIGHUP or POST /-/reload) succeeded (1) or kept the running configuration (0).',
);
export const CONFIG_RELOAD_TIMESTAMP_FAMILY = gauge(
  'hyperv_exporter_config_last_reload_success_timestamp_seconds',
  'Unix time of the last successful reload of the configuration files (the start time until one happens).',
);

export const CONFIG_RELOAD_FAMILIES = [CONFIG_RELOAD_SUCCESSFUL_FAMILY, CONFIG_RELOAD_TIMESTAMP_FAMILY] as const;

/** The two gauges. */
export function configReloadText(state: ConfigReloadState): string {
  const out = new ExpositionWriter();
  out.sample(CONFIG_RELOAD_SUCCESSFUL_FAMILY, '', state.successful ? 1 : 0);
  out.sample(CONFIG_RELOAD_TIMESTAMP_FAMILY, '', state.lastSuccessSeconds);
  return out.text(CONFIG_RELOAD_FAMILIES);
}
