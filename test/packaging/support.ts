// Helpers shared by the packaging tests: where the repository is, and how a test that needs an
// external program behaves when the program is missing (CI must have it; a laptop may not).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

export function repoPath(...segments: string[]): string {
  return path.join(repoRoot, ...segments);
}

export const runningInCi = process.env.CI === 'true';

/**
 * `describe` when the tool is there; otherwise a suite that fails in CI (a missing install step must
 * not pass silently) and is skipped elsewhere, with the reason in its title.
 */
export function describeWithTool(
  title: string,
  missingReason: string | undefined,
  body: () => void,
): void {
  if (missingReason === undefined) {
    describe(title, body);
  } else if (runningInCi) {
    describe(title, () => {
      test(`requires a tool that CI must install: ${missingReason}`, () => {
        throw new Error(missingReason);
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${missingReason})`, body);
  }
}

/** Loads an npm package that may not be installed yet, or returns undefined. */
export function optionalRequire<T>(packageName: string): T | undefined {
  try {
    return require(packageName) as T;
  } catch {
    return undefined;
  }
}

function newestModification(directory: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestModification(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Runs `npm run build` only when dist/ is missing or older than src/, so that other test files
 * reading dist/ at the same time are not disturbed by a rebuild.
 */
export function ensureBuilt(): void {
  const main = repoPath('dist', 'main.js');
  if (fs.existsSync(main) && fs.statSync(main).mtimeMs >= newestModification(repoPath('src'))) return;
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stderr}\n${result.stdout}`);
}
