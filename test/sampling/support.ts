/**
 * Shared by the hostile-input and fault tests: sample documents built in code, an in-memory pino log,
 * the one host of --source as hosts.ts makes it (oneHostSampler) behind createRequestListener on
 * 127.0.0.1, samples taken through the real Scheduler, a scriptable source double, and heap measurement.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { createRequestListener } from '../../src/app';
import { oneHostSampler, oneHostView } from '../../src/hosts';
import type { RawSample, SampleScope, SampleSource, SourceName } from '../../src/contract/sample';
import { COMPONENT_CLASSES } from '../../src/document/classes';
import type { Limits } from '../../src/document/limits';
import type { ModelCollector } from '../../src/metrics/collectors/collector';
import type { ProcessMetrics } from '../../src/metrics/processMetrics';
import type { KvpExport } from '../../src/model/kvpExport';
import type { CurrentSample } from '../../src/sampling/currentSample';
import type { HostSampler } from '../../src/sampling/hostSampler';
import { Scheduler } from '../../src/sampling/scheduler';
import { parseExposition, type Exposition } from '../helpers/exposition';
import type { LogLine } from '../helpers/exporterProcess';

export type { LogLine } from '../helpers/exporterProcess';
// For the tests that run the built exporter: its path and the check that it is built.
export { MAIN as builtMain, requireBuild } from '../helpers/exporterProcess';

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

/** What a Status sample of the same host holds: no setting data, no KVP item arrays. */
export function statusOf(document: Record<string, unknown>): Record<string, unknown> {
  const classes = { ...(document['classes'] as Record<string, unknown>) };
  for (const c of COMPONENT_CLASSES) delete classes[c.settingClass];
  const kvp = COMPONENT_CLASSES.find((c) => c.component === 'kvp_exchange')!.deviceClass;
  classes[kvp] = (classes[kvp] as Array<Record<string, unknown>>).map(({ GuestIntrinsicExchangeItems: _i, GuestExchangeItems: _g, ...status }) => status);
  return { ...document, scope: 'status', classes };
}

// ---------------------------------------------------------------------------------------------------
// Logging

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
// The one host of --source, as hosts.ts makes it, sampled through the real Scheduler

export interface Rig {
  readonly sampler: HostSampler;
  readonly log: MemoryLog;
  readonly url: string;
  /** GET a path on 127.0.0.1. */
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
  /** GET /metrics, checked with the strict exposition checker. */
  scrape(): Promise<{ text: string; exposition: Exposition }>;
  /** `n` samples one after the other (sampleOnce). */
  sampleTimes(n: number): Promise<void>;
  close(): Promise<void>;
}

/** What the tests vary of the one host's sampler; everything but the source has a default. */
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

/** The sampler of the one host of --source (hosts.ts's oneHostSampler): its body is the single-host /metrics page. */
export function singleHostSampler(source: SampleSource, options: SingleHostOptions = {}): HostSampler {
  return oneHostSampler(source, {
    exporter: { version: options.version ?? 'test', source: source.name, processMetrics: options.processMetrics ?? null },
    logger: options.logger ?? memoryLogger('warn').logger,
    fullIntervalMs: options.fullIntervalMs ?? 0,
    kvpExport: options.kvpExport,
    collectors: options.collectors,
    limits: options.limits,
    now: options.now,
  });
}

/** The next sample `sampler` publishes. */
export function nextPublication(sampler: HostSampler): Promise<CurrentSample> {
  return new Promise((resolve) => {
    const stop = sampler.onPublish((sample) => {
      stop();
      resolve(sample);
    });
  });
}

/**
 * One sample through the real Scheduler (its timeout, its callbacks): a scheduler that samples at start
 * and not again for an hour, stopped once the sample's outcome is published. Resolves with that.
 */
export async function sampleOnce(sampler: HostSampler, timeoutMs = 60_000): Promise<CurrentSample> {
  const scheduler = new Scheduler({ intervalMs: 3_600_000, timeoutMs, maxAgeMs: 0 }, sampler);
  const published = nextPublication(sampler);
  scheduler.start();
  try {
    return await published;
  } finally {
    await scheduler.stop();
  }
}

/** The one host's sampler behind createRequestListener, as main serves it, on 127.0.0.1. */
export async function startRig(options: { source: SampleSource; log?: MemoryLog } & Omit<SingleHostOptions, 'logger'>): Promise<Rig> {
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

/**
 * GET `url` and read the whole body, counting its bytes rather than decoding it: for the scrape storms,
 * which need only the status and the length, and for which turning some 1 500 bodies of about 1.3 MB
 * into strings took the test process longer than the exporter took to serve them.
 */
export function httpGetLength(url: string, agent?: http.Agent, timeoutMs = 10_000): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, timeout: timeoutMs }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => void (bytes += chunk.length));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes }));
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
