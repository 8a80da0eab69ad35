import { gunzipSync } from 'node:zlib';
import { gzipWithPrefix, type DeflatedPrefix } from '../../src/metrics/gzipSplice';
import { IncrementalDeflate, familiesOfText } from '../../src/metrics/incrementalDeflate';

/** The prefix as the exporter compresses it once per sample. */
function deflatePrefix(prefix: Buffer): Promise<DeflatedPrefix> {
  return new IncrementalDeflate().deflate(familiesOfText(prefix.toString('utf8'))).done;
}

describe('gzipWithPrefix', () => {
  test.each([
    ['small', 'a 1\n', 'b 2\n'],
    ['empty prefix', '', 'only the suffix\n'],
    ['empty suffix', 'only the prefix\n', ''],
    ['large and non-ASCII', 'hyperv_vm_info{vm="虚拟机 ü"} 1\n'.repeat(50_000), '# exporter\nhyperv_up 1\n'.repeat(100)],
  ])('%s: one gzip stream that decompresses to prefix + suffix', async (_name, prefix, suffix) => {
    const deflated = await deflatePrefix(Buffer.from(prefix));
    const first = gzipWithPrefix(deflated, Buffer.from(suffix));
    expect(gunzipSync(first).toString()).toBe(prefix + suffix);
    // The same prefix serves many scrapes with other suffixes.
    expect(gunzipSync(gzipWithPrefix(deflated, Buffer.from('other\n'))).toString()).toBe(`${prefix}other\n`);
  });

  test('a corrupted CRC is detected by the reader (the trailer is really checked)', async () => {
    const zipped = gzipWithPrefix(await deflatePrefix(Buffer.from('abc')), Buffer.from('def'));
    zipped[zipped.length - 8] = (zipped[zipped.length - 8] ?? 0) ^ 0xff;
    expect(() => gunzipSync(zipped)).toThrow();
  });
});
