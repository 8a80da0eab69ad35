import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import { describeWithTools, testTools, toolPath } from '../../helpers/testTools';
import { SampleError } from '../../../src/sampling/failureReasons';
import { isProcessAlive } from '../../../src/sources/powershell/session';

/**
 * Shared helpers for the tests that run a real PowerShell: finding pwsh, declaring pwsh-dependent
 * suites (skipped with a reason where pwsh is absent, failing in CI), and the stand-in control file.
 */

export const REPO_ROOT = resolve(__dirname, '../../..');
export const STAND_IN_MODULE = join(REPO_ROOT, 'test/fixtures/powershell/HyperVIcStandIn.psm1');
export const FIXTURE_DOCUMENTS = join(REPO_ROOT, 'test/fixtures/powershell/documents');

/** The pinned pwsh (test/helpers/testTools.ts), or why there is none. */
export type PwshLocation = { readonly path: string } | { readonly missing: string };

export const PWSH: PwshLocation = (() => {
  const status = testTools().pwsh;
  return status.path === null ? { missing: status.problem ?? 'no pwsh' } : { path: status.path };
})();

/** The pwsh path; only call inside a suite declared with describeWithPwsh. */
export function pwshPath(): string {
  return toolPath('pwsh');
}

/** A suite that needs pwsh at its pinned version (see describeWithTools). */
export function describeWithPwsh(name: string, body: () => void): void {
  describeWithTools(['pwsh'], name, body);
}

/**
 * The PowerShell executables the golden tests run collect.ps1 in: the pwsh found above and, where the
 * environment names one (WINDOWS_POWERSHELL_PATH, e.g. on a Windows CI runner), Windows PowerShell 5.1.
 */
export function executablesUnderTest(): Array<{ readonly label: string; readonly path: string }> {
  const executables: Array<{ label: string; path: string }> = [];
  if ('path' in PWSH) executables.push({ label: 'pwsh', path: PWSH.path });
  const windowsPowerShell = process.env.WINDOWS_POWERSHELL_PATH;
  if (windowsPowerShell !== undefined && windowsPowerShell !== '') executables.push({ label: 'Windows PowerShell', path: windowsPowerShell });
  return executables;
}

export interface StandInControl {
  fixture?: string;
  fault?:
    | 'none'
    | 'hang'
    | 'exit'
    | 'noisy'
    | 'nonterminating_error'
    | 'namespace_missing'
    | 'access_denied'
    | 'empty'
    | 'stdout_garbage'
    | 'stderr_text'
    | 'session_fails';
  faultClass?: string;
  vmmsStatus?: 'Running' | 'Stopped' | 'StartPending' | 'NotFound';
  callLog?: string;
}

export interface StandInCall {
  readonly command: string;
  readonly Namespace?: string;
  readonly ClassName?: string;
  readonly Property?: string[] | null;
  readonly CimSession?: string | null;
  readonly ComputerName?: string[] | string | null;
  readonly Name?: string[] | string | null;
}

/**
 * A temporary directory with the stand-in's control file and call log. The PowerShell process reads
 * the control file at every stand-in call, so one process serves many scenarios.
 */
export class StandInWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'hyperv-ic-standin-'));
  readonly controlPath = join(this.dir, 'control.json');
  readonly callLogPath = join(this.dir, 'calls.jsonl');

  constructor() {
    this.control({ fault: 'none' });
  }

  /** Replaces the whole control file (the call log always goes to this workspace). */
  control(control: StandInControl): void {
    writeFileSync(this.controlPath, JSON.stringify({ callLog: this.callLogPath, ...control }), 'utf8');
  }

  /** Writes a sample document for the stand-in to serve and returns its path. */
  writeDocument(name: string, document: unknown): string {
    const path = join(this.dir, name);
    writeFileSync(path, JSON.stringify(document), 'utf8');
    return path;
  }

  clearCalls(): void {
    rmSync(this.callLogPath, { force: true });
  }

  calls(): StandInCall[] {
    let text: string;
    try {
      text = readFileSync(this.callLogPath, 'utf8');
    } catch {
      return [];
    }
    return text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line.replace(/^\uFEFF/, '')) as StandInCall);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A logger whose records the test can read (the source logs starts, failures and recycling). */
export function capturingLogger(): { logger: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string): void {
        records.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, records };
}

/** True while a process with this pid exists (zombies count as gone). */
export function processExists(pid: number): boolean {
  return isProcessAlive(pid);
}

/** True once no process with this pid exists any more, not even as a zombie awaiting its parent. */
export function processReaped(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Polls until the condition holds or the time is up. */
export async function waitFor(condition: () => boolean, timeoutMs: number, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolveDelay) => setTimeout(resolveDelay, intervalMs));
  }
  return condition();
}

/** The SampleError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<SampleError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof SampleError)) throw new Error(`expected a SampleError, got ${String(outcome)}`);
  return outcome;
}
