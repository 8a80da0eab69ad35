import { execFileSync } from 'node:child_process';

/**
 * Finds a real program the tests need. Where it is missing: under CI=true that is a failure (CI
 * installs it through scripts/install-test-tools.sh), elsewhere the caller skips with `reason`.
 */
export function findProgram(name: string): { path: string | null; reason: string } {
  try {
    const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    if (path !== '') return { path, reason: '' };
  } catch {
    // not found
  }
  return {
    path: null,
    reason: `${name} is not installed: run "bash scripts/install-test-tools.sh" (as root: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager)`,
  };
}

/** `describe` when the program exists; a reported skip (never a pass) where not, and a failure in CI. */
export function describeWithProgram(name: string, title: string, body: (path: string) => void): void {
  const { path, reason } = findProgram(name);
  if (path !== null) {
    describe(title, () => body(path));
  } else if (process.env.CI === 'true') {
    describe(title, () => {
      test(`${name} is installed`, () => {
        throw new Error(reason);
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${reason})`, () => {
      test('needs the program', () => undefined);
    });
  }
}
