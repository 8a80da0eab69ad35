/**
 * What every room shares: the raw sample a source hands over, the source interface and names, and the
 * sample error with its failure reasons. The bottom of the import graph: it imports nothing of the
 * project (test/architecture.test.ts).
 */

export const SOURCE_NAMES = ['powershell', 'replay', 'simulator'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/** What a sample holds: `full`, every class; `status`, only what changes from second to second. */
export const SAMPLE_SCOPES = ['status', 'full'] as const;
export type SampleScope = (typeof SAMPLE_SCOPES)[number];

/**
 * What a source hands over: the JSON text of a sample document (powershell, replay) or the document
 * value itself (simulator, which would only stringify it to have it parsed again).
 */
export type RawSample = { readonly text: string } | { readonly document: unknown };

/**
 * A source obtains one sample document and knows nothing of metrics, HTTP or sampling. It may return
 * a Full document when asked for a Status one (replay and simulator always do); the document says
 * which it is. `sample` rejects with a SampleError when it can say why it failed; any other rejection
 * counts as `source_error`. When `signal` aborts, the source stops the work and releases what it
 * holds; nobody waits for it.
 */
export interface SampleSource {
  readonly name: SourceName;
  sample(scope: SampleScope, signal: AbortSignal): Promise<RawSample>;
  close(): Promise<void>;
}

/**
 * Why a sample failed: the values of hyperv_sample_failures_total{reason}. Every reason is exported
 * from the start with 0, so that alerts and dashboards can rate() it before it first happens.
 */
export const FAILURE_REASONS = [
  /** The source did not answer within --sample.timeout. */
  'timeout',
  /** The source answered, but not with a valid sample document (see the log for the exact reason). */
  'invalid_document',
  /** The source failed in a way that has no reason of its own. */
  'source_error',
  /** powershell: the root/virtualization/v2 namespace does not exist (Hyper-V role not installed). */
  'namespace_missing',
  /** powershell: access denied, or an empty result (the account is not in "Hyper-V Administrators"). */
  'access_denied',
  /** powershell: the Hyper-V Virtual Machine Management service (vmms) is not running. */
  'vmms_not_running',
  /** powershell: the PowerShell executable could not be started. */
  'powershell_not_found',
  /** powershell: the output was not what the collection script writes (warnings or errors on stdout). */
  'output_unparseable',
  /** powershell, remote host: the host cannot be reached over WinRM (name, network, firewall). */
  'unreachable',
  /** powershell, remote host: the host answers, but WinRM is not set up to take the request. */
  'winrm_not_configured',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** A sample failure with its reason; sources and the parser throw it, the sampler counts it. */
export class SampleError extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SampleError';
  }
}

/** The reason a rejection counts under. */
export function failureReasonOf(error: unknown): FailureReason {
  return error instanceof SampleError ? error.reason : 'source_error';
}
