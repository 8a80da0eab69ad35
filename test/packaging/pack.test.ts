// What a user gets from `npm install hyperv-ic-exporter`: the tarball `npm pack` makes holds only the
// built exporter, its PowerShell collection script, the dashboard, the schema, the docs and the
// Windows service scripts; installed into an empty folder it runs with `npx hyperv-ic-exporter`,
// serves /-/ready on the simulator and exits 0 on SIGTERM.
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { linkedPaths } from '../helpers/markdownLinks';
import { waitFor } from '../helpers/waitFor';
import { freePort } from '../helpers/freePort';
import { ensureBuilt, repoPath, repoRoot } from './support';

jest.setTimeout(60_000);

const packageJson = JSON.parse(fs.readFileSync(repoPath('package.json'), 'utf8')) as { name: string; version: string };

// Quiet, deterministic npm: no update check, audit or funding calls to the registry.
const npmEnvironment: NodeJS.ProcessEnv = {
  ...process.env,
  npm_config_update_notifier: 'false',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_loglevel: 'error',
};

function run(command: string, args: string[], options: SpawnSyncOptions): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env: npmEnvironment, timeout: 45_000, ...options });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${String(result.stderr)}\n${String(result.stdout)}`);
  }
  return String(result.stdout);
}

// ---- what may and must be in the tarball -----------------------------------------------------------

const allowedInPackage: RegExp[] = [
  /^package\.json$/,
  /^(README|CHANGELOG|LICENSE|NOTICE)(\.md|\.txt)?$/,
  /^dist\/(?!.*\.test\.js$).*\.js$/,
  /^dist\/sources\/powershell\/collect\.ps1$/,
  /^grafana\/dashboards\/[^/]+\.json$/,
  /^schema\/.+\.json$/,
  /^docs\/.+\.(md|png|svg)$/,
  /^scripts\/(install|uninstall)-service\.ps1$/,
  // The alert rules and the example scrape config, for hosts that get everything through npm.
  /^prometheus\/(alerts|alertmanager|prometheus|prometheus-probe)\.yml$/,
  // What the docs link to: Grafana provisioning, the example hosts file.
  /^grafana\/provisioning\/[a-z]+\/[^/]+\.yml$/,
  /^examples\/[^/]+\.yml$/,
];

function requiredInPackage(): string[] {
  const required = [
    'package.json',
    'README.md',
    'CHANGELOG.md',
    'dist/main.js',
    'dist/sources/powershell/collect.ps1',
    'grafana/dashboards/hyperv-ic.json',
    'docs/docker.md',
    'docs/windows-service.md',
    // A Hyper-V host gets the exporter through npm; the service scripts must come with it.
    'scripts/install-service.ps1',
    'scripts/uninstall-service.ps1',
    'prometheus/alerts.yml',
    'prometheus/prometheus-probe.yml',
  ];
  if (fs.existsSync(repoPath('schema'))) {
    for (const entry of fs.readdirSync(repoPath('schema'))) if (entry.endsWith('.json')) required.push(`schema/${entry}`);
  }
  return required;
}

// ---- talking to the installed exporter -------------------------------------------------------------

function httpStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', () => resolve(undefined));
    request.on('timeout', () => {
      request.destroy();
      resolve(undefined);
    });
  });
}

/** The status once it is `expected`; after `timeoutMs`, the last one seen (undefined: no answer). */
async function waitForStatus(url: string, expected: number, timeoutMs: number): Promise<number | undefined> {
  let last: number | undefined;
  return waitFor(`${url} to answer ${expected}`, async () => ((last = await httpStatus(url)) === expected ? last : undefined), { timeoutMs }).catch(() => last);
}

/** True once nothing answers at the URL any more; false if something still does after `timeoutMs`. */
async function waitUntilClosed(url: string, timeoutMs: number): Promise<boolean> {
  return waitFor(`nothing to answer at ${url}`, async () => (await httpStatus(url)) === undefined, { timeoutMs }).catch(() => false);
}

interface StartedExporter {
  child: ChildProcess;
  output(): string;
  exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'timeout'>;
  /** Cleanup that cannot leave an exporter behind, whatever the test did. */
  killGroup(): void;
}

function startInstalled(command: string, args: string[]): StartedExporter {
  const child = spawn(command, args, {
    cwd: installDirectory,
    env: npmEnvironment,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that the group can be signalled and cleaned up as one.
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    exit: (timeoutMs) =>
      Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref())]),
    killGroup: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the whole group has exited already
      }
      child.stdout!.destroy();
      child.stderr!.destroy();
    },
  };
}

let installDirectory: string;

describe('npm package', () => {
  let scratch: string;
  let tarball: string;
  let packedFiles: string[];

  beforeAll(() => {
    ensureBuilt();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hvic-pack-'));
    // --ignore-scripts: dist/ is built already (ensureBuilt); prepack's rebuild would rewrite dist/
    // while other test files read and run it.
    const packOutput = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: repoRoot, timeout: 120_000 });
    // npm may print lifecycle output before the JSON; the JSON array is the last thing it writes.
    const report = JSON.parse(packOutput.slice(packOutput.indexOf('[\n'))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(scratch, report[0]!.filename);
    packedFiles = report[0]!.files.map((file) => file.path).sort();
  });

  afterAll(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('contains only built files, the collection script, the dashboard, schema, docs and the service scripts', () => {
    const unexpected = packedFiles.filter((file) => !allowedInPackage.some((pattern) => pattern.test(file)));
    expect(unexpected).toEqual([]);
  });

  test('contains everything the exporter and its users need', () => {
    const missing = requiredInPackage().filter((file) => !packedFiles.includes(file));
    expect(missing).toEqual([]);
  });

  test('holds every file (or folder) that README and docs/ link to', () => {
    const linked = linkedPaths();
    expect(linked.length).toBeGreaterThan(10);
    const missing = linked.filter((target) => !packedFiles.some((file) => file === target || file.startsWith(`${target}/`)));
    expect(missing).toEqual([]);
  });

  describe('installed into an empty folder', () => {

    beforeAll(() => {
      installDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'hvic-install-'));
      // --prefer-offline: dependencies come from the npm cache when they are there (fast, and the
      // same versions the lockfile pinned), from the registry otherwise.
      run('npm', ['install', '--prefer-offline', '--no-package-lock', tarball], { cwd: installDirectory, timeout: 120_000 });
    }, 150_000);

    afterAll(() => {
      if (installDirectory) fs.rmSync(installDirectory, { recursive: true, force: true });
    });

    test('installs only production dependencies', () => {
      const installed = fs.readdirSync(path.join(installDirectory, 'node_modules'));
      expect(installed).toContain(packageJson.name);
      for (const devOnly of ['typescript', 'jest', 'ts-jest', '@types', 'supertest', 'autocannon']) {
        expect({ devOnly, installed: installed.includes(devOnly) }).toEqual({ devOnly, installed: false });
      }
    });

    // The three tests below run at once: each runs the installed package in processes of its own (and
    // on a port of its own).

    // --yes=false: npx must run the installed package and never fetch one from the registry. (npx's
    // short form --no would swallow the exporter's flags: `npx --no pkg --version` prints npm's version.)
    test.concurrent('npx hyperv-ic-exporter --version prints the package version', async () => {
      const output = await new Promise<string>((resolve, reject) => {
        execFile('npx', ['--yes=false', packageJson.name, '--version'], { cwd: installDirectory, env: npmEnvironment, encoding: 'utf8', timeout: 45_000 }, (error, stdout) =>
          error === null ? resolve(stdout) : reject(error),
        );
      });
      expect(output).toContain(packageJson.version);
    });

    test.concurrent('npx hyperv-ic-exporter on the simulator answers /-/ready; a group SIGTERM stops every process', async () => {
      // npx runs the bin through `sh -c`, and sh does not pass a SIGTERM on: signalling npx alone
      // leaves the exporter running. A terminal (Ctrl+C), systemd and `docker stop` signal the whole
      // group, and so does this test. Service managers should run the bin itself (next test).
      const port = await freePort();
      const exporter = startInstalled('npx', ['--yes=false', packageJson.name, '--source=simulator', `--web.listen-address=127.0.0.1:${port}`]);
      try {
        const status = await waitForStatus(`http://127.0.0.1:${port}/-/ready`, 200, 20_000);
        expect({ status, output: status === 200 ? '' : exporter.output() }).toEqual({ status: 200, output: '' });

        process.kill(-exporter.child.pid!, 'SIGTERM');
        expect(await exporter.exit(10_000)).not.toBe('timeout');
        expect(await waitUntilClosed(`http://127.0.0.1:${port}/-/healthy`, 10_000)).toBe(true);
      } finally {
        exporter.killGroup();
      }
    });

    test.concurrent('the installed bin answers /-/ready on the simulator and exits 0 on SIGTERM', async () => {
      const port = await freePort();
      const bin = path.join(installDirectory, 'node_modules', '.bin', packageJson.name);
      const exporter = startInstalled(bin, ['--source=simulator', `--web.listen-address=127.0.0.1:${port}`]);
      try {
        const status = await waitForStatus(`http://127.0.0.1:${port}/-/ready`, 200, 20_000);
        expect({ status, output: status === 200 ? '' : exporter.output() }).toEqual({ status: 200, output: '' });

        exporter.child.kill('SIGTERM');
        expect(await exporter.exit(10_000)).toEqual({ code: 0, signal: null });
        expect(await waitUntilClosed(`http://127.0.0.1:${port}/-/healthy`, 2_000)).toBe(true);
      } finally {
        exporter.killGroup();
      }
    });
  });
});
