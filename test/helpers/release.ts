import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from './testTools';

/** What `npm run release` built, for the tests that run it. */
export interface Release {
  readonly version: string;
  /** The folder the zip holds (release/hyperv-ic-exporter-<version>-windows-amd64). */
  readonly stageDir: string;
  readonly zip: string;
  readonly msi: string;
  /** `npm run release`'s own output: its steps and their times. */
  readonly log: string;
}

const RELEASE_DIRECTORY = join(REPOSITORY_ROOT, 'release');
const LOCK = join(RELEASE_DIRECTORY, '.building');
/** One build per jest run: globalSetup sets the run's id; without it (a single file run by hand) the pid. */
const RUN_ID = process.env['HYPERV_IC_TEST_RUN_ID'] ?? String(process.ppid);
const MARKER = join(RELEASE_DIRECTORY, `.built-${RUN_ID}`);

function releaseOf(version: string, log: string): Release {
  const name = `hyperv-ic-exporter-${version}-windows-amd64`;
  return { version, stageDir: join(RELEASE_DIRECTORY, name), zip: join(RELEASE_DIRECTORY, `${name}.zip`), msi: join(RELEASE_DIRECTORY, `${name}.msi`), log };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds the release once per jest run, whichever test file asks first; the others wait for it. A
 * failed build fails every file that needs it, with the build's own last lines.
 */
export async function ensureRelease(): Promise<Release> {
  const version = (JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  mkdirSync(RELEASE_DIRECTORY, { recursive: true });
  for (;;) {
    if (existsSync(MARKER)) {
      const outcome = JSON.parse(readFileSync(MARKER, 'utf8')) as { ok: boolean; log: string };
      if (!outcome.ok) throw new Error(`npm run release failed: ${outcome.log.trim().split('\n').slice(-4).join(' | ')}`);
      return releaseOf(version, outcome.log);
    }
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another worker builds; a lock older than 10 minutes is a build that died.
      if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })!.mtimeMs > 600_000) rmSync(LOCK, { recursive: true, force: true });
      await sleep(500);
    }
  }
  try {
    const outcome = await new Promise<{ ok: boolean; log: string }>((resolve) => {
      // The script itself, not `npm run release`: that would build dist/ again while other test files run it (npm test built it).
      execFile(process.execPath, ['scripts/packaging/release.js'], { cwd: REPOSITORY_ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 }, (error, stdout, stderr) =>
        resolve({ ok: error === null, log: `${stdout}${stderr}` }),
      );
    });
    writeFileSync(MARKER, JSON.stringify(outcome));
    if (!outcome.ok) throw new Error(`npm run release failed: ${outcome.log.trim().split('\n').slice(-4).join(' | ')}`);
    return releaseOf(version, outcome.log);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
