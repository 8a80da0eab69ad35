import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SampleError } from '../../sampling/failureReasons';
import type { RawSample, SampleSource } from '../source';
import { classifyShellFailure, interpretCollectOutput } from './classify';
import { quotePowerShellString, validateComputerName } from './quoting';
import { PowerShellSession, SessionAbortedError, abortable } from './session';
import type { SessionInfo } from './session';

export interface RestartBackoff {
  /** Delay before the second consecutive restart; it doubles with each further failure. */
  readonly initialMs: number;
  /** Upper bound of the delay. */
  readonly maxMs: number;
}

export interface PowerShellSourceOptions {
  /** `powershell.exe`, `pwsh`, or a full path (`--powershell.path`). */
  readonly executable: string;
  /** A remote Hyper-V host, queried through a CIM session over WinRM (`--powershell.computer-name`); absent: this host. */
  readonly computerName?: string;
  /** Replace the PowerShell process after this many samples (`--powershell.recycle-after`); at least 1. */
  readonly recycleAfterSamples: number;
  readonly logger: Logger;
  /** Default: 1 s doubling up to 60 s. The first restart after a failure is always immediate. */
  readonly restartBackoff?: RestartBackoff;
  /** Modules imported into every process before collect.ps1: the tests' stand-ins for the CIM cmdlets. */
  readonly preloadModules?: readonly string[];
  /** Default: collect.ps1 next to this file (`npm run build` copies it into dist/). */
  readonly scriptPath?: string;
  /** How long a process may take to exit after SIGTERM before it gets SIGKILL. Default 2 s. */
  readonly killGraceMs?: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoff = { initialMs: 1_000, maxMs: 60_000 };
/** The default of --powershell.recycle-after (history is trimmed after every sample; this is hygiene). */
export const DEFAULT_RECYCLE_AFTER_SAMPLES = 1000;
const DEFAULT_KILL_GRACE_MS = 2_000;

/** Windows PowerShell 5.1 where it always exists, PowerShell 7 elsewhere. */
export function defaultPowerShellExecutable(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'powershell.exe' : 'pwsh';
}

/** The shipped collection script; resolved at run time so that it works from src/ (tests) and dist/. */
export function defaultCollectScriptPath(): string {
  return join(__dirname, 'collect.ps1');
}

/** The delay before the next start after `consecutiveFailures` failures in a row. */
export function restartDelayMs(consecutiveFailures: number, backoff: RestartBackoff): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(backoff.initialMs * 2 ** (consecutiveFailures - 2), backoff.maxMs);
}

/** The single line sent per sample. The computer name is validated and then single-quoted, never templated. */
export function buildSampleCommand(computerName: string | undefined): string {
  if (computerName === undefined) return 'Get-HyperVIcSample';
  return `Get-HyperVIcSample -ComputerName ${quotePowerShellString(validateComputerName(computerName))}`;
}

/**
 * The production source: one long-lived PowerShell process running collect.ps1, one invocation per
 * sample. Throws synchronously for invalid options (a bad computer name, a missing collect.ps1).
 */
export function createPowerShellSource(options: PowerShellSourceOptions): SampleSource {
  return new PowerShellSource(options);
}

class PowerShellSource implements SampleSource {
  readonly name = 'powershell' as const;

  private readonly logger: Logger;
  private readonly sampleCommand: string;
  private readonly scriptPath: string;
  private readonly backoff: RestartBackoff;
  private readonly killGraceMs: number;
  /** Aborted by close(), so that a start or an invocation in flight ends at once. */
  private readonly lifetime = new AbortController();

  private session: PowerShellSession | undefined;
  /** Sessions being disposed; close() waits for them so that no process outlives the source. */
  private readonly retiring = new Set<Promise<void>>();
  /** Samples run one after another; this is the last one queued. */
  private tail: Promise<unknown> = Promise.resolve();
  private consecutiveFailures = 0;
  private lastFailure: { readonly error: SampleError; readonly at: number } | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: PowerShellSourceOptions) {
    if (!Number.isSafeInteger(options.recycleAfterSamples) || options.recycleAfterSamples < 1) {
      throw new RangeError(`recycleAfterSamples must be a positive integer, got ${String(options.recycleAfterSamples)}`);
    }
    if (options.executable.trim() === '') throw new RangeError('the PowerShell executable must not be empty');
    this.sampleCommand = buildSampleCommand(options.computerName);
    this.scriptPath = options.scriptPath ?? defaultCollectScriptPath();
    if (!existsSync(this.scriptPath)) throw new Error(`collect.ps1 not found at ${this.scriptPath} (was the package built with npm run build?)`);
    this.backoff = options.restartBackoff ?? DEFAULT_RESTART_BACKOFF;
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.logger = options.logger.child({ source: 'powershell' });
  }

  sample(signal: AbortSignal): Promise<RawSample> {
    // The scheduler never overlaps samples, but a caller that does must not interleave two samples on
    // one process; waiting in line still honours this sample's own signal.
    const previous = this.tail;
    const run = abortable(previous, signal).then(
      () => this.sampleOnce(signal),
      () => {
        throw this.interruptedError('the sample had not started yet');
      },
    );
    this.tail = Promise.allSettled([previous, run]);
    return run;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.lifetime.abort();
    await this.tail;
    if (this.session !== undefined) this.retire(this.session);
    await Promise.all([...this.retiring]);
    this.logger.debug('PowerShell source closed');
  }

  private async sampleOnce(callerSignal: AbortSignal): Promise<RawSample> {
    if (callerSignal.aborted || this.lifetime.signal.aborted) throw this.interruptedError('the sample had not started yet');
    const signal = AbortSignal.any([callerSignal, this.lifetime.signal]);
    const session = await this.acquireSession(signal);
    session.samplesRun += 1;

    let raw: string;
    try {
      raw = await session.invoke(this.sampleCommand, signal);
    } catch (error) {
      const failure =
        error instanceof SessionAbortedError
          ? this.interruptedError(`PowerShell process ${String(session.pid)} is being replaced`)
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

    // collect.ps1 answered as designed (a document or a reported failure): the process is healthy.
    this.consecutiveFailures = 0;
    if (session.samplesRun >= this.options.recycleAfterSamples) {
      this.logger.debug({ pid: session.pid, samples: session.samplesRun }, 'recycling the PowerShell process');
      this.retire(session);
    }
    if (outcome.kind === 'reported_failure') throw outcome.error;
    return { text: outcome.text };
  }

  private async acquireSession(signal: AbortSignal): Promise<PowerShellSession> {
    const current = this.session;
    if (current !== undefined) {
      if (!current.exited) return current;
      this.fail(this.exitedError(current, 'while idle'), current);
    }

    const waitMs = this.lastFailure === undefined ? 0 : this.lastFailure.at + restartDelayMs(this.consecutiveFailures, this.backoff) - Date.now();
    if (waitMs > 0 && this.lastFailure !== undefined) {
      // Fail fast with the last reason rather than waiting: the reason keeps counting under its own
      // label, and a restart loop cannot spin faster than the backoff.
      throw new SampleError(
        this.lastFailure.error.reason,
        `not restarting PowerShell for another ${Math.ceil(waitMs / 1000)} s after ${this.consecutiveFailures} consecutive failures; last: ${this.lastFailure.error.message}`,
      );
    }

    const startedAt = Date.now();
    const session = PowerShellSession.spawn({ executable: this.options.executable, killGraceMs: this.killGraceMs });
    let info: SessionInfo;
    try {
      info = await session.load(this.scriptPath, this.options.preloadModules ?? [], signal);
    } catch (error) {
      const failure =
        error instanceof SessionAbortedError
          ? this.interruptedError('PowerShell was still starting')
          : error instanceof SampleError
            ? error
            : this.startFailure(error);
      this.fail(failure, session);
      throw failure;
    }
    this.session = session;
    this.logger.info(
      { executable: this.options.executable, ...info, launcherPid: session.launcherPid, startMs: Date.now() - startedAt },
      'PowerShell process started',
    );
    return session;
  }

  private startFailure(error: unknown): SampleError {
    const classified = classifyShellFailure(error, this.options.executable);
    if (classified.reason !== 'source_error') return classified;
    return new SampleError('source_error', `PowerShell started but could not load ${this.scriptPath}: ${classified.message}`, { cause: error });
  }

  /** The sample's signal aborted (the scheduler's --sample.timeout), or close() was called. */
  private interruptedError(detail: string): SampleError {
    if (this.lifetime.signal.aborted) return new SampleError('source_error', `the PowerShell source was closed (${detail})`);
    return new SampleError('timeout', `PowerShell did not answer within the sample timeout (${detail})`);
  }

  private exitedError(session: PowerShellSession, when: string, cause?: unknown): SampleError {
    return new SampleError('source_error', `PowerShell process ${String(session.pid)} exited ${when} (${session.exitReason ?? 'unknown status'})`, {
      cause,
    });
  }

  /** Records a failure that cost the process (or its start); it counts towards the restart backoff. */
  private fail(error: SampleError, session?: PowerShellSession): void {
    this.consecutiveFailures += 1;
    this.lastFailure = { error, at: Date.now() };
    if (session !== undefined) this.retire(session);
    this.logger.warn(
      { pid: session?.pid, reason: error.reason, consecutiveFailures: this.consecutiveFailures, err: error },
      'PowerShell process failed; it will be replaced at the next sample',
    );
  }

  private retire(session: PowerShellSession): void {
    if (this.session === session) this.session = undefined;
    const disposal = session.dispose().finally(() => this.retiring.delete(disposal));
    this.retiring.add(disposal);
  }
}
