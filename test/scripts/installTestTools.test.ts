import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectTool, pinnedVersions, REPOSITORY_ROOT } from '../helpers/testTools';

describe('scripts/install-test-tools.sh', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'install-test-tools-'));
    mkdirSync(join(scratch, 'scripts'));
    cpSync(join(REPOSITORY_ROOT, 'scripts/install-test-tools.sh'), join(scratch, 'scripts/install-test-tools.sh'));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  test('installs PowerShell only with --version, from the pinned versions file', () => {
    const script = readFileSync(join(REPOSITORY_ROOT, 'scripts/install-test-tools.sh'), 'utf8');
    expect(script).toMatch(/dotnet tool install --tool-path \.tools\/pwsh PowerShell --version "\$PWSH_VERSION"/);
    expect(script).not.toMatch(/dotnet tool install[^\n]*PowerShell\s*(>|\|\||$)/m);
    expect(pinnedVersions()['PWSH_VERSION']).toBe('7.6.9');
  });

  test('under CI=true, a step that fails ends the script at once with one line naming the tool', () => {
    // A PowerShell version that no registry serves: the install step must fail, and say so.
    const versions = readFileSync(join(REPOSITORY_ROOT, 'scripts/test-tools.versions'), 'utf8').replace(/^PWSH_VERSION=.*$/m, 'PWSH_VERSION=7.6.999');
    writeFileSync(join(scratch, 'scripts/test-tools.versions'), versions);
    const result = spawnSync('bash', ['scripts/install-test-tools.sh'], { cwd: scratch, encoding: 'utf8', timeout: 300_000, env: { ...process.env, CI: 'true' } });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^install-test-tools: FAILED: (pwsh|prometheus\/alertmanager\/docker-compose): /);
  }, 300_000);
});

describe('the tests check the version of the tool they run', () => {
  test('a pwsh of another version is reported, not taken for the pinned one', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'fake-pwsh-'));
    const fake = join(scratch, 'pwsh');
    writeFileSync(fake, '#!/bin/sh\necho 7.4.0\n');
    chmodSync(fake, 0o755);
    const saved = process.env['PWSH_PATH'];
    process.env['PWSH_PATH'] = fake;
    try {
      const status = inspectTool('pwsh');
      expect(status).toMatchObject({ path: fake, version: '7.4.0', wanted: '7.6.9' });
      expect(status.problem).toMatch(/pinned to 7\.6\.9/);
    } finally {
      if (saved === undefined) delete process.env['PWSH_PATH'];
      else process.env['PWSH_PATH'] = saved;
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
