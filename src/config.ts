import { z } from 'zod';
import { SOURCE_NAMES } from './sources/source';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

const listenAddress = z.object({ host: z.string(), port: z.number().int().min(0).max(65535) });

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
      intervalMs: z.number().int().min(100),
      timeoutMs: z.number().int().min(100),
      maxAgeMs: z.number().int().min(0),
    }),
    web: z.object({
      listenAddress,
      telemetryPath: z.string(),
      configFile: z.string().min(1).optional(),
      disableExporterMetrics: z.boolean(),
      maxRequests: z.number().int().min(0),
    }),
    log: z.object({ level: z.enum(LOG_LEVELS), format: z.enum(LOG_FORMATS) }),
  })
  .superRefine((config, context) => {
    if (config.source === 'replay' && config.replay.file === undefined) {
      context.addIssue({ code: 'custom', path: ['replay', 'file'], message: '--source=replay needs --replay.file' });
    }
    const path = config.web.telemetryPath;
    if (!path.startsWith('/') || path === '/' || path.startsWith('/-/')) {
      context.addIssue({ code: 'custom', path: ['web', 'telemetryPath'], message: `--web.telemetry-path must be a path like /metrics, not ${JSON.stringify(path)}` });
    }
    if (config.sample.maxAgeMs > 0 && config.sample.maxAgeMs < config.sample.intervalMs) {
      context.addIssue({ code: 'custom', path: ['sample', 'maxAgeMs'], message: '--sample.max-age must be at least --sample.interval (or 0 to keep data forever)' });
    }
  });

export type Config = z.infer<typeof configSchema>;
