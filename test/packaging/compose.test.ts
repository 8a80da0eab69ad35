// docker-compose.yml cannot be started here (no Docker engine), so this test walks the stack the way
// the containers would see it: every bind-mounted file exists in the repository, and every path that
// Prometheus, Alertmanager and Grafana read from their configs resolves, through the mounts, to a
// file in the repository that says what the demo needs (service names, ports, the dashboard).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describeWithTools, pinnedVersions, toolPath } from '../helpers/testTools';
import { repoPath, repoRoot } from './support';

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  ports?: (string | { target?: number; published?: string | number })[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
}

const composePath = repoPath('docker-compose.yml');
const compose = parseYaml(fs.readFileSync(composePath, 'utf8')) as ComposeFile;
const composeDirectory = path.dirname(composePath);

/** `${NAME:-default}` → default (the value a user gets without setting NAME). */
function withDefaults(text: string): string {
  return text.replace(/\$\{\w+(?::?-([^}]*))?\}/g, (_whole, fallback?: string) => fallback ?? '');
}

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

function commandOf(definition: ComposeService): string[] {
  if (definition.command === undefined) return [];
  return Array.isArray(definition.command) ? definition.command : definition.command.split(/\s+/);
}

function flagValue(definition: ComposeService, flag: string): string | undefined {
  const prefix = `${flag}=`;
  return commandOf(definition).find((argument) => argument.startsWith(prefix))?.slice(prefix.length);
}

function environmentOf(definition: ComposeService): Record<string, string> {
  if (definition.environment === undefined) return {};
  if (!Array.isArray(definition.environment)) return definition.environment;
  return Object.fromEntries(definition.environment.map((entry) => entry.split('=', 2) as [string, string]));
}

interface BindMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

function bindMounts(definition: ComposeService): BindMount[] {
  const mounts: BindMount[] = [];
  for (const volume of definition.volumes ?? []) {
    if (typeof volume === 'string') {
      const [source, target, mode] = volume.split(':');
      if (source === undefined || target === undefined) continue;
      // A source without a path separator is a named volume, not a file from the repository.
      if (!source.startsWith('.') && !source.startsWith('/')) continue;
      mounts.push({ hostPath: path.resolve(composeDirectory, source), containerPath: target, readOnly: (mode ?? '').split(',').includes('ro') });
    } else if (volume.type === 'bind' && volume.source !== undefined && volume.target !== undefined) {
      mounts.push({ hostPath: path.resolve(composeDirectory, volume.source), containerPath: volume.target, readOnly: volume.read_only === true });
    }
  }
  return mounts;
}

/** Where a path inside the container comes from on the host, through the deepest covering mount. */
function hostPathOf(mounts: BindMount[], containerPath: string): string | undefined {
  const normalized = path.posix.normalize(containerPath);
  const covering = mounts
    .filter((mount) => normalized === mount.containerPath || normalized.startsWith(`${mount.containerPath.replace(/\/$/, '')}/`))
    .sort((left, right) => right.containerPath.length - left.containerPath.length)[0];
  if (covering === undefined) return undefined;
  return path.join(covering.hostPath, path.posix.relative(covering.containerPath, normalized));
}

/**
 * Host files matching a container-side glob such as /etc/prometheus/targets/hyperv-ic*.json: the
 * entries of a mounted folder plus files mounted one by one into that folder.
 */
function hostFilesMatching(mounts: BindMount[], containerGlob: string): string[] {
  const containerDirectory = path.posix.dirname(containerGlob);
  const pattern = new RegExp(
    `^${path.posix
      .basename(containerGlob)
      .split(/([*?])/)
      .map((part) => (part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );
  const visible = new Map<string, string>(); // name in the container folder -> host path
  const hostDirectory = hostPathOf(mounts, containerDirectory);
  if (hostDirectory !== undefined && fs.existsSync(hostDirectory) && fs.statSync(hostDirectory).isDirectory()) {
    for (const entry of fs.readdirSync(hostDirectory)) visible.set(entry, path.join(hostDirectory, entry));
  }
  for (const mount of mounts) {
    if (path.posix.dirname(mount.containerPath) === containerDirectory) visible.set(path.posix.basename(mount.containerPath), mount.hostPath);
  }
  return [...visible.entries()]
    .filter(([name, hostPath]) => pattern.test(name) && fs.existsSync(hostPath) && fs.statSync(hostPath).isFile())
    .map(([, hostPath]) => hostPath)
    .sort();
}

function relativeToRepo(hostPath: string): string {
  return path.relative(repoRoot, hostPath);
}

function readYamlFile<T>(hostPath: string): T {
  return parseYaml(fs.readFileSync(hostPath, 'utf8')) as T;
}

interface TargetGroup {
  targets: string[];
  labels?: Record<string, string>;
}

function targetsIn(files: string[]): string[] {
  return files.flatMap((file) => (JSON.parse(fs.readFileSync(file, 'utf8')) as TargetGroup[]).flatMap((group) => group.targets));
}

describe('docker-compose.yml', () => {
  test('runs the exporter (built from the Dockerfile, on the simulator), Prometheus, Alertmanager and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'exporter', 'grafana', 'prometheus']);
    const exporter = service('exporter');
    const build = typeof exporter.build === 'string' ? { context: exporter.build } : exporter.build;
    expect(build).toBeDefined();
    expect(path.resolve(composeDirectory, build!.context ?? '.')).toBe(repoRoot);
    expect(fs.existsSync(path.join(repoRoot, build!.dockerfile ?? 'Dockerfile'))).toBe(true);
    expect(commandOf(exporter)).toContain('--source=simulator');
    // The image's health check and the targets file both assume the default port.
    expect(flagValue(exporter, '--web.listen-address')).toBeUndefined();
  });

  test('third-party images are pinned to a version', () => {
    for (const name of ['prometheus', 'alertmanager', 'grafana']) {
      const image = withDefaults(service(name).image ?? '');
      expect({ name, image }).toEqual({ name, image: expect.stringMatching(/^[\w./-]+:(?!latest$)[\w.-]+$/) });
    }
  });

  test('every bind-mounted file or folder exists in the repository and is mounted read-only', () => {
    const missing: string[] = [];
    const writable: string[] = [];
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const mount of bindMounts(definition)) {
        if (!fs.existsSync(mount.hostPath)) missing.push(`${name}: ${relativeToRepo(mount.hostPath)}`);
        if (!mount.readOnly) writable.push(`${name}: ${relativeToRepo(mount.hostPath)}`);
      }
    }
    expect(missing).toEqual([]);
    expect(writable).toEqual([]);
  });

  test('Prometheus finds its config, every rule file and every file_sd target file through the mounts', () => {
    const prometheus = service('prometheus');
    const mounts = bindMounts(prometheus);
    const configPath = flagValue(prometheus, '--config.file') ?? '/etc/prometheus/prometheus.yml';
    const configOnHost = hostPathOf(mounts, configPath);
    expect(configOnHost && relativeToRepo(configOnHost)).toBe(path.join('prometheus', 'prometheus.yml'));

    const config = readYamlFile<{
      rule_files?: string[];
      scrape_configs?: { job_name: string; file_sd_configs?: { files: string[] }[]; static_configs?: TargetGroup[] }[];
      alerting?: { alertmanagers?: { file_sd_configs?: { files: string[] }[]; static_configs?: TargetGroup[] }[] };
    }>(configOnHost!);
    const configDirectory = path.posix.dirname(configPath);
    const inContainer = (file: string): string => path.posix.resolve(configDirectory, file);

    const ruleFiles = config.rule_files ?? [];
    expect(ruleFiles.length).toBeGreaterThan(0);
    for (const ruleFile of ruleFiles) {
      expect({ ruleFile, found: hostFilesMatching(mounts, inContainer(ruleFile)).map(relativeToRepo) }).toEqual({
        ruleFile,
        found: [expect.any(String)],
      });
    }

    const hyperv = (config.scrape_configs ?? []).find((job) => job.job_name === 'hyperv-ic');
    expect(hyperv).toBeDefined();
    const scrapeFiles = (hyperv!.file_sd_configs ?? []).flatMap((sd) => sd.files).flatMap((glob) => hostFilesMatching(mounts, inContainer(glob)));
    const alertmanagerFiles = (config.alerting?.alertmanagers ?? [])
      .flatMap((am) => am.file_sd_configs ?? [])
      .flatMap((sd) => sd.files)
      .flatMap((glob) => hostFilesMatching(mounts, inContainer(glob)));

    // The compose stack's own targets: the exporter and Alertmanager by service name.
    expect(targetsIn(scrapeFiles)).toEqual(['exporter:10062']);
    expect(targetsIn(alertmanagerFiles)).toEqual(['alertmanager:9093']);
    // A file read by both would make Prometheus scrape Alertmanager as the exporter and send alerts
    // to the exporter.
    expect(scrapeFiles.filter((file) => alertmanagerFiles.includes(file))).toEqual([]);
    for (const file of [...scrapeFiles, ...alertmanagerFiles]) {
      expect(relativeToRepo(file).startsWith(path.join('deploy', 'compose', 'targets'))).toBe(true);
    }
  });

  test('Alertmanager reads the project alertmanager.yml', () => {
    const alertmanager = service('alertmanager');
    const configPath = flagValue(alertmanager, '--config.file') ?? '/etc/alertmanager/alertmanager.yml';
    const onHost = hostPathOf(bindMounts(alertmanager), configPath);
    expect(onHost && relativeToRepo(onHost)).toBe(path.join('prometheus', 'alertmanager.yml'));
    expect(fs.existsSync(onHost!)).toBe(true);
  });

  test('Grafana gets the Prometheus datasource at http://prometheus:9090 and the dashboard as its home page', () => {
    const grafana = service('grafana');
    const mounts = bindMounts(grafana);

    const datasourceFiles = hostFilesMatching(mounts, '/etc/grafana/provisioning/datasources/*.y*ml');
    expect(datasourceFiles.length).toBeGreaterThan(0);
    const datasources = datasourceFiles.flatMap(
      (file) => readYamlFile<{ datasources?: { type: string; url?: string }[] }>(file).datasources ?? [],
    );
    const prometheusUrls = datasources.filter((source) => source.type === 'prometheus').map((source) => source.url);
    expect(prometheusUrls).toContain('http://prometheus:9090');

    const providerFiles = hostFilesMatching(mounts, '/etc/grafana/provisioning/dashboards/*.y*ml');
    expect(providerFiles.length).toBeGreaterThan(0);
    const providerPaths = providerFiles.flatMap(
      (file) => (readYamlFile<{ providers?: { options?: { path?: string } }[] }>(file).providers ?? []).map((provider) => provider.options?.path),
    );
    expect(providerPaths).toContain('/var/lib/grafana/dashboards/hyperv');
    const dashboards = hostFilesMatching(mounts, '/var/lib/grafana/dashboards/hyperv/*.json');
    expect(dashboards.map(relativeToRepo)).toContain(path.join('grafana', 'dashboards', 'hyperv-ic.json'));
    for (const dashboard of dashboards) {
      expect(() => JSON.parse(fs.readFileSync(dashboard, 'utf8'))).not.toThrow();
    }

    const home = environmentOf(grafana)['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'];
    expect(home).toBeDefined();
    const homeOnHost = hostPathOf(mounts, home!);
    expect(homeOnHost && relativeToRepo(homeOnHost)).toBe(path.join('grafana', 'dashboards', 'hyperv-ic.json'));
  });

  test('the mount resolver picks the deepest mount and rejects unmounted paths (it can fail)', () => {
    const mounts: BindMount[] = [
      { hostPath: '/repo/prometheus', containerPath: '/etc/prometheus', readOnly: true },
      { hostPath: '/repo/deploy/targets', containerPath: '/etc/prometheus/targets', readOnly: true },
    ];
    expect(hostPathOf(mounts, '/etc/prometheus/alerts.yml')).toBe('/repo/prometheus/alerts.yml');
    expect(hostPathOf(mounts, '/etc/prometheus/targets/a.json')).toBe('/repo/deploy/targets/a.json');
    expect(hostPathOf(mounts, '/etc/prometheus-other/x')).toBeUndefined();
  });
});

describe('docker-compose.yml runs the Prometheus and Alertmanager versions the tests run', () => {
  test('image tags match the major.minor versions of scripts/test-tools.versions', () => {
    const majorMinor = (key: string): string => (pinnedVersions()[key] ?? 'missing').replace(/\.\d+$/, '').replace('.', '\\.');
    expect(withDefaults(service('prometheus').image ?? '')).toMatch(new RegExp(`:v${majorMinor('PROMETHEUS_VERSION')}\\.\\d+$`));
    expect(withDefaults(service('alertmanager').image ?? '')).toMatch(new RegExp(`:v${majorMinor('ALERTMANAGER_VERSION')}\\.\\d+$`));
  });
});

// A real Compose implementation validates the file; `config` needs no running engine.
describeWithTools(['docker-compose'], 'docker-compose.yml validated by docker-compose', () => {
  test('compose config accepts the file', () => {
    const result = spawnSync(toolPath('docker-compose'), ['-f', composePath, 'config', '-q'], { encoding: 'utf8', cwd: repoRoot, timeout: 30_000 });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
