import type { SourceName } from './contract/sample';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** `--kvp.export-keys`: the pattern, anchored to match whole item names. Throws SyntaxError for a bad pattern. */
export function kvpExportKeys(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/**
 * The one validated configuration object; main builds it from flags (cli/flags.ts: one table of the
 * flags, their bounds and where each goes in here) and passes it down.
 */
export interface Config {
  command: 'serve' | 'sample';
  source: SourceName;
  /** The source was not given and was chosen from the platform. */
  sourceDefaulted: boolean;
  replay: { file?: string | undefined };
  simulator: { vms: number; seed: number };
  powershell: {
    path?: string | undefined;
    computerName?: string | undefined;
    recycleAfterSamples: number;
  };
  sample: {
    intervalMs: number;
    timeoutMs: number;
    /** 0: the last good data never expires. */
    maxAgeMs: number;
    /** Full samples this often, Status samples between (0: every sample is Full). */
    fullIntervalMs: number;
    /** Most samples in flight at once across hosts; also the number of PowerShell processes. */
    concurrency: number;
  };
  /** --config.file: the hosts to sample; absent: the one host of --source. */
  configFile?: string | undefined;
  web: {
    listenAddress: { host: string; port: number };
    telemetryPath: string;
    configFile?: string | undefined;
    disableExporterMetrics: boolean;
    maxRequests: number;
    /** --web.enable-lifecycle: POST /-/reload reloads as SIGHUP does; off, it is answered 403. */
    enableLifecycle: boolean;
  };
  kvp: {
    /** --kvp.export-keys: a regular expression over whole KVP item names; absent: no item is exported. */
    exportKeys?: string | undefined;
    exportMaxPerVm: number;
  };
  log: { level: (typeof LOG_LEVELS)[number]; format: (typeof LOG_FORMATS)[number] };
}
