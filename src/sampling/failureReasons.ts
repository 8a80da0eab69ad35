/**
 * Why a sample failed: the values of hyperv_sample_failures_total{reason}. Every reason is exported
 * from the start with 0 so that alerts and dashboards can rate() it before it first happens.
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
  /** powershell: the output was not a JSON document (warnings or errors on stdout). */
  'output_unparseable',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** A sample failure with its reason; sources and the parser throw it, the scheduler counts it. */
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
