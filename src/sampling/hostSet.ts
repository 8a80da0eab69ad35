import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { SampleSource } from '../contract/sample';
import type { Slots } from '../contract/slots';
import type { ModelCollector } from '../metrics/collectors/collector';
import type { KvpExport } from '../model/kvpExport';
import { compressBody, type Body, type CurrentSample, type HostState } from './currentSample';
import { HostSampler } from './hostSampler';
import type { Sampled } from './sampleStep';
import { Scheduler } from './scheduler';

/** One host to sample: its name (the /probe target), timing, where it came from, and its source. */
export interface HostSpec<S> {
  readonly name: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly fullIntervalMs: number;
  readonly maxAgeMs: number;
  /** `configured` (--config.file) or `discovered` (a node of the failover cluster). */
  readonly origin: 'configured' | 'discovered';
  /** Where its samples come from, as plain data (createSource makes the source): a host whose source changes gets a new one. */
  readonly source: S;
}

export interface HostSetOptions<S> {
  readonly createSource: (source: S) => SampleSource;
  /** The one bound on samples at once, across the hosts. */
  readonly slots: Slots;
  readonly collectors: readonly ModelCollector[];
  readonly kvpExport?: KvpExport;
  /** A host's body (/probe?target=): its metrics and its sampling metrics. */
  readonly hostPage: (state: HostState) => Promise<string>;
  /** The exporter's /metrics body, made from every host's state. */
  readonly exporterPage: (hosts: ReadonlyArray<{ readonly spec: HostSpec<S>; readonly state: HostState }>) => Promise<string>;
  readonly logger: Logger;
}

interface Entry<S> {
  readonly spec: HostSpec<S>;
  readonly source: SampleSource;
  readonly sampler: HostSampler;
  readonly scheduler: Scheduler<Sampled>;
}

/**
 * The hosts an exporter with --config.file samples, each on its own clock, at most as many at once as
 * the slots allow. Configured and discovered hosts are set as two lists; a discovered host with the
 * name of a configured one is left out. The exporter's own /metrics body is made again whenever a
 * host publishes, or the set of hosts changes.
 */
export class HostSet<S> {
  private readonly entries = new Map<string, Entry<S>>();
  private configured: readonly HostSpec<S>[] = [];
  private discovered: readonly HostSpec<S>[] = [];
  private exporterBody: Body | null = null;
  private rendering = 0;
  private closed = false;

  constructor(private readonly options: HostSetOptions<S>) {}

  /** The host of a /probe target (names are compared without case); undefined for any other name. */
  get(target: string): CurrentSample | null | undefined {
    const entry = this.entries.get(target.toLowerCase());
    return entry === undefined ? undefined : entry.sampler.current;
  }

  /** Every host, in name order. */
  list(): ReadonlyArray<{ readonly spec: HostSpec<S>; readonly current: CurrentSample | null }> {
    return [...this.entries.values()].sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1)).map((entry) => ({ spec: entry.spec, current: entry.sampler.current }));
  }

  /** The exporter's /metrics body, null until first made. */
  get exporter(): Body | null {
    return this.exporterBody;
  }

  async setConfigured(specs: readonly HostSpec<S>[]): Promise<void> {
    this.configured = specs;
    await this.reconcile();
  }

  async setDiscovered(specs: readonly HostSpec<S>[]): Promise<void> {
    this.discovered = specs;
    await this.reconcile();
  }

  /** Stops every host's sampling and closes its source. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((entry) => this.stop(entry)));
  }

  private wanted(): Map<string, HostSpec<S>> {
    const wanted = new Map<string, HostSpec<S>>();
    for (const spec of this.configured) wanted.set(spec.name.toLowerCase(), spec);
    for (const spec of this.discovered) if (!wanted.has(spec.name.toLowerCase())) wanted.set(spec.name.toLowerCase(), spec);
    return wanted;
  }

  private async reconcile(): Promise<void> {
    if (this.closed) return;
    const wanted = this.wanted();
    const stopping: Array<Promise<void>> = [];
    for (const [key, entry] of this.entries) {
      const spec = wanted.get(key);
      if (spec !== undefined && sameSpec(spec, entry.spec)) continue;
      this.entries.delete(key);
      this.options.logger.info({ host: entry.spec.name, origin: entry.spec.origin }, spec === undefined ? 'host removed' : 'host changed; sampling it anew');
      stopping.push(this.stop(entry));
    }
    await Promise.all(stopping);
    const starting: Array<Promise<void>> = [];
    for (const [key, spec] of wanted) {
      if (this.entries.has(key)) continue;
      starting.push(this.start(key, spec));
    }
    await Promise.all(starting);
    await this.renderExporterPage();
  }

  private async start(key: string, spec: HostSpec<S>): Promise<void> {
    const source = this.options.createSource(spec.source);
    const sampler = new HostSampler({
      host: spec.name,
      source,
      collectors: this.options.collectors,
      fullIntervalMs: spec.fullIntervalMs,
      bodyText: this.options.hostPage,
      kvpExport: this.options.kvpExport,
      logger: this.options.logger,
    });
    const scheduler = new Scheduler({ intervalMs: spec.intervalMs, timeoutMs: spec.timeoutMs, maxAgeMs: spec.maxAgeMs, slots: this.options.slots }, sampler);
    const entry = { spec, source, sampler, scheduler };
    this.entries.set(key, entry);
    sampler.onPublish(() => void this.renderExporterPage());
    await sampler.publishInitial();
    this.options.logger.info({ host: spec.name, origin: spec.origin }, 'host added');
    scheduler.start();
  }

  private async stop(entry: Entry<S>): Promise<void> {
    await entry.scheduler.stop();
    await entry.source.close();
  }

  /** Makes the exporter's /metrics body from every host's state; a newer rendering wins. */
  private async renderExporterPage(): Promise<void> {
    const generation = ++this.rendering;
    const hosts = this.list().flatMap(({ spec, current }) => (current === null ? [] : [{ spec, state: current as HostState }]));
    try {
      const body = await compressBody(await this.options.exporterPage(hosts));
      if (generation === this.rendering) this.exporterBody = body;
    } catch (error) {
      this.options.logger.error({ err: error }, 'rendering the exporter metrics failed');
    }
  }
}

function sameSpec<S>(a: HostSpec<S>, b: HostSpec<S>): boolean {
  return (
    a.name === b.name &&
    a.origin === b.origin &&
    isDeepStrictEqual(a.source, b.source) &&
    a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs &&
    a.fullIntervalMs === b.fullIntervalMs &&
    a.maxAgeMs === b.maxAgeMs
  );
}
