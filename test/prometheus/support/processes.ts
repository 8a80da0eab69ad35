import { spawn, type ChildProcess } from 'node:child_process';

/** A program started by a test: its output is kept for failure messages. */
export class StartedProcess {
  private output = '';
  private exited: Promise<void>;
  exitCode: number | null = null;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      // Bounded: a chatty process must not grow the test's memory without limit.
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last part of what the process printed, for assertion messages. */
  log(): string {
    return `--- ${this.name} (pid ${String(this.child.pid)}) output:\n${this.output.slice(-4000)}`;
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period; by pid, nothing else. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

const started = new Set<StartedProcess>();

// If jest itself is torn down before afterAll runs, do not leave servers behind.
process.once('exit', () => {
  for (const p of started) if (p.running && p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
});

export function startProcess(name: string, executable: string, args: readonly string[], cwd?: string): StartedProcess {
  const child = spawn(executable, [...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = new StartedProcess(name, child);
  started.add(p);
  return p;
}

export async function stopAll(processes: readonly (StartedProcess | undefined)[]): Promise<void> {
  await Promise.all(processes.map(async (p) => {
    if (p === undefined) return;
    await p.stop();
    started.delete(p);
  }));
}

