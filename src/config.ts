import { z } from 'zod';
import { MAX_DURATION_MS } from './cli/duration';
import { SOURCE_NAMES } from './contract/sample';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

const listenAddress = z.object({ host: z.string(), port: z.number().int().min(0).max(65535) });
/** A duration in ms that Node's timers can honour (see MAX_DURATION_MS). */
const duration = (min: number) => z.number().int().min(min).max(MAX_DURATION_MS);

/** `--kvp.export-keys`: the pattern, anchored to match whole item names. Throws SyntaxError for a bad pattern. */
export function kvpExportKeys(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/** The one validated configuration object; main builds it from flags and passes it down. */
export const configSchema = z
  .object({
    command: z.enum(['serve', 'sample']),
    source: z.enum(SOURCE_NAMES),
    /** The source was not given and was chosen from the platform. */
    sourceDefaulted: z.boolean(),
    replay: z.object({ file: z.string().min(1).optional() }),
    simulator: z.object({ vms: z.number().int().min(0).max(100_000), seed: z.number().int().min(0).max(0xffffffff) }),
    powershell: z.object({
      path: z.string().min(1).optional(),
      computerName: z.string().min(1).optional(),
      recycleAfterSamples: z.number().int().min(1),
    }),
    sample: z.object({
      intervalMs: duration(100),
      timeoutMs: duration(100),
      /** 0: the last good data never expires. */
      maxAgeMs: duration(0),
      /** Full samples this often, Status samples between (0: every sample is Full). */
      fullIntervalMs: duration(0),
      /** Most samples in flight at once across hosts; also the number of PowerShell processes. */
      concurrency: z.number().int().min(1).max(64),
    }),
    /** --config.file: the hosts to sample; absent: the one host of --source. */
    configFile: z.string().min(1).optional(),
    web: z.object({
      listenAddress,
      telemetryPath: z.string(),
      configFile: z.string().min(1).optional(),
      disableExporterMetrics: z.boolean(),
      maxRequests: z.number().int().min(0),
    }),
    kvp: z.object({
      /** --kvp.export-keys: a regular expression over whole KVP item names; absent: no item is exported. */
      exportKeys: z.string().optional(),
      exportMaxPerVm: z.number().int().min(0).max(1024),
    }),
    log: z.object({ level: z.enum(LOG_LEVELS), format: z.enum(LOG_FORMATS) }),
  })
  .superRefine((config, context) => {
    if (config.configFile !== undefined && !config.sourceDefaulted) {
      context.addIssue({ code: 'custom', path: ['source'], message: '--source does not go with --config.file: the file names each host\'s source' });
    }
    if (config.configFile !== undefined && config.powershell.computerName !== undefined) {
      context.addIssue({ code: 'custom', path: ['powershell', 'computerName'], message: '--powershell.computer-name does not go with --config.file: give each host an address in the file' });
    }
    if (config.source === 'replay' && config.replay.file === undefined) {
      context.addIssue({ code: 'custom', path: ['replay', 'file'], message: '--source=replay needs --replay.file' });
    }
    const path = config.web.telemetryPath;
    if (!path.startsWith('/') || path === '/' || path.startsWith('/-/') || path === '/probe' || path === '/targets') {
      context.addIssue({
        code: 'custom',
        path: ['web', 'telemetryPath'],
        message: `--web.telemetry-path must be a path like /metrics (not /, /probe, /targets or under /-/), not ${JSON.stringify(path.slice(0, 80))}`,
      });
    }
    if (config.sample.maxAgeMs > 0 && config.sample.maxAgeMs < config.sample.intervalMs) {
      context.addIssue({ code: 'custom', path: ['sample', 'maxAgeMs'], message: '--sample.max-age must be at least --sample.interval (or 0 to keep data forever)' });
    }
  });

export type Config = z.infer<typeof configSchema>;
