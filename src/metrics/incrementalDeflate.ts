import { constants, crc32, deflateRaw } from 'node:zlib';
import type { DeflatedPrefix } from './gzipSplice';

/**
 * Deflates the model metrics once per sample, family by family, recompressing only the families whose
 * bytes changed since the last sample (in a steady host: the uptime family). Each family is deflated
 * on its own and ends in a sync flush (byte-aligned, not final), so the pieces concatenate into one
 * valid raw deflate stream (RFC 1951) that gzipWithPrefix wraps as before; the CRC-32 of the whole is
 * combined from the families' CRCs. Compression runs on the libuv thread pool, never on the event loop.
 *
 * Until the changed families are compressed, `provisional` is the same stream with those families as
 * stored (uncompressed) blocks: gzip clients get the new sample at once, at about its final size,
 * instead of the whole body uncompressed.
 */
export class IncrementalDeflate {
  /** The last sample's families by name ("" for text before the first family). */
  private previous = new Map<string, Segment>();

  /** The last deflate: families recompressed and reused (for tests and the bench). */
  lastStats = { segments: 0, deflated: 0, reused: 0 };

  deflate(prefix: Buffer): { provisional: DeflatedPrefix | null; done: Promise<DeflatedPrefix> } {
    const previous = this.previous;
    // Each family with what the last sample had for the same bytes under the same name (or null).
    const families = familyBounds(prefix).map(([start, end]) => {
      const bytes = prefix.subarray(start, end);
      const name = familyName(bytes);
      const before = previous.get(name);
      const reused: Segment | null = before !== undefined && before.bytes.equals(bytes) ? { bytes, deflated: before.deflated, crc: before.crc } : null;
      return { name, bytes, reused, crc: reused?.crc ?? crc32(bytes) };
    });
    const changed = families.filter((family) => family.reused === null);
    const changedBytes = changed.reduce((sum, family) => sum + family.bytes.length, 0);
    const provisional =
      changed.length < families.length && changedBytes <= prefix.length / 4
        ? combine(
            families.map((family) => family.reused ?? { bytes: family.bytes, deflated: storedBlocks(family.bytes), crc: family.crc }),
            prefix.length,
          )
        : null;
    const done = Promise.all(
      families.map(async (family): Promise<Segment> => family.reused ?? { bytes: family.bytes, deflated: await deflateSegment(family.bytes), crc: family.crc }),
    ).then((segments) => {
      this.previous = new Map(segments.map((segment, i) => [families[i]!.name, segment]));
      this.lastStats = { segments: segments.length, deflated: changed.length, reused: segments.length - changed.length };
      return combine(segments, prefix.length);
    });
    return { provisional, done };
  }
}

function combine(segments: readonly Segment[], length: number): DeflatedPrefix {
  let crc = 0;
  for (const segment of segments) crc = crc32Combine(crc, segment.crc, segment.bytes.length);
  return { deflated: Buffer.concat(segments.map((segment) => segment.deflated)), crc, length };
}

/** `bytes` as stored deflate blocks (not final), from a byte boundary: header 0x00, LEN, NLEN, data. */
export function storedBlocks(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 0xffff) {
    const chunk = bytes.subarray(at, Math.min(bytes.length, at + 0xffff));
    const header = Buffer.alloc(5);
    header.writeUInt16LE(chunk.length, 1);
    header.writeUInt16LE(~chunk.length & 0xffff, 3);
    parts.push(header, chunk);
  }
  return Buffer.concat(parts);
}

interface Segment {
  readonly bytes: Buffer;
  readonly deflated: Buffer;
  readonly crc: number;
}

const HASH = 0x23;
const HELP = Buffer.from('# HELP ');

/**
 * [start, end) of each family (from its # HELP line) and of any text before the first one. Looks for
 * "#" (memchr) and checks for a line start and "# HELP " there: much faster than a search for the
 * whole needle.
 */
function familyBounds(prefix: Buffer): Array<[number, number]> {
  const bounds: Array<[number, number]> = [];
  let start = 0;
  let at = prefix.indexOf(HASH, 0);
  while (at >= 0) {
    if (at > start && prefix[at - 1] === 0x0a && prefix.compare(HELP, 0, HELP.length, at, at + HELP.length) === 0) {
      bounds.push([start, at]);
      start = at;
    }
    at = prefix.indexOf(HASH, at + 1);
  }
  if (prefix.length > start) bounds.push([start, prefix.length]);
  return bounds;
}

/** The metric name of a family's "# HELP name …" line; "" for text that is not a family. */
function familyName(bytes: Buffer): string {
  if (bytes.compare(HELP, 0, HELP.length, 0, Math.min(bytes.length, HELP.length)) !== 0) return '';
  const end = bytes.indexOf(0x20, HELP.length);
  return bytes.toString('latin1', HELP.length, end < 0 ? bytes.length : end);
}

function deflateSegment(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Large output chunks: fewer trips between the thread pool and the event loop for a large family.
    deflateRaw(bytes, { finishFlush: constants.Z_SYNC_FLUSH, chunkSize: 256 * 1024 }, (error, deflated) => (error ? reject(error) : resolve(deflated)));
  });
}

// CRC-32 of a concatenation from the CRCs of its parts: zlib's crc32_combine (crc32.c, the x^(2^n)
// method), as Node does not expose it.
const POLY = 0xedb88320;

/** a(x) · b(x) modulo the CRC-32 polynomial, reflected. */
function multModP(a: number, b: number): number {
  if (a === 0) return 0;
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0..31. */
const X2N: readonly number[] = (() => {
  const table: number[] = [];
  let p = 0x40000000; // x^1
  table.push(p);
  for (let n = 1; n < 32; n++) table.push((p = multModP(p, p)));
  return table;
})();

/** x^(n · 2^k) modulo the polynomial. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** The CRC-32 of A followed by B, from crc32(A), crc32(B) and the length of B in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(x2nModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}
