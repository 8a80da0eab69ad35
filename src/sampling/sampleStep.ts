import { SampleError, type RawSample, type SampleScope, type SampleSource } from '../contract/sample';
import { Diagnostics } from '../document/diagnostics';
import { parseKvpItem, type KvpParseResult } from '../document/kvp';
import type { Limits } from '../document/limits';
import { decodeRawSample, parseDocument, type ParsedDocument } from '../document/parse';
import { buildHostModel } from '../model/buildHostModel';
import type { HostModel, VmModel } from '../model/hostModel';
import type { KvpExport } from '../model/kvpExport';
import type { ModelCollector } from '../metrics/collectors/collector';
import { renderCollector, type CollectorRun } from '../metrics/renderModel';

/**
 * One sample, from the source to the model's exposition: chooseScope says which kind to ask for,
 * runSample asks the source, parses, builds the model and renders it, and returns what came of it.
 * Both keep nothing: what the next sample needs of this one is in the outcome (see HostSampler).
 */

/** How a sample is read, modelled and rendered: the same for every sample of a host. */
export interface SampleStepOptions {
  readonly collectors: readonly ModelCollector[];
  readonly limits: Limits;
  /** Which KVP items become series of their own (--kvp.export-keys); default none. */
  readonly kvpExport?: KvpExport;
}

/** The KVP items a Full sample parsed, by their embedded-instance text. */
export type KvpItemParses = ReadonlyMap<string, KvpParseResult>;

/** A Full sample: what the Status samples after it are completed from, and the next Full sample reads KVP items with. */
export interface FullSample {
  readonly model: HostModel;
  /**
   * Its KVP items, parsed. saxes takes about 15 µs an item and a 1024-VM host has about 16,700 items,
   * most of them the same from one Full sample to the next: the next one parses only the items that
   * are new (docs/performance.md has the figures with and without).
   */
  readonly kvpItemParses: KvpItemParses;
}

/** A sample that succeeded: its model, the model's exposition, and what reading it dropped. */
export interface Sampled {
  readonly kind: 'sampled';
  /** What the document was: a source may answer a Status request with a Full document. */
  readonly scope: SampleScope;
  readonly model: HostModel;
  /** The collectors' families, one after the other. */
  readonly modelText: string;
  readonly collectorRuns: readonly CollectorRun[];
  readonly dropped: ReturnType<Diagnostics['entries']>;
  /** Set for a Full sample. */
  readonly full: FullSample | null;
}

/** A sample that failed: what the source or the parser threw (a SampleError with its reason; anything else counts as source_error). */
export interface SampleFailed {
  readonly kind: 'failed';
  readonly error: unknown;
}

/** A Status sample whose VMs are not those of the last Full sample (added, removed, started, stopped): it needs a Full one. */
export interface NeedsFull {
  readonly kind: 'needsFull';
}

export type SampleOutcome = Sampled | SampleFailed | NeedsFull;

/**
 * Full or Status: Full when there is no last Full sample (none yet, the last one failed, or it does not
 * fit the host's VMs: pass null), when every sample is to be Full (fullIntervalMs 0), or when the last
 * Full sample is fullIntervalMs old; Status otherwise.
 */
export function chooseScope(lastFullAt: number | null, now: number, fullIntervalMs: number): SampleScope {
  return lastFullAt === null || fullIntervalMs === 0 || now - lastFullAt >= fullIntervalMs ? 'full' : 'status';
}

/**
 * Asks the source for a sample of `scope` and makes the model and its exposition. A Status document is
 * completed from `lastFull`; a Full one reads its KVP items with `lastFull`'s parses at hand. Never
 * rejects: a failure is an outcome. The event loop is let go between the stages, so that scrapes are
 * answered meanwhile; an abort of `signal` ends the sample at the next stage.
 */
export async function runSample(source: SampleSource, scope: SampleScope, lastFull: FullSample | null, options: SampleStepOptions, signal: AbortSignal): Promise<SampleOutcome> {
  try {
    const raw = await source.sample(scope, signal);
    signal.throwIfAborted();
    await yieldToEventLoop(signal);
    const diagnostics = new Diagnostics();
    const document = readDocument(raw, diagnostics, options.limits);
    if (scope === 'full' && document.scope === 'status') throw new SampleError('invalid_document', 'asked for a Full sample, the source returned a Status one');
    await yieldToEventLoop(signal);
    const modelled = modelOf(document, lastFull, diagnostics, options);
    if (modelled === null) return { kind: 'needsFull' };
    await yieldToEventLoop(signal);
    // One collector at a time, the event loop let go between them: a 1024-VM host renders 6 MB.
    let modelText = '';
    const collectorRuns: CollectorRun[] = [];
    for (const collector of options.collectors) {
      const rendered = renderCollector(modelled.model, collector);
      modelText += rendered.text;
      collectorRuns.push(rendered.run);
      await yieldToEventLoop(signal);
    }
    return { kind: 'sampled', scope: document.scope, model: modelled.model, modelText, collectorRuns, dropped: diagnostics.entries(), full: modelled.full };
  } catch (error) {
    return { kind: 'failed', error };
  }
}

/** A raw sample → its document; what was dropped goes to `diagnostics`. Throws a SampleError (invalid_document) for what is no document. */
export function readDocument(raw: RawSample, diagnostics: Diagnostics, limits: Limits): ParsedDocument {
  return parseDocument(decodeRawSample(raw, limits), diagnostics, limits);
}

/**
 * A document → the host model, and for a Full document what the next samples need of it. A Status
 * document is completed from `lastFull`; null when it cannot be (no last Full sample, or other VMs).
 */
export function modelOf(document: ParsedDocument, lastFull: FullSample | null, diagnostics: Diagnostics, options: SampleStepOptions): { readonly model: HostModel; readonly full: FullSample | null } | null {
  const modelOptions = { limits: options.limits, kvpExport: options.kvpExport };
  if (document.scope === 'status') {
    if (lastFull === null) return null;
    const model = buildHostModel(document, diagnostics, { ...modelOptions, fullModel: lastFull.model });
    // Setting data and KVP items of other VMs do not fit these.
    return sameVms(model, lastFull.model) ? { model, full: null } : null;
  }
  const kvpItemParses = new Map<string, KvpParseResult>();
  const readKvpItem = (xml: string): KvpParseResult => {
    let result = kvpItemParses.get(xml);
    if (result === undefined) {
      result = lastFull?.kvpItemParses.get(xml) ?? parseKvpItem(xml);
      kvpItemParses.set(xml, result);
    }
    return result;
  };
  const model = buildHostModel(document, diagnostics, { ...modelOptions, readKvpItem });
  return { model, full: { model, kvpItemParses } };
}

/** Whether two models show the same VMs (both are sorted by id), each with a KVP component (running or paused) in both or in neither. */
function sameVms(a: HostModel, b: HostModel): boolean {
  return (
    a.vms.length === b.vms.length &&
    a.vms.every((vm, index) => {
      const other = b.vms[index];
      return other !== undefined && vm.id === other.id && hasKvp(vm) === hasKvp(other);
    })
  );
}

function hasKvp(vm: VmModel): boolean {
  return vm.components.some((component) => component.name === 'kvp_exchange' && component.present);
}

async function yieldToEventLoop(signal: AbortSignal): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}
