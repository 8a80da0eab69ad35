/**
 * Source faults through the built exporter as a process, on the replay source: the replay file is
 * rewritten under the running exporter (garbage, empty, missing, invalid UTF-8, truncated) and back.
 * Every scrape is answered; hyperv_up goes to 0 with the right reason; the VM series stay until
 * --sample.max-age and then go; the exporter recovers by itself; each outage is logged once.
 * Also a scrape storm against the process: hundreds of concurrent scrapes are answered (200, or 503
 * beyond --web.max-requests), sampling goes on, and the process does not grow.
 */
import { readFileSync, renameSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSeries, parseExposition, promtoolCheck, valueOf, type Exposition } from '../helpers/exposition';
import { testTools } from '../helpers/testTools';
import { killStartedExporters, startExporter, type RunningExporter } from '../helpers/exporterProcess';
import { sleep, waitFor } from '../helpers/waitFor';
import { cleanDocument, httpGet, httpGetLength } from '../sampling/support';

jest.setTimeout(40_000);

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hyperv-faults-'));
});
afterAll(() => {
  killStartedExporters();
  rmSync(dir, { recursive: true, force: true });
});

/** Replaces the file atomically, as a user (or a test) should: write aside, then rename over. */
function replace(file: string, content: string | Buffer): void {
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
}

async function scrape(exporter: RunningExporter): Promise<{ text: string; exposition: Exposition }> {
  const started = performance.now();
  const response = await httpGet(`${exporter.baseUrl}/metrics`);
  expect(response.status).toBe(200);
  // Scrapes never wait for a sample.
  expect(performance.now() - started).toBeLessThan(1_000);
  return { text: response.body, exposition: parseExposition(response.body) };
}

async function scrapeUntil(exporter: RunningExporter, what: string, condition: (e: Exposition) => boolean, timeoutMs = 8_000): Promise<Exposition> {
  let last: Exposition | null = null;
  await waitFor(
    what,
    async () => {
      last = (await scrape(exporter)).exposition;
      return condition(last);
    },
    { timeoutMs: timeoutMs, intervalMs: 25 },
  );
  return last as unknown as Exposition;
}

const up = (e: Exposition): number => valueOf(e, 'hyperv_up');
const failures = (e: Exposition, reason: string): number => valueOf(e, 'hyperv_sample_failures_total', { reason });
const vms = (e: Exposition): number => findSeries(e, 'hyperv_vm_info').length;

describe('replay-file faults against the built exporter', () => {
  test('garbage, empty, missing, truncated and back: scrapes answered, reasons counted, max-age honoured, recovery', async () => {
    const file = join(dir, 'host.json');
    const good = JSON.stringify(cleanDocument(3));
    replace(file, good);
    // The shortest interval the exporter takes: every step below waits for a sample or two.
    const exporter = await startExporter(['--source=replay', `--replay.file=${file}`, '--sample.interval=100ms', '--sample.timeout=2s', '--sample.max-age=2s']);

    let e = await scrapeUntil(exporter, 'the first good sample', (x) => up(x) === 1);
    expect(vms(e)).toBe(3);

    // Garbage: invalid_document; the last good series stay until max-age…
    replace(file, '<html><body>502 Bad Gateway</body></html>');
    const garbageAt = performance.now();
    e = await scrapeUntil(exporter, 'invalid_document', (x) => failures(x, 'invalid_document') >= 2);
    expect(up(e)).toBe(0);
    expect(vms(e)).toBe(3);
    // …and go after it (the last good sample ended at most an interval before the garbage).
    e = await scrapeUntil(exporter, 'the VM series to expire', (x) => vms(x) === 0);
    expect(performance.now() - garbageAt).toBeGreaterThan(1_700);
    expect(up(e)).toBe(0);
    expect((await httpGet(`${exporter.baseUrl}/-/healthy`)).status).toBe(200);

    // Back to good: recovers by itself.
    replace(file, good);
    e = await scrapeUntil(exporter, 'recovery from garbage', (x) => up(x) === 1 && vms(x) === 3);

    // Empty file: invalid_document too.
    const invalidBefore = failures(e, 'invalid_document');
    replace(file, '');
    e = await scrapeUntil(exporter, 'an empty file to fail', (x) => failures(x, 'invalid_document') > invalidBefore);
    replace(file, good);
    await scrapeUntil(exporter, 'recovery from empty', (x) => up(x) === 1);

    // Missing file: source_error.
    rmSync(file);
    e = await scrapeUntil(exporter, 'a missing file to fail', (x) => failures(x, 'source_error') >= 1);
    expect(up(e)).toBe(0);
    replace(file, good);
    await scrapeUntil(exporter, 'recovery from missing', (x) => up(x) === 1);

    // Truncated in the middle of an instance: invalid_document.
    const truncatedBefore = failures(await scrapeUntil(exporter, 'up', (x) => up(x) === 1), 'invalid_document');
    replace(file, good.slice(0, Math.floor(good.length / 2)));
    await scrapeUntil(exporter, 'a truncated file to fail', (x) => failures(x, 'invalid_document') > truncatedBefore);

    // Invalid UTF-8 inside a VM name: decoded to U+FFFD, the sample succeeds.
    const bytes = Buffer.from(good.replace('"vm-2"', '"vm-@@"'));
    const at = bytes.indexOf('@@');
    replace(file, Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff, 0xc0, 0xaf]), bytes.subarray(at + 2)]));
    e = await scrapeUntil(exporter, 'recovery with invalid UTF-8', (x) => up(x) === 1 && vms(x) === 3);
    expect(findSeries(e, 'hyperv_vm_info').some((s) => s.labels['vm']?.startsWith('vm-\uFFFD'))).toBe(true);

    const promtool = testTools().promtool;
    if (promtool.path !== null) expect(promtoolCheck(promtool.path, (await scrape(exporter)).text)).toBe('');

    // Logged once per outage, whatever the number of failed samples in it.
    const warnings = exporter.logs().filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings.filter((m) => m.startsWith('sample failed (invalid_document)'))).toHaveLength(3);
    expect(warnings.filter((m) => m.startsWith('sample failed (source_error)'))).toHaveLength(1);
    expect(warnings.filter((m) => m.includes('--sample.max-age'))).toHaveLength(1);
    expect(exporter.logs().filter((line) => line.msg === 'sampling recovered')).toHaveLength(4);
    expect(exporter.logs().filter((line) => line.level >= 50)).toEqual([]);

    exporter.process.kill('SIGTERM');
    expect((await exporter.exited(5_000)).code).toBe(0);
  });
});

/** VmRSS of a process in bytes (Linux /proc), or null elsewhere. */
function rssOf(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

describe('a scrape storm against the built exporter', () => {
  test('5 waves of 300 concurrent scrapes: all answered (200 or 503), sampling goes on, memory stays flat', async () => {
    const file = join(dir, 'storm.json');
    replace(file, JSON.stringify(cleanDocument(200)));
    const exporter = await startExporter(['--source=replay', `--replay.file=${file}`, '--sample.interval=200ms', '--web.max-requests=40']);
    await scrapeUntil(exporter, 'the first good sample', (x) => up(x) === 1 && vms(x) === 200);

    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const statuses = new Map<number, number>();
    const rss: number[] = [];
    const sampleTimes: number[] = [];
    let lastSampleTimeAt = performance.now();
    try {
      for (let wave = 0; wave < 5; wave++) {
        const results = await Promise.all(Array.from({ length: 300 }, async () => (await httpGetLength(`${exporter.baseUrl}/metrics`, agent, 15_000)).status));
        for (const status of results) statuses.set(status, (statuses.get(status) ?? 0) + 1);
        // At least 250 ms (more than an interval) between two readings of the sample time; a wave
        // alone nearly always takes longer.
        const early = lastSampleTimeAt + 250 - performance.now();
        if (early > 0) await sleep(early);
        const e = (await scrape(exporter)).exposition;
        lastSampleTimeAt = performance.now();
        sampleTimes.push(valueOf(e, 'hyperv_sample_timestamp_seconds'));
        const now = rssOf(exporter.process.pid ?? 0);
        if (now !== null) rss.push(now);
      }
    } finally {
      agent.destroy();
    }
    if (process.env.STORM_STATS === "1") process.stderr.write(`storm: ${JSON.stringify({ statuses: [...statuses], rss, sampleTimes })}\n`);
    // Every request got an answer: the full body, or a quick 503 beyond --web.max-requests.
    expect([...statuses.keys()].every((status) => status === 200 || status === 503)).toBe(true);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    // Sampling went on during the storm (a sample every 200 ms: the timestamp moved between waves).
    for (let i = 1; i < sampleTimes.length; i++) expect(sampleTimes[i]).toBeGreaterThan(sampleTimes[i - 1] ?? 0);
    // Memory: the last wave does not need more than the second one (no growth per wave).
    if (rss.length === 5) expect((rss[4] ?? 0) - (rss[1] ?? 0)).toBeLessThan(48 * 1024 * 1024);
    const e = (await scrape(exporter)).exposition;
    expect(up(e)).toBe(1);

    exporter.process.kill('SIGTERM');
    expect((await exporter.exited(5_000)).code).toBe(0);
  });
});
