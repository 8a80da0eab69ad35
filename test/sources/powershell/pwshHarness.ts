import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import { describeWithTools, testTools, toolPath } from '../../helpers/testTools';
import { DOCUMENT_CLASSES } from '../../../src/document/classes';
import { SampleError } from '../../../src/contract/sample';
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
    | 'session_fails'
    | 'session_not_configured'
    | 'session_access_denied';
  faultClass?: string;
  vmmsStatus?: 'Running' | 'Stopped' | 'StartPending' | 'NotFound';
  callLog?: string;
  /** Build each class's instances once per fixture and serve the same objects at every call (benchmarks). */
  prebuilt?: boolean;
  /** The fixture served through a CIM session to each computer name; others get `fixture`. */
  hosts?: Record<string, string>;
  /** The MSCluster_Node instances of root/MSCluster (State as CLUSTER_NODE_STATE, -1 for unknown). */
  clusterNodes?: Array<{ Name: string; State: number }>;
}

export interface StandInCall {
  readonly command: string;
  readonly Namespace?: string;
  readonly ClassName?: string;
  readonly Property?: string[] | null;
  readonly CimSession?: string | null;
  readonly ComputerName?: string[] | string | null;
  readonly Name?: string[] | string | null;
  /** Get-CimInstance: the -OperationTimeoutSec passed, null when not passed. */
  readonly OperationTimeoutSec?: number | null;
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

/** The SampleError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<SampleError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof SampleError)) throw new Error(`expected a SampleError, got ${String(outcome)}`);
  return outcome;
}

/**
 * One pwsh process driven line by line through stdin (`-Command -`), for tests that call collect.ps1's
 * functions directly rather than through the exporter's PowerShell source. Each `run` sends one line and
 * then a marker line, and resolves with what the command wrote to stdout before the marker.
 */
export class PwshShell {
  private stdout = '';
  private stderrText = '';
  private exited = false;
  private sequence = 0;
  private readonly exit: Promise<void>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      this.stderrText += chunk;
    });
    this.exit = new Promise((resolveExit) => {
      child.once('exit', () => {
        this.exited = true;
        resolveExit();
      });
    });
  }

  /** Starts pwsh, imports `modules`, dot-sources `scripts`, and waits until that is done. */
  static async start(options: { modules?: readonly string[]; scripts?: readonly string[]; env?: NodeJS.ProcessEnv }): Promise<PwshShell> {
    const child = spawn(pwshPath(), ['-NoProfile', '-NonInteractive', '-Command', '-'], {
      env: { ...process.env, TERM: 'dumb', NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const shell = new PwshShell(child);
    const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;
    const setup = [
      "$ProgressPreference = 'SilentlyContinue'",
      ...(options.modules ?? []).map((module) => `Import-Module -Name ${quote(module)} -Force -DisableNameChecking -ErrorAction Stop`),
      ...(options.scripts ?? []).map((script) => `. ${quote(script)}`),
    ];
    await shell.run(setup.join('; '), 60_000);
    return shell;
  }

  /** Runs one line of PowerShell; resolves with its stdout (without the final line break). */
  async run(command: string, timeoutMs = 30_000): Promise<string> {
    if (command.includes('\n')) throw new Error('PwshShell.run takes one line');
    if (this.exited) throw new Error(`pwsh has exited; stderr: ${this.stderrText}`);
    const marker = `__pwsh_shell_done_${++this.sequence}__`;
    const start = this.stdout.length;
    this.child.stdin.write(`${command}\n[Console]::Out.WriteLine('${marker}')\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.stdout.indexOf(`${marker}\n`, start);
      if (at >= 0) {
        const output = this.stdout.slice(start, at);
        this.stdout = this.stdout.slice(at + marker.length + 1);
        return output.replace(/\r?\n$/, '');
      }
      if (this.exited) throw new Error(`pwsh exited while running ${command.slice(0, 200)}; stderr: ${this.stderrText}`);
      if (Date.now() > deadline) throw new Error(`pwsh did not finish ${command.slice(0, 200)} within ${timeoutMs} ms`);
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 5));
    }
  }

  /** Everything pwsh wrote to stderr so far. */
  get stderr(): string {
    return this.stderrText;
  }

  async close(): Promise<void> {
    if (!this.exited) {
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await this.exit;
      clearTimeout(timer);
    }
  }
}

/** A PowerShell single-quoted string literal. */
export function powerShellLiteral(text: string): string {
  return `'${text.replace(/['\u2018\u2019\u201a\u201b]/g, "$&$&")}'`;
}

const DOTNET_DATE = /^\/Date\((-?\d+)\)\/$/;

/**
 * A copy of a sample document in which every LastSuccessfulBackupTime string is its instant (ms since
 * the epoch): ConvertTo-Json writes a CIM datetime as "\/Date(ms)\/" in Windows PowerShell 5.1 and as
 * ISO 8601 with the local offset in PowerShell 7, while fixtures give it in UTC.
 */
export function withDateTimesAsInstants<T>(document: T): T {
  return JSON.parse(JSON.stringify(document), (key, value: unknown) => {
    if (key !== 'LastSuccessfulBackupTime' || typeof value !== 'string') return value;
    const dotNet = DOTNET_DATE.exec(value);
    const instant = dotNet === null ? Date.parse(value) : Number(dotNet[1]);
    if (Number.isNaN(instant)) throw new Error(`not a date: ${value}`);
    return instant;
  }) as T;
}

export type Row = Record<string, unknown>;

/** A sample document as collect.ps1 writes it. */
export interface SampleDocument {
  schemaVersion: number;
  scope?: string;
  computerName: string;
  collectedAt: string;
  classes: Record<string, Row[]>;
}

/** A Full document of a host with `vmCount` running VMs and every component: a stand-in host of any size. */
export function generatedHost(vmCount: number): SampleDocument {
  const classes: Record<string, Row[]> = Object.fromEntries(Object.keys(DOCUMENT_CLASSES).map((name) => [name, []]));
  const rows = (className: string): Row[] => classes[className] ?? [];
  rows('Msvm_ComputerSystem').push({
    Name: 'HV-GEN',
    ElementName: 'HV-GEN',
    EnabledState: 2,
    HealthState: 5,
    OperationalStatus: [2],
    OnTimeInMilliseconds: null,
    LastSuccessfulBackupTime: null,
  });
  for (let index = 0; index < vmCount; index++) {
    const vmId = `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0').toUpperCase()}`;
    rows('Msvm_ComputerSystem').push({
      Name: vmId,
      ElementName: `vm-${index}`,
      EnabledState: 2,
      HealthState: 5,
      OperationalStatus: [2],
      OnTimeInMilliseconds: index * 1000,
      LastSuccessfulBackupTime: index % 2 === 0 ? '2025-01-14T23:00:00Z' : '1601-01-01T00:00:00Z',
    });
    for (const [className, properties] of Object.entries(DOCUMENT_CLASSES)) {
      if (className === 'Msvm_ComputerSystem') continue;
      const row: Row = {};
      for (const property of properties) {
        row[property] =
          property === 'SystemName'
            ? vmId
            : property === 'DeviceID'
              ? `Microsoft:${vmId}\\${className}`
              : property === 'InstanceID'
                ? `Microsoft:${vmId}\\${className}`
                : property === 'EnabledState'
                  ? 2
                  : property === 'OperationalStatus'
                    ? [2, 2]
                    : property.endsWith('Items')
                      ? [`<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Name" TYPE="string"><VALUE>k${index}</VALUE></PROPERTY></INSTANCE>`]
                      : property === 'Interval'
                        ? 2000
                        : property === 'Latency'
                          ? 1000
                          : 2;
      }
      rows(className).push(row);
    }
  }
  return { schemaVersion: 1, scope: 'full', computerName: 'HV-GEN', collectedAt: '2025-01-01T00:00:00.000Z', classes };
}

