import fc from 'fast-check';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { IncrementalDeflate, crc32Combine, encodeFamily, familiesOfText, storedBlocks } from '../../src/metrics/incrementalDeflate';
import { gzipWithPrefix } from '../../src/metrics/gzipSplice';
import { ScrapeBody, type ComposedBody } from '../../src/metrics/scrapeBody';

/** The bytes a scrape gets. */
const bytesOf = (composed: ComposedBody): Buffer => Buffer.concat(composed.chunks);

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
    const a = compressor.deflate(familiesOfText(first));
    expect(a.provisional).toBeNull(); // nothing to reuse yet
    expect(unzip(await a.done)).toBe(`${first}# end\n`);
    expect(compressor.lastStats).toEqual({ segments: 3, deflated: 3, reused: 0 });

    const second = family('a', 100, 2) + family('b', 2000) + family('c', 50);
    const b = compressor.deflate(familiesOfText(second));
    // At once: the unchanged families as compressed before, the changed one stored.
    expect(b.provisional).not.toBeNull();
    expect(unzip(b.provisional!)).toBe(`${second}# end\n`);
    expect(unzip(await b.done)).toBe(`${second}# end\n`);
    expect(compressor.lastStats).toEqual({ segments: 3, deflated: 1, reused: 2 });
    expect((await b.done).deflated.length).toBeLessThan(second.length / 3);
  });

  test('a family that appears between others: the others are still reused (found by name)', async () => {
    const compressor = new IncrementalDeflate();
    await compressor.deflate(familiesOfText(family('a', 10) + family('c', 10))).done;
    const text = family('a', 10) + family('b', 10) + family('c', 10);
    expect(unzip(await compressor.deflate(familiesOfText(text)).done)).toBe(`${text}# end\n`);
    expect(compressor.lastStats).toEqual({ segments: 3, deflated: 1, reused: 2 });
  });

  test('families added, removed, text before the first family, non-ASCII, empty text', async () => {
    const compressor = new IncrementalDeflate();
    for (const text of ['', 'no family at all\n', `junk\n${family('a', 3)}`, family('b', 3) + family('ü虚', 5), family('ü虚', 5), '', family('a', 3)]) {
      const { provisional, done } = compressor.deflate(familiesOfText(text));
      if (provisional !== null) expect(unzip(provisional)).toBe(`${text}# end\n`);
      const deflated = await done;
      expect(deflated.length).toBe(Buffer.byteLength(text));
      expect(unzip(deflated)).toBe(`${text}# end\n`);
    }
  });
});

describe('IncrementalDeflate with rendered families', () => {
  const pieces = (name: string, lines: number, value = 1): string[] => {
    const [header, ...rest] = family(name, lines, value).split(/(?<=\n)/);
    return [`${header!}${rest.shift()!}`, ...rest];
  };

  test('a family of the same pieces (the very strings, or equal ones) keeps its compression', async () => {
    const compressor = new IncrementalDeflate();
    const a = { name: 'a', pieces: pieces('a', 50) };
    await compressor.deflate([a, { name: 'b', pieces: pieces('b', 50) }]).done;
    // a: the same array of the same strings; b: new strings, the same text.
    const second = compressor.deflate([a, { name: 'b', pieces: pieces('b', 50) }]);
    // Nothing changed: at once the whole stream as compressed before.
    expect(second.provisional!.deflated.equals((await second.done).deflated)).toBe(true);
    expect(compressor.lastStats).toEqual({ segments: 2, deflated: 0, reused: 2 });
    const third = compressor.deflate([a, { name: 'b', pieces: pieces('b', 50, 2) }]);
    const expected = family('a', 50) + family('b', 50, 2);
    expect(Buffer.concat(third.text.families.map(encodeFamily)).toString()).toBe(expected);
    expect(third.text.length).toBe(Buffer.byteLength(expected));
    expect(gunzipSync(gzipWithPrefix(await third.done, Buffer.alloc(0))).toString()).toBe(expected);
    expect(compressor.lastStats).toEqual({ segments: 2, deflated: 1, reused: 1 });
  });
});

describe('familiesOfText', () => {
  test('cuts text at each # HELP line; the pieces put together are the text', () => {
    expect(familiesOfText('')).toEqual([]);
    expect(familiesOfText(`x 1\n${family('a', 1)}${family('b', 2)}`).map((f) => f.name)).toEqual(['', 'a', 'b']);
    expect(familiesOfText('# HELP n\nn 1\n')[0]!.name).toBe('n');
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('# HELP ', '\n', ' ', 'a', 'ü'), fc.string({ maxLength: 4 }))), (parts) => {
        const text = parts.join('');
        expect(familiesOfText(text).map((f) => f.pieces.join('')).join('')).toBe(text);
      }),
    );
  });
});

describe('ScrapeBody', () => {
  test('serves the new sample at once, compressed as soon as it can be, to gzip and identity clients', async () => {
    const body = new ScrapeBody();
    const first = family('a', 10) + family('b', 5000);
    await body.publish(first);
    expect(gunzipSync(bytesOf(body.compose('# own\n', true))).toString()).toBe(`${first}# own\n`);
    const second = family('a', 10, 3) + family('b', 5000);
    const published = body.publish(second);
    // Before compression is done: gzip already (provisional), and the new text.
    const early = body.compose('# own\n', true);
    expect(early.gzip).toBe(true);
    expect(gunzipSync(bytesOf(early)).toString()).toBe(`${second}# own\n`);
    expect(bytesOf(body.compose('# own\n', false)).toString()).toBe(`${second}# own\n`);
    await published;
    const late = body.compose('# own\n', true);
    expect(gunzipSync(bytesOf(late)).toString()).toBe(`${second}# own\n`);
    expect(late.length).toBeLessThanOrEqual(early.length);
  });

  test('the same exporter text gets the same bytes, built once; another text or a new sample new ones', async () => {
    const body = new ScrapeBody();
    await body.publish(family('a', 1000));
    const a = body.compose('# own 1\n', true);
    expect(body.compose('# own 1\n', true)).toBe(a);
    expect(body.compose('# own 2\n', true)).not.toBe(a);
    // Uncompressed bodies are kept from the second scrape with the same exporter text on.
    const once = body.compose('# own 2\n', false);
    // The first: the model's family buffers and the exporter text, not copied into one.
    expect(once.chunks.length).toBeGreaterThan(1);
    const identity = body.compose('# own 2\n', false);
    expect(identity.chunks).toHaveLength(1);
    expect(body.compose('# own 2\n', false)).toBe(identity);
    await body.publish(family('a', 1000, 2));
    const b = body.compose('# own 2\n', true);
    expect(b).not.toBe(a);
    expect(gunzipSync(bytesOf(b)).toString()).toBe(`${family('a', 1000, 2)}# own 2\n`);
    expect(bytesOf(body.compose('# own 2\n', false)).toString()).toBe(`${family('a', 1000, 2)}# own 2\n`);
  });

  test('a sample published while the one before still compresses wins', async () => {
    const body = new ScrapeBody();
    const slow = body.publish(family('a', 20_000));
    const fast = body.publish(family('b', 10));
    await Promise.all([slow, fast]);
    expect(gunzipSync(bytesOf(body.compose('', true))).toString()).toBe(family('b', 10));
  });
});
