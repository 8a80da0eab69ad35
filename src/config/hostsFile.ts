import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../cli/duration';
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
}

/** A problem with the file, as one line: `config file "<path>", line <n>: <key>: <reason>`. */
export class HostsFileError extends Error {
  constructor(path: string, line: number | null, key: string, reason: string) {
    super(`config file ${JSON.stringify(path)}${line === null ? '' : `, line ${line}`}: ${key === '' ? '' : `${key}: `}${reason}`);
    this.name = 'HostsFileError';
  }
}

/** Target names: what a URL query and a label value hold without escaping, and what a person types. */
export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const DEFAULT_CLUSTER_REFRESH_MS = 5 * 60_000;

// A plain 0 (YAML reads `max-age: 0` as a number) means 0s, as on the command line.
const duration = z.union([z.string(), z.literal(0)], { error: 'must be a duration such as 500ms, 15s, 1m or 2h' }).transform((value, context) => {
  const text = String(value);
  const ms = parseDuration(text === '0' ? '0s' : text);
  if (ms === null) {
    context.addIssue({ code: 'custom', message: `must be a duration such as 500ms, 15s, 1m or 2h, got ${abbreviate(text)}` });
    return z.NEVER;
  }
  if (ms > MAX_DURATION_MS) {
    context.addIssue({ code: 'custom', message: `must be at most ${formatDuration(MAX_DURATION_MS)} (the longest timer Node can set), got ${abbreviate(text)}` });
    return z.NEVER;
  }
  return ms;
});

const hostSchema = z
  .strictObject({
    name: z.string().regex(HOST_NAME, 'must be 1 to 63 letters, digits, dots, hyphens or underscores, starting with a letter or digit'),
    address: z.string().optional(),
    replay: z.string().min(1).optional(),
    simulator: z.strictObject({ vms: z.number().int().min(0).max(100_000).default(12), seed: z.number().int().min(0).max(0xffffffff).default(1) }).optional(),
    interval: duration.optional(),
    timeout: duration.optional(),
    'full-interval': duration.optional(),
    'max-age': duration.optional(),
  })
  .superRefine((host, context) => {
    const kinds = (['address', 'replay', 'simulator'] as const).filter((key) => host[key] !== undefined);
    if (kinds.length > 1) context.addIssue({ code: 'custom', path: [kinds[1]!], message: `a host has one of address, replay and simulator, not ${kinds.join(' and ')}` });
    if (host.address !== undefined) {
      try {
        validateHostAddress(host.address);
      } catch (error) {
        if (!(error instanceof InvalidHostAddressError)) throw error;
        context.addIssue({ code: 'custom', path: ['address'], message: error.message });
      }
    }
  });

const fileSchema = z.strictObject({
  hosts: z.array(hostSchema).default([]),
  cluster: z.strictObject({ discover: z.boolean().default(false), 'refresh-interval': duration.optional() }).optional(),
});

function lineOf(node: Node | null | undefined, lines: LineCounter): number | null {
  const offset = node?.range?.[0];
  return offset === undefined ? null : lines.linePos(offset).line;
}

function keyText(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

/**
 * Reads and checks `--config.file`: the hosts to sample (and whether to add the nodes of the local
 * failover cluster). Every problem is one line naming the file, the line and the key; nothing is
 * sampled from a file that does not validate.
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
  const parsed = fileSchema.safeParse(document.toJS({ maxAliasCount: 100 }) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // The line of the key, or of the nearest enclosing node the file has (a missing key's parent).
    let at: ReadonlyArray<PropertyKey> = issue.path;
    let node: unknown = document.getIn(at as unknown[], true);
    while (node === undefined && at.length > 0) {
      at = at.slice(0, -1);
      node = at.length === 0 ? document.contents : document.getIn(at as unknown[], true);
    }
    return fail(lineOf(node as Node | undefined, lines), keyText(issue.path), issue.message);
  }

  const directory = dirname(filePath);
  const seen = new Map<string, number>();
  const hosts = parsed.data.hosts.map((host, index): HostConfig => {
    const line = lineOf(document.getIn(['hosts', index], true) as Node | undefined, lines);
    const folded = host.name.toLowerCase();
    if (seen.has(folded)) fail(line, `hosts[${index}].name`, `${JSON.stringify(host.name)} is the name of hosts[${seen.get(folded)}] already (names are compared without case)`);
    seen.set(folded, index);
    const timing = {
      intervalMs: host.interval ?? defaults.intervalMs,
      timeoutMs: host.timeout ?? defaults.timeoutMs,
      fullIntervalMs: host['full-interval'] ?? defaults.fullIntervalMs,
      maxAgeMs: host['max-age'] ?? defaults.maxAgeMs,
    };
    if (timing.intervalMs < 100) fail(line, `hosts[${index}].interval`, 'must be at least 100ms');
    if (timing.timeoutMs < 100) fail(line, `hosts[${index}].timeout`, 'must be at least 100ms');
    if (timing.maxAgeMs > 0 && timing.maxAgeMs < timing.intervalMs) fail(line, `hosts[${index}].max-age`, 'must be at least the interval (or 0 to keep data forever)');
    const source: HostSourceConfig =
      host.replay !== undefined
        ? { kind: 'replay', file: resolve(directory, host.replay) }
        : host.simulator !== undefined
          ? { kind: 'simulator', vms: host.simulator.vms, seed: host.simulator.seed }
          : host.address !== undefined
            ? { kind: 'powershell', computerName: validateHostAddress(host.address) }
            : { kind: 'powershell' };
    return { name: host.name, source, ...timing };
  });
  const discover = parsed.data.cluster?.discover ?? false;
  if (hosts.length === 0 && !discover) fail(null, 'hosts', 'lists no host, and cluster.discover is not true: there would be nothing to sample');
  return { path: filePath, hosts, cluster: { discover, refreshMs: parsed.data.cluster?.['refresh-interval'] ?? DEFAULT_CLUSTER_REFRESH_MS } };
}
