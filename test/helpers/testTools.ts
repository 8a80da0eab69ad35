import { accessSync, constants, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join, resolve } from 'node:path';

/**
 * The real programs the tests run, found once and checked against the versions the tests were written
 * for (scripts/test-tools.versions, which scripts/install-test-tools.sh installs). Jest's global setup
 * resolves them, prints which ran, and hands the result to the workers through the environment.
 *
 * A tool that is missing, or there at another version, never passes unnoticed: under CI=true every
 * suite that needs it fails with the reason; elsewhere a missing tool makes those suites report
 * themselves skipped, and another version runs with a warning in the output.
 */

export const REPOSITORY_ROOT = resolve(__dirname, '../..');

export const TOOL_NAMES = [
  'pwsh',
  'promtool',
  'prometheus',
  'prometheus-alertmanager',
  'amtool',
  'docker-compose',
  // The Windows release (npm run release) and its smoke tests under Wine; the landing page's screenshot.
  'dotnet',
  'wine',
  'wixl',
  'msibuild',
  'msiinfo',
  'osslsigncode',
  'zip',
  'unzip',
  'chromium',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export interface ToolStatus {
  /** Absolute path (or the name, where a program is only known by name); null when not found. */
  readonly path: string | null;
  /** The x.y.z the program reports; null when not found or it did not say. */
  readonly version: string | null;
  readonly wanted: string;
  /** Why the tests should not rely on it: missing, or another version. Null when all is well. */
  readonly problem: string | null;
}

const ENVIRONMENT_KEY = 'HYPERV_IC_TEST_TOOLS';
const INSTALL = 'run `bash scripts/install-test-tools.sh` (as root for the Debian packages)';

/** scripts/test-tools.versions as name → value. */
export function pinnedVersions(): Readonly<Record<string, string>> {
  const text = readFileSync(join(REPOSITORY_ROOT, 'scripts/test-tools.versions'), 'utf8');
  const versions: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(\S+)\s*$/.exec(line);
    if (match !== null) versions[match[1]!] = match[2]!;
  }
  return versions;
}

/**
 * Debian-packaged tools whose own version output is not x.y.z: their package's upstream version, as
 * scripts/install-test-tools.sh checks it (dpkg's version up to the first ~, + or -).
 */
const DEBIAN_PACKAGE_OF: Partial<Record<ToolName, string>> = {
  wine: 'wine',
  wixl: 'wixl',
  msibuild: 'msitools',
  msiinfo: 'msitools',
  osslsigncode: 'osslsigncode',
  zip: 'zip',
  unzip: 'unzip',
  chromium: 'chromium',
};

/** '' where any version will do (chromium follows Debian's security updates; dotnet: any 10.x SDK). */
function wantedVersion(tool: ToolName): string {
  const versions = pinnedVersions();
  if (tool === 'chromium') return '';
  if (tool === 'dotnet') return '10';
  const key = {
    pwsh: 'PWSH_VERSION',
    promtool: 'PROMETHEUS_VERSION',
    prometheus: 'PROMETHEUS_VERSION',
    'prometheus-alertmanager': 'ALERTMANAGER_VERSION',
    amtool: 'ALERTMANAGER_VERSION',
    'docker-compose': 'DOCKER_COMPOSE_VERSION',
    wine: 'WINE_VERSION',
    wixl: 'MSITOOLS_VERSION',
    msibuild: 'MSITOOLS_VERSION',
    msiinfo: 'MSITOOLS_VERSION',
    osslsigncode: 'OSSLSIGNCODE_VERSION',
    zip: 'ZIP_VERSION',
    unzip: 'UNZIP_VERSION',
  }[tool];
  const version = versions[key];
  if (version === undefined) throw new Error(`scripts/test-tools.versions has no ${key}`);
  return version;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of an executable found on PATH, or null. */
export function findOnPath(name: string): string | null {
  const suffixes = process.platform === 'win32' ? ['.exe', ''] : [''];
  for (const directory of (process.env['PATH'] ?? '').split(delimiter)) {
    if (directory === '') continue;
    for (const suffix of suffixes) {
      const candidate = join(directory, `${name}${suffix}`);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return null;
}

/** PWSH_PATH, then the pinned tool in .tools/pwsh, then pwsh on PATH (checked like the others). */
function locatePwsh(): { path: string | null; note: string } {
  const fromEnv = process.env['PWSH_PATH'];
  if (fromEnv !== undefined && fromEnv !== '') return isExecutable(fromEnv) ? { path: fromEnv, note: '' } : { path: null, note: `PWSH_PATH=${fromEnv} is not an executable file` };
  for (const suffix of process.platform === 'win32' ? ['.exe', ''] : ['']) {
    const tool = join(REPOSITORY_ROOT, '.tools/pwsh', `pwsh${suffix}`);
    if (isExecutable(tool)) return { path: tool, note: '' };
  }
  return { path: findOnPath('pwsh'), note: 'no pwsh in .tools/pwsh' };
}

function versionOutput(tool: ToolName, path: string): string {
  const args: Partial<Record<ToolName, string[]>> = {
    pwsh: ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()'],
    promtool: ['--version'],
    prometheus: ['--version'],
    'prometheus-alertmanager': ['--version'],
    amtool: ['--version'],
    'docker-compose': ['version', '--short'],
    dotnet: ['--version'],
  };
  const debianPackage = DEBIAN_PACKAGE_OF[tool];
  const result =
    debianPackage !== undefined
      ? spawnSync('dpkg-query', ['-W', '-f=${Version}', debianPackage], { encoding: 'utf8', timeout: 30_000 })
      : spawnSync(path, args[tool] ?? ['--version'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' } });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

/** The version a tool reports, in the form its pin is written in. */
function versionOf(tool: ToolName, output: string): string | null {
  if (DEBIAN_PACKAGE_OF[tool] !== undefined) {
    const upstream = output.trim().replace(/^\d+:/, '').replace(/[~+-].*$/, '');
    return upstream === '' ? null : upstream;
  }
  if (tool === 'dotnet') return /^(\d+)\./.exec(output.trim())?.[1] ?? null;
  return /(\d+\.\d+\.\d+)/.exec(output)?.[1] ?? null;
}

/** Finds one tool and reads its version (starts the program once). */
export function inspectTool(tool: ToolName): ToolStatus {
  const wanted = wantedVersion(tool);
  const located = tool === 'pwsh' ? locatePwsh() : { path: findOnPath(tool), note: '' };
  if (located.path === null) {
    const why = located.note === '' ? `${tool} is not installed` : `${tool} is not installed (${located.note})`;
    return { path: null, version: null, wanted, problem: `${why}; ${INSTALL}` };
  }
  const version = versionOf(tool, versionOutput(tool, located.path));
  const problem = version === wanted || (wanted === '' && version !== null) ? null : `${located.path} is ${tool} ${version ?? 'of an unknown version'}, but the tests are pinned to ${wanted} (scripts/test-tools.versions); ${INSTALL}`;
  return { path: located.path, version, wanted, problem };
}

/** Every tool, inspected now; jest's global setup calls this once and shares the result. */
export function inspectAllTools(): Record<ToolName, ToolStatus> {
  return Object.fromEntries(TOOL_NAMES.map((tool) => [tool, inspectTool(tool)])) as Record<ToolName, ToolStatus>;
}

/** Hands the inspected tools to the jest workers (they inherit the environment of the global setup). */
export function shareTools(tools: Record<ToolName, ToolStatus>): void {
  process.env[ENVIRONMENT_KEY] = JSON.stringify(tools);
}

let cached: Record<ToolName, ToolStatus> | null = null;

/** The tools as the global setup found them (or inspected here, for a test run without it). */
export function testTools(): Record<ToolName, ToolStatus> {
  if (cached !== null) return cached;
  const shared = process.env[ENVIRONMENT_KEY];
  cached = shared !== undefined ? (JSON.parse(shared) as Record<ToolName, ToolStatus>) : inspectAllTools();
  return cached;
}

/** One line per tool: which program and version the tests use. */
export function describeTools(tools: Record<ToolName, ToolStatus>): string {
  return TOOL_NAMES.map((tool) => {
    const status = tools[tool];
    const found = status.path === null ? 'not found' : `${status.path} (${status.version ?? 'version unknown'})`;
    return `  ${tool.padEnd(24)} ${found}${status.problem === null ? '' : `  <- ${status.version === null && status.path === null ? 'MISSING' : 'NOT THE PINNED VERSION'} ${status.wanted}`}`;
  }).join('\n');
}

/**
 * The path of a tool the suite declared with describeWithTools; its bare name where it is missing (the
 * body of a skipped suite still runs to collect its tests, and none of them runs the program).
 */
export function toolPath(tool: ToolName): string {
  return testTools()[tool].path ?? tool;
}

/**
 * `describe` when every tool is there at its pinned version. Otherwise the suite never quietly passes:
 * under CI=true it is one failing test that names the problem; elsewhere a missing tool skips it (jest
 * counts it as skipped, and the reason is in its title) and another version runs it with a warning.
 */
export function describeWithTools(tools: readonly ToolName[], title: string, body: () => void): void {
  const statuses = tools.map((tool) => testTools()[tool]);
  const problems = statuses.map((status) => status.problem).filter((problem): problem is string => problem !== null);
  if (problems.length === 0) {
    describe(title, body);
    return;
  }
  if (process.env['CI'] === 'true') {
    describe(title, () => {
      test('has the programs it needs, at their pinned versions', () => {
        throw new Error(problems.join('\n'));
      });
    });
    return;
  }
  if (statuses.some((status) => status.path === null)) {
    describe.skip(`${title} (skipped: ${problems.join('; ')})`, body);
    return;
  }
  console.warn(`"${title}" runs with a tool that is not the pinned version: ${problems.join('; ')}`);
  describe(title, body);
}
