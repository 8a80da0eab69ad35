import type { Logger } from 'pino';
import { linkSignals } from '../../contract/abort';
import { SampleError } from '../../contract/sample';
import { classifyShellFailure, interpretCollectOutput } from './classify';
import { PowerShellSession, SessionAbortedError, type SessionInfo } from './session';

export interface RestartBackoff {
  /** Delay before the second consecutive restart; it doubles with each further failure. */
  readonly initialMs: number;
  /** Upper bound of the delay. */
  readonly maxMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoff = { initialMs: 1_000, maxMs: 60_000 };

/** The delay before the next start after `consecutiveFailures` failures in a row. */
export function restartDelayMs(consecutiveFailures: number, backoff: RestartBackoff): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(backoff.initialMs * 2 ** (consecutiveFailures - 2), backoff.maxMs);
}

export interface WorkerOptions {
  readonly executable: string;
  readonly scriptPath: string;
  readonly recycleAfterSamples: number;
  readonly backoff: RestartBackoff;
  readonly killGraceMs: number;
  readonly preloadModules: readonly string[];
  /** The file this worker's samples are written to (see PowerShellPool). */
  readonly outFile: string;
  /** Aborted when the pool closes: a start or an invocation in flight ends at once. */
  readonly lifetime: AbortSignal;
  readonly logger: Logger;
}

/**
 * One warm PowerShell process with collect.ps1 loaded, replaced when it fails: immediately after a
 * first failure, then with a growing delay (failing fast meanwhile, with the last reason) so that a
 * PowerShell that cannot start is not started in a loop; recycled after recycleAfterSamples. One
 * command at a time: the pool hands a worker to one sample at once.
 */
export class PowerShellWorker {
  private session: PowerShellSession | undefined;
  /** Sessions being disposed; close() waits for them so that no process outlives the worker. */
  private readonly retiring = new Set<Promise<void>>();
  private consecutiveFailures = 0;
  private lastFailure: { readonly error: SampleError; readonly at: number } | undefined;

  constructor(private readonly options: WorkerOptions) {}

  get outFile(): string {
    return this.options.outFile;
  }

  /**
   * Runs one collect.ps1 command and returns its JSON answer. A failure that collect.ps1 reports
   * (`{"error":…}`) rejects with its reason and keeps the process; anything else that goes wrong
   * (no answer in time, an exit, output that is not collect.ps1's) costs the process.
   */
  async invoke(command: string, callerSignal: AbortSignal): Promise<string> {
    if (callerSignal.aborted || this.options.lifetime.aborted) throw this.interruptedError('the command had not started yet');
    const linked = linkSignals(callerSignal, this.options.lifetime);
    try {
      return await this.invokeUntil(command, linked.signal);
    } finally {
      linked.dispose();
    }
  }

  /** `invoke` with one signal: the caller's or the worker's lifetime, whichever aborts first. */
  private async invokeUntil(command: string, signal: AbortSignal): Promise<string> {
    const session = await this.acquireSession(signal);
    session.samplesRun += 1;

    let raw: string;
    try {
      raw = await session.invoke(command, signal);
    } catch (error) {
      // A SampleError is the session's own verdict (too much on stdout), whether or not the process has exited since.
      const failure =
        error instanceof SessionAbortedError
          ? this.interruptedError(`PowerShell process ${String(session.pid)} is being replaced`)
          : error instanceof SampleError
            ? error
            : session.exited
              ? this.exitedError(session, 'during the sample', error)
              : classifyShellFailure(error, this.options.executable);
      this.fail(failure, session);
      throw failure;
    }

    const outcome = interpretCollectOutput(raw);
    if (outcome.kind === 'unparseable') {
      // Unknown output means an unknown state: start over with a fresh process.
      const failure = session.exited ? this.exitedError(session, 'during the sample') : outcome.error;
      this.fail(failure, session);
      throw failure;
    }
    // collect.ps1 answered as designed (an answer or a reported failure): the process is healthy.
    this.consecutiveFailures = 0;
    if (session.samplesRun >= this.options.recycleAfterSamples) {
      this.options.logger.debug({ pid: session.pid, samples: session.samplesRun }, 'recycling the PowerShell process');
      this.retire(session);
    }
    if (outcome.kind === 'reported_failure') throw outcome.error;
    return outcome.text;
  }

  /** Ends the process; resolves once it is gone. */
  async close(): Promise<void> {
    if (this.session !== undefined) this.retire(this.session);
    await Promise.all([...this.retiring]);
  }

  private async acquireSession(signal: AbortSignal): Promise<PowerShellSession> {
    const current = this.session;
    if (current !== undefined) {
      if (!current.exited) return current;
      this.fail(this.exitedError(current, 'while idle'), current);
    }

    const waitMs = this.lastFailure === undefined ? 0 : this.lastFailure.at + restartDelayMs(this.consecutiveFailures, this.options.backoff) - Date.now();
    if (waitMs > 0 && this.lastFailure !== undefined) {
      // Fail fast with the last reason rather than waiting: the reason keeps counting under its own
      // label, and a restart loop cannot spin faster than the backoff.
      throw new SampleError(
        this.lastFailure.error.reason,
        `not restarting PowerShell for another ${Math.ceil(waitMs / 1000)} s after ${this.consecutiveFailures} consecutive failures; last: ${this.lastFailure.error.message}`,
      );
    }

    const startedAt = Date.now();
    const session = PowerShellSession.spawn({ executable: this.options.executable, killGraceMs: this.options.killGraceMs });
    let info: SessionInfo;
    try {
      info = await session.load(this.options.scriptPath, this.options.preloadModules, signal);
    } catch (error) {
      const failure =
        error instanceof SessionAbortedError ? this.interruptedError('PowerShell was still starting') : error instanceof SampleError ? error : this.startFailure(error);
      this.fail(failure, session);
      throw failure;
    }
    this.session = session;
    this.options.logger.info({ executable: this.options.executable, ...info, launcherPid: session.launcherPid, startMs: Date.now() - startedAt }, 'PowerShell process started');
    return session;
  }

  private startFailure(error: unknown): SampleError {
    const classified = classifyShellFailure(error, this.options.executable);
    if (classified.reason !== 'source_error') return classified;
    return new SampleError('source_error', `PowerShell started but could not load ${this.options.scriptPath}: ${classified.message}`, { cause: error });
  }

  /** The caller's signal aborted (the sample's timeout), or the pool was closed. */
  private interruptedError(detail: string): SampleError {
    if (this.options.lifetime.aborted) return new SampleError('source_error', `the PowerShell source was closed (${detail})`);
    return new SampleError('timeout', `PowerShell did not answer within the sample timeout (${detail})`);
  }

  private exitedError(session: PowerShellSession, when: string, cause?: unknown): SampleError {
    return new SampleError('source_error', `PowerShell process ${String(session.pid)} exited ${when} (${session.exitReason ?? 'unknown status'})`, { cause });
  }

  /** Records a failure that cost the process (or its start); it counts towards the restart backoff. */
  private fail(error: SampleError, session?: PowerShellSession): void {
    this.consecutiveFailures += 1;
    this.lastFailure = { error, at: Date.now() };
    if (session !== undefined) this.retire(session);
    // No PowerShell at that path: the sampler's one line says so, naming --powershell.path; not here again with a stack.
    const notFound = error.reason === 'powershell_not_found';
    this.options.logger[notFound ? 'debug' : 'warn'](
      { pid: session?.pid, reason: error.reason, consecutiveFailures: this.consecutiveFailures, ...(notFound ? { detail: error.message } : { err: error }) },
      'PowerShell process failed; it will be replaced at the next sample',
    );
  }

  private retire(session: PowerShellSession): void {
    if (this.session === session) this.session = undefined;
    const disposal = session.dispose().finally(() => this.retiring.delete(disposal));
    this.retiring.add(disposal);
  }
}
