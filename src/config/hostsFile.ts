import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { formatDuration, readDuration } from '../cli/duration';
import { flagSpec } from '../cli/flags';
import { closestNames } from '../cli/suggest';
import { listOf, readInteger, ValueProblem } from '../cli/values';
import { abbreviate, InvalidHostAddressError, validateHostAddress } from '../contract/hostAddress';

/** Where one configured host's samples come from. */
export type HostSourceConfig =
  | { readonly kind: 'powershell'; readonly computerName?: string }
  | { readonly kind: 'replay'; readonly file: string }
  | { readonly kind: 'simulator'; readonly vms: number; readonly seed: number };

/** The timing of one host's samples: the flags' values unless the host overrides them. */
export interface HostTiming {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly fullIntervalMs: number;
  readonly maxAgeMs: number;
}

export interface HostConfig extends HostTiming {
  /** The target name: /probe?target=<name>, and the `host` label of the exporter's own metrics. */
  readonly name: string;
  readonly source: HostSourceConfig;
}

export interface HostsFile {
  readonly path: string;
  readonly hosts: readonly HostConfig[];
  /** Add every node of the local failover cluster as a host, and follow nodes that join or leave. */
  readonly cluster: { readonly discover: boolean; readonly refreshMs: number };
  /** What the file allows but is likely not meant, one line each (as HostsFileError words it), for the caller to log. */
  readonly warnings: readonly string[];
}

/** `config file "<path>", line <n>: <key>: <text>`: how a problem or a warning about the file reads. */
function lineAbout(path: string, line: number | null, key: string, text: string): string {
  return `config file ${JSON.stringify(path)}${line === null ? '' : `, line ${line}`}: ${key === '' ? '' : `${key}: `}${text}`;
}

/** A problem with the file, as one line: `config file "<path>", line <n>: <key>: <reason>`. */
export class HostsFileError extends Error {
  constructor(path: string, line: number | null, key: string, reason: string) {
    super(lineAbout(path, line, key, reason));
    this.name = 'HostsFileError';
  }
}

/** Target names: what a URL query and a label value hold without escaping, and what a person types. */
export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const DEFAULT_CLUSTER_REFRESH_MS = 5 * 60_000;

/** The keys of each map of the file; a host's timing keys are read as the flags they override. */
const FILE_KEYS = ['hosts', 'cluster'] as const;
const HOST_KEYS = ['name', 'address', 'replay', 'simulator', 'interval', 'timeout', 'full-interval', 'max-age'] as const;
const TIMING_FLAGS = { interval: 'sample.interval', timeout: 'sample.timeout', 'full-interval': 'sample.full-interval', 'max-age': 'sample.max-age' } as const;
const SIMULATOR_FLAGS = { vms: 'simulator.vms', seed: 'simulator.seed' } as const;
const CLUSTER_KEYS = ['discover', 'refresh-interval'] as const;

type Path = ReadonlyArray<string | number>;
type Json = Record<string, unknown>;

function keyText(path: Path): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${part}`)).join('');
}

/** A YAML value in words: a string quoted and cut short, a list or a map by its kind. */
function shown(value: unknown): string {
  if (typeof value === 'string') return abbreviate(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

function isPlainMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A duration key: text such as 15s (a plain 0 means 0s, as on the command line), at least `minMs`. */
function durationOf(value: unknown, minMs: number): number {
  if (value === 0) return 0;
  if (typeof value !== 'string') {
    throw new ValueProblem(`must be a duration such as 500ms, 15s, 1m or 2h, got ${shown(value)}${typeof value === 'number' ? ' without a unit' : ''}`);
  }
  return readDuration(value, minMs);
}

/** A whole-number key, within the bounds of the flag it stands for. */
function integerOf(value: unknown, flagName: string): number {
  const flag = flagSpec(flagName);
  if (flag.type !== 'integer') throw new Error(`--${flagName} is not a whole number`);
  if (typeof value !== 'number') {
    const range = flag.max === undefined ? `of at least ${flag.min}` : `from ${flag.min} to ${flag.max}`;
    throw new ValueProblem(`must be a whole number ${range}${typeof value === 'string' ? ' without quotes' : ''}, got ${shown(value)}`);
  }
  return readInteger(String(value), flag);
}

function defaultInteger(flagName: string): number {
  const flag = flagSpec(flagName);
  if (flag.type !== 'integer') throw new Error(`--${flagName} is not a whole number`);
  return Number(flag.default);
}

function timingMin(key: keyof typeof TIMING_FLAGS): number {
  const flag = flagSpec(TIMING_FLAGS[key]);
  return flag.type === 'duration' ? flag.min : 0;
}

/**
 * Reads and checks `--config.file`: the hosts to sample (and whether to add the nodes of the local
 * failover cluster). Every problem is one line naming the file, the line of the key and the key; nothing
 * is sampled from a file that does not validate.
 */
export async function loadHostsFile(path: string, defaults: HostTiming): Promise<HostsFile> {
  const filePath = resolve(path);
  const fail = (line: number | null, key: string, reason: string): never => {
    throw new HostsFileError(filePath, line, key, reason);
  };
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    return fail(null, '', `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const [yamlError] = document.errors;
  if (yamlError !== undefined) return fail(lines.linePos(yamlError.pos[0]).line, '', `not valid YAML: ${yamlError.message.split('\n')[0] ?? ''}`);
  let root: unknown;
  try {
    root = document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    const alias = firstAlias(document);
    if (!/excessive alias count/i.test(error.message)) {
      // An alias of no anchor (`*nope`): the message names it.
      const named = firstAlias(document, /: (\S+)$/.exec(error.message)?.[1]) ?? alias;
      return fail(named === null ? null : lineOfNode(named.node, lines), '', `not valid YAML: ${error.message}`);
    }
    return fail(
      alias === null ? null : lineOfNode(alias.node, lines),
      '',
      `refused: its aliases${alias === null ? '' : ` (*${alias.name} first)`} expand to too many copies of what they name, as a YAML alias bomb does; write the values out instead of using aliases`,
    );
  }

  const lineOf = (at: Path): number | null => lineOfKey(document, lines, at);
  const problem = (at: Path, reason: string): never => fail(lineOf(at), keyText(at), reason);
  /** Reads one value; a ValueProblem is the key's problem. */
  const read = <T>(at: Path, readValue: () => T): T => {
    try {
      return readValue();
    } catch (error) {
      if (error instanceof ValueProblem) return problem(at, error.reason);
      throw error;
    }
  };
  const checkKeys = (map: Json, at: Path, known: readonly string[], what: string): void => {
    for (const key of Object.keys(map)) {
      if (known.includes(key)) continue;
      const names = closestNames(key, known);
      problem([...at, key], names.length > 0 ? `unknown key; did you mean ${listOf(names)}?` : `unknown key; ${what} takes ${listOf(known)}`);
    }
  };

  if (!isPlainMap(root)) return problem([], `must be a map with hosts (and cluster), got ${shown(root)}`);
  checkKeys(root, [], FILE_KEYS, 'the file');
  const hostList = root['hosts'] ?? [];
  if (!Array.isArray(hostList)) return problem(['hosts'], `must be a list of hosts, such as "- name: hv01", got ${shown(hostList)}`);

  const directory = dirname(filePath);
  const seen = new Map<string, number>();
  const warnings: string[] = [];
  const hosts = hostList.map((host: unknown, index): HostConfig => {
    const at = ['hosts', index] as const;
    if (!isPlainMap(host)) return problem(at, `must be a map with a name, such as "- name: hv01", got ${shown(host)}`);
    checkKeys(host, at, HOST_KEYS, 'a host');
    const name = host['name'];
    if (name === undefined) problem([...at, 'name'], 'missing; every host needs a name, its target at /probe?target=NAME');
    if (typeof name !== 'string' || !HOST_NAME.test(name)) {
      return problem([...at, 'name'], `must be 1 to 63 letters, digits, dots, hyphens or underscores, starting with a letter or digit, got ${shown(name)}`);
    }
    const folded = name.toLowerCase();
    if (seen.has(folded)) problem([...at, 'name'], `${JSON.stringify(name)} is the name of hosts[${seen.get(folded)}] already (names are compared without case)`);
    seen.set(folded, index);

    const kinds = (['address', 'replay', 'simulator'] as const).filter((key) => host[key] !== undefined);
    if (kinds.length > 1) problem([...at, kinds[1]!], `a host has one of address, replay and simulator, not ${kinds.join(' and ')}`);
    let source: HostSourceConfig = { kind: 'powershell' };
    const address = host['address'];
    if (address !== undefined) {
      if (typeof address !== 'string') problem([...at, 'address'], `must be a host name or address, got ${shown(address)}`);
      const computerName = read([...at, 'address'], () => {
        try {
          return validateHostAddress(address as string);
        } catch (error) {
          if (error instanceof InvalidHostAddressError) throw new ValueProblem(error.message);
          throw error;
        }
      });
      source = { kind: 'powershell', computerName };
    }
    const replay = host['replay'];
    if (replay !== undefined) {
      if (typeof replay !== 'string' || replay === '') problem([...at, 'replay'], `must name a sample document file, got ${shown(replay)}`);
      source = { kind: 'replay', file: resolve(directory, replay as string) };
    }
    const simulator = host['simulator'];
    if (simulator !== undefined) {
      const where = [...at, 'simulator'];
      if (!isPlainMap(simulator)) return problem(where, `must be a map such as {vms: 12, seed: 1}, got ${shown(simulator)}`);
      checkKeys(simulator, where, Object.keys(SIMULATOR_FLAGS), 'the simulator');
      const numberOf = (key: keyof typeof SIMULATOR_FLAGS): number =>
        simulator[key] === undefined ? defaultInteger(SIMULATOR_FLAGS[key]) : read([...where, key], () => integerOf(simulator[key], SIMULATOR_FLAGS[key]));
      source = { kind: 'simulator', vms: numberOf('vms'), seed: numberOf('seed') };
    }

    const own = (key: keyof typeof TIMING_FLAGS): number | undefined =>
      host[key] === undefined ? undefined : read([...at, key], () => durationOf(host[key], timingMin(key)));
    const ownInterval = own('interval');
    const ownTimeout = own('timeout');
    const ownFullInterval = own('full-interval');
    const ownMaxAge = own('max-age');
    const timing: HostTiming = {
      intervalMs: ownInterval ?? defaults.intervalMs,
      timeoutMs: ownTimeout ?? defaults.timeoutMs,
      fullIntervalMs: ownFullInterval ?? defaults.fullIntervalMs,
      maxAgeMs: ownMaxAge ?? defaults.maxAgeMs,
    };
    const [interval, timeout, maxAge] = [timing.intervalMs, timing.timeoutMs, timing.maxAgeMs].map(formatDuration);
    if (timing.maxAgeMs > 0 && timing.maxAgeMs < timing.intervalMs) {
      if (ownMaxAge !== undefined) {
        problem([...at, 'max-age'], `${maxAge} is shorter than the interval (${interval}), so the data would expire between two samples; make it at least ${interval}, or 0s to keep the data forever`);
      }
      problem(
        [...at, 'interval'],
        `${interval} is longer than the max-age (${maxAge}, from --sample.max-age), so the data would expire between two samples; give this host a max-age of at least ${interval}, or 0s to keep the data forever`,
      );
    }
    // The host's own timeout, or its own interval at or below the timeout it inherits (--sample.timeout's
    // own case is said once, by the flags).
    if ((ownTimeout !== undefined || ownInterval !== undefined) && timing.timeoutMs >= timing.intervalMs) {
      warnings.push(
        lineAbout(
          filePath,
          lineOf([...at, ownTimeout !== undefined ? 'timeout' : 'interval']),
          keyText([...at, ownTimeout !== undefined ? 'timeout' : 'interval']),
          ownTimeout !== undefined
            ? `${timeout} is not shorter than the interval (${interval}): samples never overlap, so a sample that runs that long delays the next one; make the timeout shorter than the interval`
            : `${interval} is not longer than the timeout (${timeout}, from --sample.timeout): samples never overlap, so a sample that runs that long delays the next one; give this host a timeout shorter than its interval`,
        ),
      );
    }
    return { name, source, ...timing };
  });

  const cluster = root['cluster'] ?? {};
  if (!isPlainMap(cluster)) return problem(['cluster'], `must be a map such as {discover: true}, got ${shown(cluster)}`);
  checkKeys(cluster, ['cluster'], CLUSTER_KEYS, 'cluster');
  const discover = cluster['discover'] ?? false;
  if (typeof discover !== 'boolean') return problem(['cluster', 'discover'], `must be true or false, got ${shown(discover)}`);
  const refresh = cluster['refresh-interval'];
  const refreshMs = refresh === undefined ? DEFAULT_CLUSTER_REFRESH_MS : read(['cluster', 'refresh-interval'], () => durationOf(refresh, 0));
  if (hosts.length === 0 && !discover) problem(['hosts'], 'lists no host, and cluster.discover is not true: there would be nothing to sample');
  return { path: filePath, hosts, cluster: { discover, refreshMs }, warnings };
}

function lineOfNode(node: Node | null | undefined, lines: LineCounter): number | null {
  const offset = node?.range?.[0];
  return offset === undefined ? null : lines.linePos(offset).line;
}

/**
 * The line of a key of the file: the key's own line for a key of a map, the item's line for an item of
 * a list; for a key that is not in the file (a missing name), the line of the nearest key around it.
 */
function lineOfKey(document: Document, lines: LineCounter, path: Path): number | null {
  if (path.length === 0) return lineOfNode(document.contents, lines);
  for (let n = path.length; n > 0; n--) {
    const last = path[n - 1];
    const parent = n === 1 ? document.contents : document.getIn(path.slice(0, n - 1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === last);
      if (pair !== undefined) return lineOfNode(pair.key as Node, lines);
    } else if (isSeq(parent) && typeof last === 'number') {
      const item = parent.items[last];
      if (item !== undefined) return lineOfNode(item as Node, lines);
    }
  }
  return null;
}

/** The first alias (`*name`) of the document, or the first of that name; null if none. */
function firstAlias(document: Document, name?: string): { name: string; node: Node } | null {
  let found: { name: string; node: Node } | null = null;
  visit(document, {
    Alias(_, node) {
      if (name !== undefined && node.source !== name) return undefined;
      found = { name: node.source, node };
      return visit.BREAK;
    },
  });
  return found;
}
