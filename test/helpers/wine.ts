import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findOnPath, REPOSITORY_ROOT, testTools, type ToolName } from './testTools';

/**
 * Windows programs under Wine, for the tests of the Windows release (test/windows/).
 *
 * Each suite gets a win10 prefix of its own under .tools/wine-prefix/<name> (gitignored): copied once
 * from a booted template prefix and kept for later runs, safely when two jest workers ask at the same time (a lock folder). A prefix of
 * its own, because a suite's services, their log folder (%ProgramData%\hyperv-ic-exporter\logs) and
 * `wineserver -k` at its end must not touch another suite's.
 *
 * Windows programs run with WINEDEBUG=-all and their stdout and stderr redirected to files, never to
 * pipes: the Windows build of node fails writing into a pipe under Wine.
 */

export interface WinePrefix {
  readonly name: string;
  /** The prefix folder (WINEPREFIX). */
  readonly path: string;
  readonly wine: string;
  readonly wineserver: string;
}

export interface WindowsRun {
  /** The exit code as Unix sees it: a Windows code modulo 256 (msiexec's 1603 is 67). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ServiceStatus {
  /** RUNNING, STOPPED, START_PENDING, STOP_PENDING, …; null when there is no such service. */
  readonly state: string | null;
  readonly win32ExitCode: number | null;
}

const PREFIX_ROOT = join(REPOSITORY_ROOT, '.tools', 'wine-prefix');
const READY_MARKER = '.hyperv-ic-exporter-ready';
/** The booted prefix every suite's prefix is copied from; no suite runs anything in it. */
const TEMPLATE_PREFIX = 'template';
const LOCK_STALE_MS = 5 * 60_000;

/** ERROR_INSTALL_FAILURE (1603) as a Unix exit status: what msiexec under Wine exits with when an install is refused. */
export const MSIEXEC_FAILED = 1603 % 256;

/** wine from the test tools (pinned Debian package), wineserver beside it. */
export function locateWine(): { wine: string | null; wineserver: string | null; problem: string | null } {
  const status = testTools()['wine'];
  if (status.path === null) return { wine: null, wineserver: null, problem: status.problem };
  const wineserver = findOnPath('wineserver') ?? (existsSync('/usr/lib/wine/wineserver64') ? '/usr/lib/wine/wineserver64' : null);
  if (wineserver === null) return { wine: status.path, wineserver: null, problem: `wine is at ${status.path} but wineserver is not on PATH; run \`bash scripts/install-test-tools.sh\`` };
  return { wine: status.path, wineserver, problem: status.problem };
}

/**
 * `describe` for a suite that runs Windows programs under Wine (and needs `tools` besides). Without
 * Wine, under CI=true the suite is one failing test that names the reason; elsewhere it reports itself
 * skipped with the reason in its title (like describeWithTools, which it extends with wineserver).
 */
export function describeWithWine(tools: readonly ToolName[], title: string, body: () => void): void {
  const problems = [locateWine().problem, ...tools.map((tool) => testTools()[tool].problem)].filter((problem): problem is string => problem !== null);
  const missing = locateWine().wineserver === null || [...tools, 'wine' as const].some((tool) => testTools()[tool].path === null);
  if (problems.length === 0) {
    describe(title, body);
  } else if (process.env['CI'] === 'true') {
    describe(title, () => {
      test('has Wine and the programs it needs, at their pinned versions', () => {
        throw new Error(problems.join('\n'));
      });
    });
  } else if (missing) {
    describe.skip(`${title} (skipped: ${problems.join('; ')})`, body);
  } else {
    console.warn(`"${title}" runs with a tool that is not the pinned version: ${problems.join('; ')}`);
    describe(title, body);
  }
}

function wineEnvironment(prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // Wine hands the Unix environment to Windows programs: leave out what would change node.exe's behaviour.
  const environment: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NODE_OPTIONS', 'NODE_ENV', 'NODE_PATH', 'HYPERV_IC_EXPORTER_STOP_ON_STDIN_EOF']) delete environment[name];
  return { ...environment, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEARCH: 'win64', ...extra };
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function scratchFiles(): { stdout: string; stderr: string; cleanup: () => void } {
  const base = join(tmpdir(), `hvic-wine-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  return {
    stdout: `${base}.out`,
    stderr: `${base}.err`,
    cleanup: () => {
      rmSync(`${base}.out`, { force: true });
      rmSync(`${base}.err`, { force: true });
    },
  };
}

/** Runs a Unix program (wine, wineserver) with stdout and stderr in files; resolves when it exits or the timeout kills it. */
function runToFiles(program: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<WindowsRun> {
  const files = scratchFiles();
  const stdout = openSync(files.stdout, 'w');
  const stderr = openSync(files.stderr, 'w');
  return new Promise<WindowsRun>((done, fail) => {
    const child = spawn(program, args, { cwd: options.cwd ?? REPOSITORY_ROOT, env: options.env, stdio: ['ignore', stdout, stderr] });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout: readFileSync(files.stdout, 'utf8'), stderr: readFileSync(files.stderr, 'utf8') });
    });
  }).finally(() => {
    closeSync(stdout);
    closeSync(stderr);
    files.cleanup();
  });
}

function wineVersion(wine: string): string {
  return spawnSync(wine, ['--version'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, WINEDEBUG: '-all' } }).stdout.trim();
}

/**
 * The prefix .tools/wine-prefix/<name>, a win10 one, made if it is missing or was made by another Wine
 * version: a copy of one booted template prefix, since `wineboot` takes 15–30 s and a copy 2 s (the
 * prefix holds no absolute path of its own; its wineserver is keyed by the folder). Two workers asking
 * at once: one makes it (holding a lock folder), the other waits.
 */
export async function winePrefix(name: string): Promise<WinePrefix> {
  const located = locateWine();
  if (located.wine === null || located.wineserver === null) throw new Error(located.problem ?? 'Wine is not installed');
  const version = wineVersion(located.wine);
  const template = await readyPrefix({ name: TEMPLATE_PREFIX, path: join(PREFIX_ROOT, TEMPLATE_PREFIX), wine: located.wine, wineserver: located.wineserver }, version, bootPrefix);
  return readyPrefix({ name, path: join(PREFIX_ROOT, name), wine: located.wine, wineserver: located.wineserver }, version, async (prefix) => {
    const copy = `${prefix.path}.copy`;
    rmSync(copy, { recursive: true, force: true });
    const run = await runToFiles('cp', ['-a', template.path, copy], { env: process.env, timeoutMs: 120_000 });
    if (run.code !== 0) throw new Error(`cp -a ${template.path} ${copy} exited ${run.code}: ${run.stderr.slice(-500)}`);
    renameSync(copy, prefix.path);
  });
}

/** `wineboot -i` in a new prefix (no Mono or Gecko: nothing here may download them, and no test needs them), then win10. */
async function bootPrefix(prefix: WinePrefix): Promise<void> {
  const environment = wineEnvironment(prefix.path, { WINEDLLOVERRIDES: 'mscoree,mshtml=' });
  const boot = await runToFiles(prefix.wine, ['wineboot', '-i'], { env: environment, timeoutMs: 120_000 });
  if (boot.code !== 0) throw new Error(`wineboot -i in ${prefix.path} exited ${boot.code}: ${boot.stderr.slice(-500)}`);
  const winecfg = await runToFiles(prefix.wine, ['winecfg', '-v', 'win10'], { env: environment, timeoutMs: 60_000 });
  if (winecfg.code !== 0) throw new Error(`winecfg -v win10 exited ${winecfg.code}: ${winecfg.stderr.slice(-500)}`);
  await runToFiles(prefix.wineserver, ['-w'], { env: environment, timeoutMs: 60_000 });
}

/**
 * The prefix, once its ready marker names this Wine `version`; otherwise made afresh by `make` (into a
 * missing folder), under a lock folder so that one worker makes it while another waits.
 */
async function readyPrefix(prefix: WinePrefix, version: string, make: (prefix: WinePrefix) => Promise<void>): Promise<WinePrefix> {
  const marker = join(prefix.path, READY_MARKER);
  const ready = (): boolean => existsSync(marker) && readFileSync(marker, 'utf8').trim() === version;
  if (ready()) return prefix;

  mkdirSync(PREFIX_ROOT, { recursive: true });
  const lock = `${prefix.path}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (ready()) return prefix;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
    }
  }
  try {
    if (ready()) return prefix;
    await runToFiles(prefix.wineserver, ['-k'], { env: wineEnvironment(prefix.path), timeoutMs: 30_000 });
    rmSync(prefix.path, { recursive: true, force: true });
    await make(prefix);
    writeFileSync(marker, `${version}\n`);
    return prefix;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Keeps the prefix's wineserver (and so services.exe and the service states it holds) up between commands. */
export async function startWineserver(prefix: WinePrefix): Promise<void> {
  const run = await runToFiles(prefix.wineserver, ['-p'], { env: wineEnvironment(prefix.path), timeoutMs: 30_000 });
  if (run.code !== 0) throw new Error(`wineserver -p exited ${run.code}: ${run.stderr}`);
}

/** Ends every Windows process of the prefix and its wineserver; for a suite's afterAll. */
export async function stopWineserver(prefix: WinePrefix): Promise<void> {
  await runToFiles(prefix.wineserver, ['-k'], { env: wineEnvironment(prefix.path), timeoutMs: 30_000 });
  await runToFiles(prefix.wineserver, ['-w'], { env: wineEnvironment(prefix.path), timeoutMs: 30_000 });
}

/** `wine program args…`: stdout and stderr through files. */
export function runWindows(prefix: WinePrefix, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<WindowsRun> {
  return runToFiles(prefix.wine, args, { env: wineEnvironment(prefix.path, options.env), timeoutMs: options.timeoutMs ?? 60_000, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
}

/** A Unix path as Windows programs under Wine see it (the Z: drive is /). */
export function windowsPath(unixPath: string): string {
  return `Z:${resolve(unixPath).replace(/\//g, '\\')}`;
}

/** Where a Windows path of the prefix's C: drive is on Unix ('C:\\ProgramData\\x' → <prefix>/drive_c/ProgramData/x). */
export function unixPathInPrefix(prefix: WinePrefix, windows: string): string {
  const match = /^[cC]:\\?(.*)$/.exec(windows);
  if (match === null) throw new Error(`${windows} is not on C:`);
  return join(prefix.path, 'drive_c', ...match[1]!.split('\\').filter((part) => part !== ''));
}

/** `sc query NAME`, parsed. */
export async function scQuery(prefix: WinePrefix, service: string): Promise<ServiceStatus> {
  const run = await runWindows(prefix, ['sc', 'query', service]);
  const state = /STATE\s*:\s*\d+\s+(\w+)/.exec(run.stdout)?.[1] ?? null;
  const exit = /WIN32_EXIT_CODE\s*:\s*(\d+)/.exec(run.stdout)?.[1];
  return { state, win32ExitCode: exit === undefined ? null : Number(exit) };
}

/** Polls `sc query` until the service is in `state`; returns the status that matched (the last one seen on timeout). */
export async function waitForServiceState(prefix: WinePrefix, service: string, state: string, timeoutMs: number): Promise<ServiceStatus> {
  const deadline = Date.now() + timeoutMs;
  let status = await scQuery(prefix, service);
  while (status.state !== state && Date.now() < deadline) {
    await sleep(200);
    status = await scQuery(prefix, service);
  }
  return status;
}

/** `sc create NAME binPath= "<image path and arguments>" start= demand`. */
export function scCreate(prefix: WinePrefix, service: string, imagePath: string): Promise<WindowsRun> {
  return runWindows(prefix, ['sc', 'create', service, 'binPath=', imagePath, 'start=', 'demand']);
}

export function scDelete(prefix: WinePrefix, service: string): Promise<WindowsRun> {
  return runWindows(prefix, ['sc', 'delete', service]);
}

/** `net start NAME` (Wine's returns once the service left START_PENDING or failed). */
export function netStart(prefix: WinePrefix, service: string): Promise<WindowsRun> {
  return runWindows(prefix, ['net', 'start', service]);
}

/** `net stop NAME`. Wine's sends the stop and returns at once: wait for STOPPED with waitForServiceState. */
export function netStop(prefix: WinePrefix, service: string): Promise<WindowsRun> {
  return runWindows(prefix, ['net', 'stop', service]);
}

/** `msiexec ARGS… /qn /l*v LOG`; the log's text is returned as stdout. */
export async function msiexec(prefix: WinePrefix, args: readonly string[], timeoutMs = 120_000): Promise<WindowsRun> {
  const log = join(tmpdir(), `hvic-msiexec-${process.pid}-${Date.now()}.log`);
  try {
    const run = await runWindows(prefix, ['msiexec', ...args, '/qn', '/l*v', windowsPath(log)], { timeoutMs });
    const text = existsSync(log) ? readFileSync(log).toString(readFileSync(log)[1] === 0 ? 'utf16le' : 'utf8') : '';
    return { code: run.code, stdout: text, stderr: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(log, { force: true });
  }
}

/** `reg query KEY`: the value names and data under it, or null when the key does not exist. */
export async function regQuery(prefix: WinePrefix, key: string): Promise<Record<string, string> | null> {
  const run = await runWindows(prefix, ['reg', 'query', key]);
  if (run.code !== 0) return null;
  const values: Record<string, string> = {};
  for (const line of run.stdout.split(/\r?\n/)) {
    const match = /^\s{4}(\S.*?)\s{4}(REG_\w+)(?:\s{4}(.*))?$/.exec(line);
    if (match !== null) values[match[1]!] = (match[3] ?? '').trim();
  }
  return values;
}

/** The subkeys `reg query KEY` lists, named as KEY is (HKLM\\… stays HKLM\\…, where reg prints HKEY_LOCAL_MACHINE\\…). */
export async function regSubkeys(prefix: WinePrefix, key: string): Promise<string[]> {
  const long = (name: string): string => name.replace(/^HKLM\\/i, 'HKEY_LOCAL_MACHINE\\').replace(/^HKCU\\/i, 'HKEY_CURRENT_USER\\');
  const parent = `${long(key).toUpperCase()}\\`;
  const run = await runWindows(prefix, ['reg', 'query', key]);
  return run.stdout
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.toUpperCase().startsWith(parent))
    .map((line) => `${key}${line.slice(parent.length - 1)}`);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', () => done(false));
  });
}

/** Polls GET url until it answers 200 (with a body `accept` takes); returns the body and when, or throws with the last error. */
export async function waitForHttp(url: string, timeoutMs: number, accept: (body: string) => boolean = () => true): Promise<{ body: string; at: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await response.text();
      if (response.status === 200 && accept(body)) return { body, at: Date.now() };
      last = response.status === 200 ? `HTTP 200, but not the body awaited (${body.length} bytes)` : `HTTP ${response.status}`;
    } catch (error) {
      last = String((error as Error).cause ?? error);
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms: ${last}`);
}
