import type { FailureReason } from '../sampling/failureReasons';

export const SOURCE_NAMES = ['powershell', 'replay', 'simulator'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/**
 * What a source hands over: either the JSON text of a sample document (powershell, replay) or the
 * already-built document value (simulator, which would only stringify it to parse it again). Both go
 * through the same parser.
 */
export type RawSample = { readonly text: string } | { readonly document: unknown };

/**
 * A source knows how to obtain one sample document and nothing about metrics or HTTP.
 * `sample` rejects with a SampleError (carrying a FailureReason) when it can say why it failed;
 * any other rejection is counted as `source_error`. When `signal` aborts (the sample timed out),
 * the source must stop the work and release what it holds; the scheduler does not wait for it.
 */
export interface SampleSource {
  readonly name: SourceName;
  sample(signal: AbortSignal): Promise<RawSample>;
  close(): Promise<void>;
}

export type { FailureReason };
