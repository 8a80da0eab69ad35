/**
 * Shared by the hostile-input and fault tests: sample documents built in code, an in-memory pino log,
 * the exporter's pieces wired the way main wires them (HostSampler + the single-host metrics page +
 * createRequestListener, on 127.0.0.1 only), a scriptable source double, heap measurement, and a runner for the
 * built exporter as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { createRequestListener } from '../../src/app';
import { oneHostView } from '../../src/hosts';
import type { RawSample, SampleScope, SampleSource, SourceName } from '../../src/contract/sample';
import { COMPONENT_CLASSES } from '../../src/document/classes';
import type { Limits } from '../../src/document/limits';
import { COLLECTORS } from '../../src/metrics/collectors';
import type { ModelCollector } from '../../src/metrics/collectors/collector';
import { singleHostMetricsPage } from '../../src/metrics/pages';
import type { ProcessMetrics } from '../../src/metrics/processMetrics';
import type { KvpExport } from '../../src/model/kvpExport';
import { HostSampler } from '../../src/sampling/hostSampler';
import { parseExposition, type Exposition } from '../helpers/exposition';

export const repoRoot = join(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------------
// Documents

export const KVP_ITEM_CLASS = 'Msvm_KvpExchangeDataItem';

/** XML-escapes text content (and turns \r into a character reference, which XML would normalise). */
export function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

/** One embedded instance as GetText(1) writes it (wmi.md §5.2): `data` and `name` are inserted raw. */
export function kvpItemRaw(name: string, data: string, source = 2): string {
  return `<INSTANCE CLASSNAME="${KVP_ITEM_CLASS}"><PROPERTY NAME="Caption" PROPAGATED="true" TYPE="string"></PROPERTY><PROPERTY NAME="Data" TYPE="string"><VALUE>${data}</VALUE></PROPERTY><PROPERTY NAME="Description" PROPAGATED="true" TYPE="string"></PROPERTY><PROPERTY NAME="ElementName" PROPAGATED="true" TYPE="string"></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>${name}</VALUE></PROPERTY><PROPERTY NAME="Source" TYPE="uint16"><VALUE>${source}</VALUE></PROPERTY></INSTANCE>`;
}

/** The same with name and data escaped: a well-formed item whatever the strings hold. */
export function kvpItem(name: string, data: string, source = 2): string {
  return kvpItemRaw(xmlText(name), xmlText(data), source);
}

export interface VmSpec {
  readonly guid: string;
  readonly name?: unknown;
  readonly state?: unknown;
  readonly uptimeMs?: unknown;
  /** Components present (running VM): component name → OperationalStatus. Absent: VM off. */
  readonly components?: Readonly<Record<string, unknown>>;
  readonly intrinsic?: unknown;
  readonly guest?: unknown;
  readonly host?: unknown;
}

export const ALL_OK: Readonly<Record<string, number[]>> = {
  heartbeat: [2, 2],
  kvp_exchange: [2],
  shutdown: [2],
  time_sync: [2],
  vss: [2],
  guest_service_interface: [2],
};

/** A sample document (schemaVersion 1) with a host and the given VMs, every class present. */
export function buildDocument(computerName: string, vms: readonly VmSpec[]): { schemaVersion: 1; computerName: string; collectedAt: string; classes: Record<string, unknown[]> } {
  const classes: Record<string, unknown[]> = {
    Msvm_ComputerSystem: [
      { Name: computerName, ElementName: computerName, EnabledState: 2, HealthState: 5, OperationalStatus: [2], OnTimeInMilliseconds: null },
    ],
  };
  for (const c of COMPONENT_CLASSES) {
    classes[c.deviceClass] = [];
    classes[c.settingClass] = [];
  }
  const push = (className: string, instance: unknown): void => {
    (classes[className] as unknown[]).push(instance);
  };
  for (const vm of vms) {
    push('Msvm_ComputerSystem', {
      Name: vm.guid,
      ElementName: vm.name ?? `vm-${vm.guid.slice(0, 8)}`,
      EnabledState: vm.state ?? (vm.components === undefined ? 3 : 2),
      HealthState: 5,
      OperationalStatus: [2],
      OnTimeInMilliseconds: vm.uptimeMs ?? (vm.components === undefined ? 0 : 3_600_000),
    });
    for (const c of COMPONENT_CLASSES) {
      const setting: Record<string, unknown> = { InstanceID: `Microsoft:${vm.guid}\\${c.guid.toUpperCase()}`, EnabledState: 2 };
      if (c.component === 'kvp_exchange') Object.assign(setting, { HostExchangeItems: vm.host ?? [], HostOnlyItems: [] });
      push(c.settingClass, setting);
      const status = vm.components?.[c.component];
      if (status === undefined) continue;
      const device: Record<string, unknown> = { SystemName: vm.guid, DeviceID: `Microsoft:${c.guid.toUpperCase()}`, EnabledState: 2, OperationalStatus: status };
      if (c.component === 'kvp_exchange') Object.assign(device, { GuestIntrinsicExchangeItems: vm.intrinsic ?? [], GuestExchangeItems: vm.guest ?? [] });
      push(c.deviceClass, device);
    }
  }
  return { schemaVersion: 1, computerName, collectedAt: '2026-11-24T10:00:00.000Z', classes };
}

export function guid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** A clean document with `count` running VMs, each with an intrinsic KVP pool: no drops at all. */
export function cleanDocument(count = 2, computerName = 'HV-TEST'): ReturnType<typeof buildDocument> {
  const vms: VmSpec[] = [];
  for (let i = 1; i <= count; i++) {
    vms.push({
      guid: guid(i),
      name: `vm-${i}`,
      components: ALL_OK,
      intrinsic: [kvpItem('OSName', 'Windows Server 2022 Datacenter'), kvpItem('OSVersion', '10.0.20348'), kvpItem('FullyQualifiedDomainName', `vm-${i}.example.com`)],
    });
  }
  return buildDocument(computerName, vms);
}

// ---------------------------------------------------------------------------------------------------
// Logging

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface MemoryLog {
  readonly logger: Logger;
  /** The raw lines as pino wrote them. */
  readonly raw: string[];
  lines(): LogLine[];
  clear(): void;
}

/** A pino logger (JSON, synchronous) that keeps its lines in memory. */
export function memoryLogger(level: pino.LevelWithSilent = 'info'): MemoryLog {
  const raw: string[] = [];
  // A destination without an fd: pino calls write() synchronously with one line (and its "\n") per call.
  const destination = { write: (line: string): void => void raw.push(line.endsWith('\n') ? line.slice(0, -1) : line) };
  const logger = pino({ level, base: null, timestamp: false }, destination);
  return {
    logger,
    raw,
    lines: () => raw.map((line) => JSON.parse(line) as LogLine),
    clear: () => void raw.splice(0, raw.length),
  };
}

// ---------------------------------------------------------------------------------------------------
// The exporter's pieces, wired as main wires them

export interface Rig {
  readonly sampler: HostSampler;
  readonly log: MemoryLog;
  readonly url: string;
  /** GET a path on 127.0.0.1. */
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
  /** GET /metrics, checked with the strict exposition checker. */
  scrape(): Promise<{ text: string; exposition: Exposition }>;
  /** `n` samples one after the other, with the callbacks the Scheduler would make. */
  sampleTimes(n: number): Promise<void>;
  close(): Promise<void>;
}

/** How singleHostSampler wires a host; everything but the source has a default. */
export interface SingleHostOptions {
  readonly logger?: Logger;
  readonly fullIntervalMs?: number;
  readonly collectors?: readonly ModelCollector[];
  readonly limits?: Limits;
  readonly kvpExport?: KvpExport;
  readonly now?: () => number;
  readonly processMetrics?: ProcessMetrics | null;
  readonly version?: string;
}

/** A HostSampler wired as main wires the one host of --source: its body is the single-host /metrics page. */
export function singleHostSampler(source: SampleSource, options: SingleHostOptions = {}): HostSampler {
  const exporter = { version: options.version ?? 'test', source: source.name, processMetrics: options.processMetrics ?? null };
  return new HostSampler({
    host: source.name,
    source,
    collectors: options.collectors ?? COLLECTORS,
    fullIntervalMs: options.fullIntervalMs ?? 0,
    bodyText: (state) => singleHostMetricsPage(state, exporter),
    logger: options.logger ?? memoryLogger('warn').logger,
    limits: options.limits,
    kvpExport: options.kvpExport,
    now: options.now,
  });
}

export async function startRig(options: {
  source: SampleSource;
  limits?: Limits;
  log?: MemoryLog;
  fullIntervalMs?: number;
  collectors?: readonly ModelCollector[];
  kvpExport?: KvpExport;
}): Promise<Rig> {
  const log = options.log ?? memoryLogger();
  const sampler = singleHostSampler(options.source, { ...options, logger: log.logger });
  await sampler.publishInitial();
  const app = createRequestListener({ telemetryPath: '/metrics', version: 'test', logger: log.logger, ...oneHostView(options.source.name, () => sampler.current) });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const agent = new http.Agent({ keepAlive: false });
  const get: Rig['get'] = (path, headers = {}) => httpGet(`${url}${path}`, headers, agent);
  return {
    sampler,
    log,
    url,
    get,
    async scrape() {
      const response = await get('/metrics');
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
      return { text: response.body, exposition: parseExposition(response.body) };
    },
    async sampleTimes(n) {
      for (let i = 0; i < n; i++) await sampleOnce(sampler);
    },
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * One sample with the callbacks the Scheduler would make; resolves once its outcome is published (as
 * it is between two scheduled samples).
 */
export async function sampleOnce(sampler: HostSampler): Promise<void> {
  let stop = (): void => undefined;
  const published = new Promise<void>((resolve) => (stop = sampler.onPublish(() => resolve())));
  const started = performance.now();
  try {
    await sampler.sample(new AbortController().signal);
    sampler.succeeded((performance.now() - started) / 1000);
  } catch (error) {
    sampler.failed(error, (performance.now() - started) / 1000);
  }
  await published;
  stop();
}

export function httpGet(
  url: string,
  headers: Record<string, string> = {},
  agent?: http.Agent,
  timeoutMs = 10_000,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------------
// A source double driven by the test

export type Behaviour =
  | { readonly kind: 'ok'; readonly document?: unknown }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'throw'; readonly error: unknown }
  /** Never settles and ignores the abort signal (a wedged PowerShell call). */
  | { readonly kind: 'hang' }
  /** Settles only when the sample is aborted (a well-behaved slow source). */
  | { readonly kind: 'hangUntilAbort' }
  /** Resolves with `undefined` instead of a RawSample (a buggy source). */
  | { readonly kind: 'nothing' }
  | { readonly kind: 'slow'; readonly ms: number; readonly document?: unknown };

export class ScriptedSource implements SampleSource {
  readonly name: SourceName = 'replay';
  behaviour: Behaviour = { kind: 'ok' };
  /** performance.now() at each call of sample(). */
  readonly calls: number[] = [];
  /** The scope each call asked for. */
  readonly scopes: SampleScope[] = [];
  /** Calls that have not settled (hang). */
  pending = 0;
  closed = false;

  constructor(private readonly defaultDocument: unknown = cleanDocument()) {}

  sample(scope: SampleScope, signal: AbortSignal): Promise<RawSample> {
    this.calls.push(performance.now());
    this.scopes.push(scope);
    const behaviour = this.behaviour;
    switch (behaviour.kind) {
      case 'ok':
        return Promise.resolve({ text: JSON.stringify(behaviour.document ?? this.defaultDocument) });
      case 'text':
        return Promise.resolve({ text: behaviour.text });
      case 'throw':
        return Promise.reject(behaviour.error);
      case 'nothing':
        return Promise.resolve(undefined as unknown as RawSample);
      case 'hang':
        this.pending++;
        return new Promise<RawSample>(() => undefined);
      case 'hangUntilAbort':
        return new Promise<RawSample>((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      case 'slow':
        return new Promise<RawSample>((resolve) => {
          setTimeout(() => resolve({ text: JSON.stringify(behaviour.document ?? this.defaultDocument) }), behaviour.ms);
        });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

// ---------------------------------------------------------------------------------------------------
// Memory

export { collectGarbage, retainedHeap } from '../helpers/memory';

export const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------
// Polling

/** Waits until `condition` holds (checked every `everyMs`), or throws after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000, everyMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------
// The built exporter as a process

export const builtMain = join(repoRoot, 'dist', 'main.js');

export function requireBuild(): void {
  if (!existsSync(builtMain)) throw new Error(`${builtMain} is missing: run "npm run build" first (npm test does)`);
}

export interface ExporterProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** stderr lines parsed as JSON (pino), in order; lines that are not JSON are kept as { msg }. */
  logs(): LogLine[];
  /** Resolves with the exit code, signal and time (performance.now()) of the exit, or rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const started = new Set<ChildProcess>();

/** Kills (SIGKILL, by pid) every exporter this file started that is still running. */
export function killStartedExporters(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  started.clear();
}

/**
 * Starts `node dist/main.js` on 127.0.0.1 with an ephemeral port and waits for its "listening" line.
 * `nodeArgs` go before the script (e.g. `--require preload.js`).
 */
export async function startExporter(args: readonly string[], options: { nodeArgs?: readonly string[]; startTimeoutMs?: number } = {}): Promise<ExporterProcess> {
  requireBuild();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), builtMain, '--web.listen-address=127.0.0.1:0', '--log.format=json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  started.add(child);
  const lines: LogLine[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    partial += chunk;
    let newline = partial.indexOf('\n');
    while (newline >= 0) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ level: 0, msg: line });
      }
      newline = partial.indexOf('\n');
    }
  });
  child.stdout?.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });

  let port = 0;
  await waitFor(
    'the exporter to log "listening"',
    () => {
      if (child.exitCode !== null) throw new Error(`exporter exited with ${child.exitCode} before listening: ${JSON.stringify(lines)}`);
      const listening = lines.find((line) => line.msg === 'listening');
      const address = listening?.['address'] as AddressInfo | undefined;
      if (address === undefined) return false;
      port = address.port;
      return true;
    },
    options.startTimeoutMs ?? 10_000,
  );
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    logs: () => lines,
    async exited(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`exporter did not exit within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
