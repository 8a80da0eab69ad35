import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPOSITORY_ROOT } from '../../helpers/testTools';

export { REPOSITORY_ROOT, describeWithTools, toolPath } from '../../helpers/testTools';

export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a short command to completion (promtool, amtool) with a hard time limit. */
export function runCommand(executable: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): CommandResult {
  const result = spawnSync(executable, [...args], {
    cwd: options.cwd ?? REPOSITORY_ROOT,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** runCommand without blocking the event loop, so that several can run at once. */
export function runCommandAsync(executable: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [...args], { cwd: options.cwd ?? REPOSITORY_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    exitOf(child, options.timeoutMs).then((status) => resolve({ status, stdout, stderr }), reject);
  });
}

/** The exit status of `child`, which is killed after timeoutMs (30 s by default); rejects if it cannot be started. */
function exitOf(child: ChildProcess, timeoutMs = 30_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve(status);
    });
  });
}

/**
 * runCommandAsync with stdout and stderr written to one file, so that the output reads in the order
 * the program wrote it (promtool names each file it reports on on stdout and prints FAILED on stderr).
 */
export async function runCommandCombinedAsync(
  executable: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ readonly status: number | null; readonly output: string }> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'hyperv-command-'));
  const file = path.join(directory, 'output');
  const fd = openSync(file, 'w');
  try {
    const status = await exitOf(spawn(executable, [...args], { cwd: options.cwd ?? REPOSITORY_ROOT, stdio: ['ignore', fd, fd] }), options.timeoutMs);
    return { status, output: readFileSync(file, 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A command's whole output, for assertion messages. */
export function describeResult(result: CommandResult): string {
  return `exit ${String(result.status)}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
