import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** How to get the real Prometheus programs on a machine that lacks them (Debian packages). */
export const INSTALL_HINT =
  'install them with `apt-get install -y --no-install-recommends prometheus prometheus-alertmanager` ' +
  '(as root; `bash scripts/install-test-tools.sh` does the same)';

export const REPOSITORY_ROOT = path.resolve(__dirname, '../../..');

/** The absolute path of an executable found on PATH, or null. */
export function findExecutable(name: string): string | null {
  for (const directory of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (directory === '') continue;
    const candidate = path.join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * `describe` when every tool is installed. Otherwise the suite must not quietly pass: under CI=true
 * it becomes one failing test naming the missing tools; elsewhere it is skipped (jest reports it as
 * skipped, never as passed) with a message saying how to install them.
 */
export function describeWithTools(tools: readonly string[], name: string, body: () => void): void {
  const missing = tools.filter((tool) => findExecutable(tool) === null);
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const message = `${missing.join(', ')} not found on PATH; ${INSTALL_HINT}`;
  if (process.env['CI'] === 'true') {
    describe(name, () => {
      test('has the programs it needs', () => {
        throw new Error(message);
      });
    });
    return;
  }
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED "${name}": ${message}`);
  describe.skip(name, body);
}

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
