import { crc32, deflateRawSync } from 'node:zlib';

/**
 * Gzip for a body made of a large part that changes once per sample and a small part that changes
 * per scrape (the exporter's own metrics). The large part is deflated once per sample, ending in a
 * sync flush (byte-aligned, not final; IncrementalDeflate makes it); each scrape deflates only the small part as the final blocks and writes
 * one gzip member around both, with the CRC-32 continued over the small part. The result is a single,
 * ordinary gzip stream (RFC 1952) that every client reads.
 */
export interface DeflatedPrefix {
  readonly deflated: Buffer;
  readonly crc: number;
  readonly length: number;
}

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

export function gzipWithPrefix(prefix: DeflatedPrefix, suffix: Buffer): Buffer {
  const tail = deflateRawSync(suffix);
  const trailer = Buffer.alloc(8);
  // An empty suffix leaves the CRC as it is (continuing over it was seen to yield 0 in the trailer).
  const crc = suffix.length === 0 ? prefix.crc : crc32(suffix, prefix.crc);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((prefix.length + suffix.length) % 0x1_0000_0000, 4);
  return Buffer.concat([GZIP_HEADER, prefix.deflated, tail, trailer]);
}
