import { constants, crc32, deflateRaw } from 'node:zlib';
import type { RenderedFamily } from './familyText';
import type { DeflatedPrefix } from './gzipSplice';

/**
 * The model metrics of a sample, family by family, as the collectors rendered them: what an
 * uncompressed scrape is encoded from. Only the compressed form is kept as bytes.
 */
export interface ModelText {
  readonly families: ReadonlyArray<{ readonly pieces: readonly string[]; readonly byteLength: number }>;
  /** In bytes (UTF-8). */
  readonly length: number;
}

/**
 * Encodes and deflates the model metrics once per sample, family by family, and only the families
 * that changed since the last sample (in a steady host: the uptime family). A family whose pieces
 * are the very strings of the last sample (or equal ones) is unchanged without being encoded again.
 * Each family is deflated on its own and ends in a sync flush (byte-aligned, not final), so the
 * pieces concatenate into one valid raw deflate stream (RFC 1951) that gzipWithPrefix wraps; the
 * CRC-32 of the whole is combined from the families' CRCs. Compression runs on the libuv thread
 * pool, never on the event loop.
 *
 * Until the changed families are compressed, `provisional` is the same stream with those families as
 * stored (uncompressed) blocks: gzip clients get the new sample at once, at about its final size,
 * instead of the whole body uncompressed.
 */
export class IncrementalDeflate {
  /** The last sample's families by name. */
  private previous = new Map<string, Segment>();

  /** The last deflate: families recompressed and reused (for tests and the bench). */
  lastStats = { segments: 0, deflated: 0, reused: 0 };

  deflate(rendered: readonly RenderedFamily[]): { text: ModelText; provisional: DeflatedPrefix | null; done: Promise<DeflatedPrefix> } {
    const previous = this.previous;
    let length = 0;
    let changedBytes = 0;
    // Each family with what the last sample had for it under the same name, or its new bytes.
    const families = rendered.map((family) => {
      const before = previous.get(family.name);
      if (before !== undefined && samePieces(before.pieces, family.pieces)) {
        length += before.byteLength;
        return { name: family.name, pieces: family.pieces, byteLength: before.byteLength, crc: before.crc, reused: before, bytes: null };
      }
      const bytes = encode(family.pieces);
      length += bytes.length;
      changedBytes += bytes.length;
      return { name: family.name, pieces: family.pieces, byteLength: bytes.length, crc: crc32(bytes), reused: null, bytes };
    });
    const changed = families.filter((family) => family.reused === null).length;
    const provisional =
      changed < families.length && changedBytes <= length / 4
        ? combine(
            families.map((family) => ({ byteLength: family.byteLength, deflated: family.reused?.deflated ?? storedBlocks(family.bytes!), crc: family.crc })),
            length,
          )
        : null;
    const done = Promise.all(
      families.map(
        async (family): Promise<Segment> => ({
          pieces: family.pieces,
          byteLength: family.byteLength,
          deflated: family.reused?.deflated ?? (await deflateSegment(family.bytes!)),
          crc: family.crc,
        }),
      ),
    ).then((segments) => {
      this.previous = new Map(segments.map((segment, i) => [families[i]!.name, segment]));
      this.lastStats = { segments: segments.length, deflated: changed, reused: segments.length - changed };
      return combine(segments, length);
    });
    return { text: { families: families.map(({ pieces, byteLength }) => ({ pieces, byteLength })), length }, provisional, done };
  }
}

/** The UTF-8 bytes of a family, as encode makes them. */
export function encodeFamily(family: { readonly pieces: readonly string[]; readonly byteLength: number }): Buffer {
  return encode(family.pieces, family.byteLength);
}

/** Whether the pieces make the same text: the same strings (the common case), or equal ones. */
function samePieces(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The UTF-8 bytes of the pieces, written one by one (no string of the whole family is made). */
function encode(pieces: readonly string[], byteLength?: number): Buffer {
  let length = byteLength ?? 0;
  if (byteLength === undefined) for (const piece of pieces) length += Buffer.byteLength(piece, 'utf8');
  const bytes = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const piece of pieces) at += bytes.write(piece, at, 'utf8');
  return bytes;
}

/**
 * Text cut into families at each "# HELP" line (text before the first one is a family named ""): for
 * text that comes whole rather than from the collectors.
 */
export function familiesOfText(text: string): RenderedFamily[] {
  const starts: number[] = text.startsWith(HELP) ? [0] : [];
  for (let at = text.indexOf(`\n${HELP}`); at >= 0; at = text.indexOf(`\n${HELP}`, at + 1)) starts.push(at + 1);
  const families: RenderedFamily[] = [];
  const first = starts[0] ?? text.length;
  if (first > 0) families.push({ name: '', pieces: [text.slice(0, first)] });
  starts.forEach((start, i) => {
    const end = starts[i + 1] ?? text.length;
    let nameEnd = start + HELP.length;
    while (nameEnd < end && text[nameEnd] !== ' ' && text[nameEnd] !== '\n') nameEnd++;
    families.push({ name: text.slice(start + HELP.length, nameEnd), pieces: [text.slice(start, end)] });
  });
  return families;
}

const HELP = '# HELP ';

function combine(segments: ReadonlyArray<{ readonly byteLength: number; readonly deflated: Buffer; readonly crc: number }>, length: number): DeflatedPrefix {
  let crc = 0;
  for (const segment of segments) crc = crc32Combine(crc, segment.crc, segment.byteLength);
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
  readonly pieces: readonly string[];
  readonly byteLength: number;
  readonly deflated: Buffer;
  readonly crc: number;
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
