/**
 * The runner behind test/document/nasty.test.ts and nasty-large.test.ts: one case = one sample document file,
 * replayed through the real replay source (Buffer → UTF-8 decoding included) into the one host's sampler
 * as hosts.ts makes it, sampled through the real Scheduler, and the HTTP app, several samples in a row.
 * For every case it checks:
 * - no crash: every sample either succeeds or fails with the expected reason;
 * - the exposition served at /metrics is valid (strict checker here, promtool in the test files);
 * - the reason is counted: hyperv_sample_failures_total{reason} / hyperv_sample_dropped_total{reason}
 *   grow by exactly the expected amount per sample, every other reason stays 0;
 * - the reason is logged once over all samples (not once per item, not once per sample), and every
 *   log line is short;
 * - the heap retained after the samples is bounded, and does not grow from one sample to the next.
 */
import { DROP_REASONS, type DropReason } from '../../src/document/diagnostics';
import { FAILURE_REASONS, type FailureReason } from '../../src/contract/sample';
import type { KvpExport } from '../../src/model/kvpExport';
import { createReplaySource } from '../../src/sources/replaySource';
import { findSeries, valueOf, type Exposition } from '../helpers/exposition';
import { MiB, retainedHeap, startRig, type LogLine, type Rig } from './support';

export interface NastyCase {
  /** File name (in the corpus folder or generated). */
  readonly file: string;
  /** The sample fails with this reason; absent: the sample succeeds. */
  readonly failure?: FailureReason;
  /** What one sample drops, by reason; absent: nothing. */
  readonly dropped?: Partial<Record<DropReason, number>>;
  /** VMs served (successful samples only). */
  readonly vms?: number;
  /** Heap the exporter may keep after the samples (default 8 MiB). */
  readonly retainedHeapBytes?: number;
  /** More assertions on the served exposition. */
  readonly check?: (exposition: Exposition, rig: Rig) => void | Promise<void>;
  /** --kvp.export-keys and --kvp.export-max-per-vm for this case (default: none exported). */
  readonly kvpExport?: KvpExport;
}

/** Longest log line accepted: a log line carries one example per reason, never the data itself. */
export const MAX_LOG_LINE = 8 * 1024;
const SAMPLES = 3;
const DROP_MESSAGE = 'sample had data that was dropped or cut';

export interface CaseResult {
  /** The full /metrics body after the last sample (model + exporter metrics). */
  readonly text: string;
  readonly logLines: readonly LogLine[];
}

function checkCounters(exposition: Exposition, c: NastyCase, samples: number): void {
  expect(valueOf(exposition, 'hyperv_up')).toBe(c.failure === undefined ? 1 : 0);
  const failures = Object.fromEntries(FAILURE_REASONS.map((reason) => [reason, valueOf(exposition, 'hyperv_sample_failures_total', { reason })]));
  expect(failures).toEqual(Object.fromEntries(FAILURE_REASONS.map((reason) => [reason, reason === c.failure ? samples : 0])));
  const dropped = Object.fromEntries(DROP_REASONS.map((reason) => [reason, valueOf(exposition, 'hyperv_sample_dropped_total', { reason })]));
  expect(dropped).toEqual(Object.fromEntries(DROP_REASONS.map((reason) => [reason, (c.dropped?.[reason] ?? 0) * samples])));
  if (c.failure === undefined && c.vms !== undefined) expect(findSeries(exposition, 'hyperv_vm_info')).toHaveLength(c.vms);
  if (c.failure !== undefined) expect(findSeries(exposition, 'hyperv_vm_info')).toHaveLength(0);
}

function checkLog(lines: readonly LogLine[], raw: readonly string[], c: NastyCase): void {
  for (const line of raw) expect(line.length).toBeLessThan(MAX_LOG_LINE);
  expect(lines.filter((line) => line.level >= 50)).toEqual([]);
  const failed = lines.filter((line) => line.msg.startsWith('sample failed'));
  const dropped = lines.filter((line) => line.msg === DROP_MESSAGE);
  if (c.failure === undefined) {
    expect(failed).toHaveLength(0);
  } else {
    expect(failed).toHaveLength(1);
    expect(failed[0]?.['reason']).toBe(c.failure);
  }
  const expectedDrops = Object.entries(c.dropped ?? {});
  if (expectedDrops.length === 0) {
    expect(dropped).toHaveLength(0);
  } else {
    expect(dropped).toHaveLength(1);
    const logged = dropped[0]?.['dropped'] as Record<string, { count: number; example: string }>;
    expect(Object.fromEntries(Object.entries(logged).map(([reason, entry]) => [reason, entry.count]))).toEqual(Object.fromEntries(expectedDrops));
  }
  // Nothing else is logged about the samples.
  expect(lines).toHaveLength(failed.length + dropped.length);
}

/** Runs one case (see the file comment); returns the last /metrics body for promtool. */
export async function runNastyCase(path: string, c: NastyCase): Promise<CaseResult> {
  const heapBefore = await retainedHeap();
  const rig = await startRig({ source: createReplaySource(path), kvpExport: c.kvpExport });
  try {
    await rig.sampleTimes(SAMPLES);
    const first = await rig.scrape();
    checkCounters(first.exposition, c, SAMPLES);
    const heapAfterFirst = await retainedHeap();

    await rig.sampleTimes(SAMPLES);
    const second = await rig.scrape();
    checkCounters(second.exposition, c, 2 * SAMPLES);
    checkLog(rig.log.lines(), rig.log.raw, c);
    const heapAfterSecond = await retainedHeap();
    // Bounded: what the exporter keeps (model, rendered body, caches) is small…
    expect(heapAfterFirst - heapBefore).toBeLessThan(c.retainedHeapBytes ?? 8 * MiB);
    // …and samples of the same document do not add to it.
    expect(heapAfterSecond - heapAfterFirst).toBeLessThan(2 * MiB);

    await c.check?.(second.exposition, rig);

    const landing = await rig.get('/');
    expect(landing.status).toBe(200);
    expect(landing.body).not.toMatch(/<script/i);
    return { text: second.text, logLines: rig.log.lines() };
  } finally {
    await rig.close();
  }
}
