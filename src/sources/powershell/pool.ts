import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SampleError } from '../../contract/sample';
import { DEFAULT_RESTART_BACKOFF, PowerShellWorker, type RestartBackoff } from './worker';

export interface PowerShellPoolOptions {
  /** `powershell.exe`, `pwsh`, or a full path (`--powershell.path`). */
  readonly executable: string;
  /**
   * How many PowerShell processes at most: as many as commands may run at once. Whoever calls the pool
   * bounds that (the slots of `--sample.concurrency`, src/contract/slots.ts): the pool has no queue.
   */
  readonly size: number;
  /** Replace a PowerShell process after this many commands (`--powershell.recycle-after`); at least 1. */
  readonly recycleAfterSamples: number;
  readonly scriptPath: string;
  readonly logger: Logger;
  /** Default: 1 s doubling up to 60 s. The first restart after a failure is always immediate. */
  readonly restartBackoff?: RestartBackoff;
  /** Modules imported into every process before collect.ps1: the tests' stand-ins for the CIM cmdlets. */
  readonly preloadModules?: readonly string[];
  /** How long a process may take to exit after SIGTERM before it gets SIGKILL. Default 2 s. */
  readonly killGraceMs?: number;
}

const DEFAULT_KILL_GRACE_MS = 2_000;

/**
 * The warm PowerShell processes that every host's samples share: up to `size` of them, each started
 * when first needed, each serving one command at a time, so that a slow or hung host holds one process
 * and the others go on. It is never asked for more commands at once than it has processes (the callers
 * run each command in a slot of the Slots it is sized by), and refuses such a command as the bug it is.
 * Samples are handed over through files (collect.ps1's -OutFile) in a directory of the pool's own that
 * only the exporter's account can read: each worker has one file, read and deleted before the worker
 * serves the next command.
 */
export class PowerShellPool {
  private readonly workers: PowerShellWorker[];
  private readonly idle: PowerShellWorker[];
  private readonly lifetime = new AbortController();
  private readonly directory: string;
  private closing: Promise<void> | undefined;

  constructor(readonly options: PowerShellPoolOptions) {
    if (!Number.isSafeInteger(options.recycleAfterSamples) || options.recycleAfterSamples < 1) {
      throw new RangeError(`recycleAfterSamples must be a positive integer, got ${String(options.recycleAfterSamples)}`);
    }
    if (!Number.isSafeInteger(options.size) || options.size < 1) throw new RangeError(`the pool size must be a positive integer, got ${String(options.size)}`);
    if (options.executable.trim() === '') throw new RangeError('the PowerShell executable must not be empty');
    // mkdtemp makes the directory readable by its owner only (0700) on Linux and macOS; on Windows it
    // is in the account's own %TEMP% (docs/security.md).
    this.directory = mkdtempSync(join(tmpdir(), 'hyperv-ic-'));
    const logger = options.logger.child({ source: 'powershell' });
    this.workers = Array.from(
      { length: options.size },
      (_, index) =>
        new PowerShellWorker({
          executable: options.executable,
          scriptPath: options.scriptPath,
          recycleAfterSamples: options.recycleAfterSamples,
          backoff: options.restartBackoff ?? DEFAULT_RESTART_BACKOFF,
          killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
          preloadModules: options.preloadModules ?? [],
          outFile: join(this.directory, `sample-${index}.json`),
          lifetime: this.lifetime.signal,
          logger: options.size === 1 ? logger : logger.child({ worker: index }),
        }),
    );
    this.idle = [...this.workers];
  }

  /**
   * Runs `work` with a worker of its own. The caller makes sure that one is free (see the class); a
   * command whose signal has aborted, or that comes after close(), does not start.
   */
  async withWorker<T>(signal: AbortSignal, work: (worker: PowerShellWorker) => Promise<T>): Promise<T> {
    if (this.lifetime.signal.aborted) throw new SampleError('source_error', 'the PowerShell source was closed (the sample had not started yet)');
    if (signal.aborted) throw new SampleError('timeout', 'PowerShell did not answer within the sample timeout (the sample had not started yet)');
    const worker = this.idle.pop();
    assert.ok(worker !== undefined, `PowerShellPool: a command came while all ${this.options.size} PowerShell processes were busy; it must not be asked for more at once than it has`);
    try {
      return await work(worker);
    } finally {
      this.idle.push(worker);
    }
  }

  /** Ends every process and removes the pool's directory; resolves once nothing is left. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.lifetime.abort();
      await Promise.all(this.workers.map((worker) => worker.close()));
      rmSync(this.directory, { recursive: true, force: true });
      this.options.logger.debug('PowerShell processes closed');
    })();
    return this.closing;
  }
}
