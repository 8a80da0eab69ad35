import { spawnSync } from 'node:child_process';
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

/** A command's whole output, for assertion messages. */
export function describeResult(result: CommandResult): string {
  return `exit ${String(result.status)}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
