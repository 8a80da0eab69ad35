import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeTools, inspectAllTools, REPOSITORY_ROOT, shareTools } from './helpers/testTools';

/** Finds the real programs once, says which ran, and shares them with the workers. */
export default function globalSetup(): void {
  const tools = inspectAllTools();
  shareTools(tools);
  process.stdout.write(`\ntest tools (scripts/test-tools.versions; CI=${process.env['CI'] ?? ''}):\n${describeTools(tools)}\n`);
  // The release is built once per run (test/helpers/release.ts): this run's id, and no earlier run's marker.
  process.env['HYPERV_IC_TEST_RUN_ID'] = `${Date.now()}-${process.pid}`;
  const releaseDirectory = join(REPOSITORY_ROOT, 'release');
  try {
    for (const name of readdirSync(releaseDirectory)) if (name.startsWith('.built-')) rmSync(join(releaseDirectory, name), { force: true });
  } catch {
    // No release/ yet.
  }
}
