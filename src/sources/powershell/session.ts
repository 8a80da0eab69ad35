import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { InvocationError, PowerShell } from 'node-powershell';
import type { InvocationResult } from 'node-powershell';
import { SampleError } from '../../contract/sample';
import { COLLECT_QUERIES } from '../../document/classes';
import { cleanShellOutput } from './classify';
import { powerShellStringExpression } from './quoting';

/**
 * One PowerShell process with collect.ps1 loaded: started, asked, and ended. It knows nothing about
 * samples, reasons or restart policy; worker.ts decides those (with classify.ts).
 */

/**
 * The most bytes one command may write to stdout, node-powershell's two delimiter lines included. The
 * protocol's answers are one short line (the file a sample was written to, collect.ps1's error object,
 * the session's start-up answer, a failover cluster's at most 64 nodes); the sample document itself comes
 * through a file. Past this, the command's output is not what collect.ps1 writes: reading stops at once,
 * the command fails with output_unparseable and the caller replaces the process (docs/limits.md).
 * node-powershell would otherwise gather all of it, in time quadratic in its size (10 MiB written in
 * 64 KiB pieces took 8 s on the 2-core test machine; 50 MB ran into the sample timeout, counted as one).
 */
export const MAX_COMMAND_STDOUT_BYTES = 64 * 1024;

/** node-powershell's first line of a command's output: its 16-character delimiter. */
const DELIMITER_LINE = /^[0-9A-Za-z]{16}\r?\n/;

/** Rejection of `invoke`/`load` when the caller's signal aborted; the caller must dispose the session. */
export class SessionAbortedError extends Error {
  constructor() {
    super('the PowerShell invocation was abandoned because its signal aborted');
    this.name = 'SessionAbortedError';
  }
}

export interface SessionInfo {
  readonly pid: number;
  readonly psVersion: string;
  readonly psEdition: string;
}

export interface SessionSpawnOptions {
  readonly executable: string;
  /** How long a process may take to exit after SIGTERM before it gets SIGKILL. */
  readonly killGraceMs: number;
}

/**
 * node-powershell chooses the executable itself: the NODE_POWERSHELL environment variable overrides the
 * option and 'pwsh-preview' silently becomes 'pwsh' (wmi.md §11). --powershell.path must be exactly
 * what runs, so this subclass takes the executable as given.
 */
class ExactExecutablePowerShell extends PowerShell {
  protected override setExecutable({ executable }: { executable?: string }): string {
    if (executable === undefined || executable === '') throw new Error('no PowerShell executable given');
    return executable;
  }
}

/**
 * node-powershell 5 keeps its ChildProcess in a private field. Reading it is the only way to learn that
 * the process exited between invocations, and to know its pid before the first answer; if a future
 * version moves it, the session still works and only learns of an exit from the next invocation.
 */
function childProcessOf(shell: PowerShell): ChildProcess | undefined {
  const candidate: unknown = (shell as unknown as { process?: unknown }).process;
  return candidate instanceof ChildProcess ? candidate : undefined;
}

/** Resolves with the promise, or rejects with SessionAbortedError as soon as the signal aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new SessionAbortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new SessionAbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The one line sent when a process starts. UTF-8 output without a byte-order mark (Windows PowerShell
 * otherwise writes the OEM code page, garbling any non-ASCII text); plain-text rendering so that
 * PowerShell 7 adds no colour codes; then the stand-in modules, collect.ps1, the classes it is to
 * query (buildQueriesCommand), and a reply that proves the script loaded.
 */
export function buildInitCommand(scriptPath: string, preloadModules: readonly string[]): string {
  const parts = [
    "$ProgressPreference = 'SilentlyContinue'",
    // In try/catch: a process without a console must still start (collect.ps1's output is ASCII anyway).
    'try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { $null = $_ }',
    "if ($PSStyle) { $PSStyle.OutputRendering = 'PlainText' }",
    ...preloadModules.map(
      (modulePath) => `Import-Module -Name ${powerShellStringExpression(modulePath)} -Force -DisableNameChecking -ErrorAction Stop`,
    ),
    `. ${powerShellStringExpression(scriptPath)}`,
    buildQueriesCommand(),
    'Get-HyperVIcSessionInfo',
  ];
  return parts.join('; ');
}

/** What hands collect.ps1 the classes to query (COLLECT_QUERIES): one quoted JSON literal, data and never code. */
export function buildQueriesCommand(): string {
  return `Set-HyperVIcQueries -Json ${powerShellStringExpression(JSON.stringify(COLLECT_QUERIES))}`;
}

function excerptOf(text: string, maxLength = 200): string {
  const oneLine = cleanShellOutput(text).replace(/\s+/g, ' ');
  return oneLine.length <= maxLength ? oneLine : `${oneLine.slice(0, maxLength)}…`;
}

function parseSessionInfo(raw: string): SessionInfo {
  const text = cleanShellOutput(raw);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new SampleError('output_unparseable', `PowerShell answered the start-up command with something other than JSON: ${text.slice(0, 300)}`, {
      cause,
    });
  }
  const info = parsed as Partial<Record<keyof SessionInfo, unknown>> | null;
  if (typeof info?.pid !== 'number' || typeof info.psVersion !== 'string' || typeof info.psEdition !== 'string') {
    throw new SampleError('output_unparseable', `unexpected start-up answer from PowerShell: ${text.slice(0, 300)}`);
  }
  return { pid: info.pid, psVersion: info.psVersion, psEdition: info.psEdition };
}

/** True while the process exists and is not a zombie (an exited child nobody has reaped yet). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signalProcess(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

export class PowerShellSession {
  /** Samples asked of this process so far (the source recycles it after a number of them). */
  samplesRun = 0;
  private exitDescription: string | undefined;
  private disposal: Promise<void> | undefined;
  private info: SessionInfo | undefined;
  /** Bytes of stdout read since the current command was sent, and the first of them (for the error). */
  private stdoutBytes = 0;
  private stdoutHead = '';
  /** Fails the command in flight; set while one is. */
  private failCommand: ((error: SampleError) => void) | undefined;
  private stdoutOverflowed = false;

  private constructor(
    private readonly shell: PowerShell,
    private readonly child: ChildProcess | undefined,
    private readonly killGraceMs: number,
  ) {
    child?.once('exit', (code, signal) => {
      this.exitDescription = signal ? `signal ${signal}` : `exit code ${String(code)}`;
    });
    child?.once('error', (error) => {
      this.exitDescription ??= `spawn error: ${error.message}`;
    });
    // Beside node-powershell's own reader (which pauses the stream between commands, so that what comes
    // meanwhile counts towards the next one): counts what each command writes and stops at the bound.
    child?.stdout?.on('data', (chunk: string | Buffer) => this.countStdout(chunk));
  }

  private countStdout(chunk: string | Buffer): void {
    if (this.stdoutOverflowed) return;
    this.stdoutBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.length;
    if (this.stdoutHead.length < 400) this.stdoutHead += chunk.toString().slice(0, 400);
    if (this.stdoutBytes <= MAX_COMMAND_STDOUT_BYTES) return;
    this.stdoutOverflowed = true;
    // Not one more byte: node-powershell's reader is piped from this stream and ends with it. The process
    // can no longer answer; the caller disposes it.
    this.child?.stdout?.destroy();
    const head = excerptOf(this.stdoutHead.replace(DELIMITER_LINE, ''));
    this.failCommand?.(
      new SampleError(
        'output_unparseable',
        `PowerShell wrote more than ${MAX_COMMAND_STDOUT_BYTES} bytes to stdout for one command, whose answer is one short line; reading stopped there. It began: ${head}`,
      ),
    );
  }

  /**
   * Spawns PowerShell (`-NoProfile -NonInteractive -ExecutionPolicy Bypass -Command -`). The process
   * starts at once; a spawn failure (ENOENT) surfaces from the first invocation, i.e. from load().
   */
  static spawn(options: SessionSpawnOptions): PowerShellSession {
    const shell = new ExactExecutablePowerShell({
      executable: options.executable,
      executableOptions: {
        '-NoProfile': true,
        '-NonInteractive': true,
        // Process scope only: lets the session dot-source collect.ps1 where the machine policy is
        // Restricted (the Windows client default). A Group Policy that enforces a policy still wins.
        '-ExecutionPolicy': 'Bypass',
      },
      spawnOptions: {
        // TERM=dumb: PowerShell 7 on Unix otherwise writes cursor-mode escape codes around every answer.
        env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' },
        windowsHide: true,
      },
    });
    return new PowerShellSession(shell, childProcessOf(shell), options.killGraceMs);
  }

  /**
   * Loads the stand-in modules and collect.ps1 and waits for the script's answer. Rejects with
   * node-powershell's error, a SampleError or SessionAbortedError; the caller then disposes the session.
   */
  async load(scriptPath: string, preloadModules: readonly string[], signal: AbortSignal): Promise<SessionInfo> {
    const result = await this.invokeRaw(buildInitCommand(scriptPath, preloadModules), signal);
    this.info = parseSessionInfo(result.raw);
    return this.info;
  }

  /** The PowerShell process itself, as PowerShell reports its $PID (known once loaded). */
  get pid(): number | undefined {
    return this.info?.pid ?? this.child?.pid;
  }

  /**
   * The process Node started, when it is not PowerShell itself but a launcher: a pwsh installed as a
   * .NET tool is a shim that runs PowerShell in a child process, and killing the shim alone would leave
   * that child running.
   */
  get launcherPid(): number | undefined {
    const spawned = this.child?.pid;
    return spawned !== undefined && this.info !== undefined && this.info.pid !== spawned ? spawned : undefined;
  }

  get sessionInfo(): SessionInfo | undefined {
    return this.info;
  }

  /** True once the process exited (or never started), whether or not anyone asked it to. */
  get exited(): boolean {
    return this.exitDescription !== undefined;
  }

  /** How the process ended, e.g. `exit code 3` or `signal SIGKILL`; undefined while it runs. */
  get exitReason(): string | undefined {
    return this.exitDescription;
  }

  /**
   * Runs one single-line command and returns its stdout (node-powershell rejects on any stderr text).
   * More than MAX_COMMAND_STDOUT_BYTES of stdout rejects with an output_unparseable SampleError at once;
   * the caller then disposes the session.
   */
  async invoke(command: string, signal: AbortSignal): Promise<string> {
    const result = await this.invokeRaw(command, signal);
    return result.raw;
  }

  private async invokeRaw(command: string, signal: AbortSignal): Promise<InvocationResult> {
    if (this.disposal !== undefined) throw new InvocationError('invoke called after process exited');
    if (this.stdoutOverflowed) throw new SampleError('output_unparseable', 'this PowerShell process wrote too much to stdout before and no longer answers; it must be replaced');
    this.stdoutBytes = 0;
    this.stdoutHead = '';
    // Rejects when the command writes more than MAX_COMMAND_STDOUT_BYTES to stdout.
    const overflow = new Promise<never>((_resolve, reject) => {
      this.failCommand = reject;
    });
    const invocation = this.shell.invoke(command);
    // After an abort nobody awaits the invocation any more; its eventual rejection is expected.
    invocation.catch(() => undefined);
    try {
      return await abortable(Promise.race([invocation, overflow]), signal);
    } finally {
      this.failCommand = undefined;
      // node-powershell keeps every invocation, stdout included, in `history` and never trims it.
      this.shell.history.length = 0;
    }
  }

  /**
   * Ends the process: SIGTERM, then SIGKILL after the grace period. Idempotent; resolves once the
   * process is gone. node-powershell does not stop a running command, so this is also how a hung
   * invocation ends.
   */
  dispose(): Promise<void> {
    this.disposal ??= this.terminate();
    return this.disposal;
  }

  private async terminate(): Promise<void> {
    // PowerShell's own process first, while its launcher (if any) still holds it as a child.
    const powershellPid = this.launcherPid === undefined ? undefined : this.info?.pid;
    signalProcess(powershellPid, 'SIGTERM');
    const exited = this.shell.dispose('SIGTERM').catch(() => undefined);
    const escalation = setTimeout(() => {
      signalProcess(powershellPid, 'SIGKILL');
      void this.shell.dispose('SIGKILL').catch(() => undefined);
    }, this.killGraceMs);
    try {
      await exited;
      if (powershellPid !== undefined) {
        const deadline = Date.now() + 2 * this.killGraceMs;
        while (isProcessAlive(powershellPid) && Date.now() < deadline) await sleep(20);
        if (isProcessAlive(powershellPid)) signalProcess(powershellPid, 'SIGKILL');
      }
    } finally {
      clearTimeout(escalation);
    }
  }
}
