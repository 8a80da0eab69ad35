import fc from 'fast-check';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { IncrementalDeflate, crc32Combine, storedBlocks } from '../../src/metrics/incrementalDeflate';
import { gzipWithPrefix } from '../../src/metrics/gzipSplice';
import { ScrapeBody } from '../../src/metrics/scrapeBody';

const family = (name: string, lines: number, value = 1): string =>
  `# HELP ${name} Help of ${name}.\n# TYPE ${name} gauge\n${Array.from({ length: lines }, (_, i) => `${name}{vm="v${i}",x="#${i} # HELP"} ${value}\n`).join('')}`;

describe('crc32Combine', () => {
  test('gives the CRC-32 of the concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      }),
    );
  });
});

describe('storedBlocks', () => {
  test('stored deflate blocks of any length (over 64 KiB too) inflate to the bytes', () => {
    for (const length of [0, 1, 65_535, 65_536, 200_000]) {
      const bytes = Buffer.alloc(length, 'a');
      // A final empty fixed block ends the stream.
      expect(inflateRawSync(Buffer.concat([storedBlocks(bytes), Buffer.from([0x03, 0x00])])).equals(bytes)).toBe(true);
    }
  });
});

describe('IncrementalDeflate', () => {
  const unzip = (deflated: { deflated: Buffer; crc: number; length: number }): string => gunzipSync(gzipWithPrefix(deflated, Buffer.from('# end\n'))).toString();

  test('recompresses only the families that changed, and the stream is always the whole text', async () => {
    const compressor = new IncrementalDeflate();
    const first = family('a', 100) + family('b', 2000) + family('c', 50);
    const a = compressor.deflate(Buffer.from(first));
    expect(a.provisional).toBeNull(); // nothing to reuse yet
    expect(unzip(await a.done)).toBe(`${first}# end\n`);
    expect(compressor.lastStats).toEqual({ segments: 3, deflated: 3, reused: 0 });

    const second = family('a', 100, 2) + family('b', 2000) + family('c', 50);
    const b = compressor.deflate(Buffer.from(second));
    // At once: the unchanged families as compressed before, the changed one stored.
    expect(b.provisional).not.toBeNull();
    expect(unzip(b.provisional!)).toBe(`${second}# end\n`);
    expect(unzip(await b.done)).toBe(`${second}# end\n`);
    expect(compressor.lastStats).toEqual({ segments: 3, deflated: 1, reused: 2 });
    expect((await b.done).deflated.length).toBeLessThan(second.length / 3);
  });

  test('a family that appears between others: the others are still reused (found by name)', async () => {
    const compressor = new IncrementalDeflate();
    await compressor.deflate(Buffer.from(family('a', 10) + family('c', 10))).done;
    const text = family('a', 10) + family('b', 10) + family('c', 10);
    expect(unzip(await compressor.deflate(Buffer.from(text)).done)).toBe(`${text}# end\n`);
    expect(compressor.lastStats).toEqual({ segments: 3, deflated: 1, reused: 2 });
  });

  test('families added, removed, text before the first family, non-ASCII, empty text', async () => {
    const compressor = new IncrementalDeflate();
    for (const text of ['', 'no family at all\n', `junk\n${family('a', 3)}`, family('b', 3) + family('ü虚', 5), family('ü虚', 5), '', family('a', 3)]) {
      const { provisional, done } = compressor.deflate(Buffer.from(text));
      if (provisional !== null) expect(unzip(provisional)).toBe(`${text}# end\n`);
      const deflated = await done;
      expect(deflated.length).toBe(Buffer.byteLength(text));
      expect(unzip(deflated)).toBe(`${text}# end\n`);
    }
  });
});

describe('ScrapeBody', () => {
  test('serves the new sample at once, compressed as soon as it can be, to gzip and identity clients', async () => {
    const body = new ScrapeBody();
    const first = family('a', 10) + family('b', 5000);
    await body.publish(first);
    expect(gunzipSync(body.compose('# own\n', true).body).toString()).toBe(`${first}# own\n`);
    const second = family('a', 10, 3) + family('b', 5000);
    const published = body.publish(second);
    // Before compression is done: gzip already (provisional), and the new text.
    const early = body.compose('# own\n', true);
    expect(early.gzip).toBe(true);
    expect(gunzipSync(early.body).toString()).toBe(`${second}# own\n`);
    expect(body.compose('# own\n', false).body.toString()).toBe(`${second}# own\n`);
    await published;
    const late = body.compose('# own\n', true);
    expect(gunzipSync(late.body).toString()).toBe(`${second}# own\n`);
    expect(late.body.length).toBeLessThanOrEqual(early.body.length);
  });

  test('the same exporter text gets the same bytes, built once; another text or a new sample new ones', async () => {
    const body = new ScrapeBody();
    await body.publish(family('a', 1000));
    const a = body.compose('# own 1\n', true).body;
    expect(body.compose('# own 1\n', true).body).toBe(a);
    expect(body.compose('# own 2\n', true).body).not.toBe(a);
    // Uncompressed bodies are kept from the second scrape with the same exporter text on.
    body.compose('# own 2\n', false);
    const identity = body.compose('# own 2\n', false).body;
    expect(body.compose('# own 2\n', false).body).toBe(identity);
    await body.publish(family('a', 1000, 2));
    const b = body.compose('# own 2\n', true).body;
    expect(b).not.toBe(a);
    expect(gunzipSync(b).toString()).toBe(`${family('a', 1000, 2)}# own 2\n`);
    expect(body.compose('# own 2\n', false).body.toString()).toBe(`${family('a', 1000, 2)}# own 2\n`);
  });

  test('a sample published while the one before still compresses wins', async () => {
    const body = new ScrapeBody();
    const slow = body.publish(family('a', 20_000));
    const fast = body.publish(family('b', 10));
    await Promise.all([slow, fast]);
    expect(gunzipSync(body.compose('', true).body).toString()).toBe(family('b', 10));
  });
});
