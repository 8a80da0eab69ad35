import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describeWithTools, toolPath } from './testTools';

/**
 * A real Chromium for the tests that look at what a browser makes of a page: headless, no sandbox
 * (the tests may run as root), a fresh profile each time, nothing fetched but the page. Chromium is one
 * of the test tools (testTools.ts; scripts/install-test-tools.sh installs Debian's): missing, it never
 * passes unnoticed. Under CI=true the suite is one failing test that names the reason; elsewhere it
 * reports itself skipped, with the reason in its title.
 */

/** `describe` when Chromium is there; otherwise a failing test under CI=true, a skipped suite elsewhere. */
export function describeWithChromium(title: string, body: () => void): void {
  describeWithTools(['chromium'], title, body);
}

/** The flags of every run: headless, no first-run or background work, nothing fetched but the page. */
function flags(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    '--force-device-scale-factor=1',
    `--user-data-dir=${profile}`,
  ];
}

/** Runs Chromium with a fresh profile; resolves with its stdout once it exits (rejects after timeoutMs, having killed it). */
async function runChromium(args: readonly string[], timeoutMs: number): Promise<string> {
  const path = toolPath('chromium');
  const profile = mkdtempSync(join(tmpdir(), 'landing-chromium-'));
  try {
    // Its own process group, so that a timeout ends the renderer and GPU processes with it.
    const child = spawn(path, [...flags(profile), ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        reject(new Error(`chromium did not finish within ${timeoutMs} ms: ${Buffer.concat(err).toString('utf8').slice(-2000)}`));
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    if (code !== 0) throw new Error(`chromium exited with ${code}: ${Buffer.concat(err).toString('utf8').slice(-2000)}`);
    return Buffer.concat(out).toString('utf8');
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * A PNG screenshot of `url` at width × height CSS pixels, and the DOM as Chromium parsed it (after the
 * HTML parser fixed up whatever it had to), serialized: both from one run of Chromium (one start of
 * the browser, one load of the page).
 */
export async function screenshotAndDom(url: string, file: string, width: number, height: number, timeoutMs = 60_000): Promise<{ png: Buffer; dom: string }> {
  const dom = await runChromium(['--dump-dom', `--screenshot=${file}`, `--window-size=${width},${height}`, url], timeoutMs);
  return { png: readFileSync(file), dom };
}

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes a pixel, row after row. */
  readonly rgba: Buffer;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decodes a PNG as Chromium writes it: 8 bits per channel, RGB or RGBA, not interlaced. Throws on
 * anything else, or on a file that is not a whole PNG (signature, chunk lengths, IEND).
 */
export function decodePng(png: Buffer): DecodedPng {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG: wrong signature');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  let ended = false;
  while (offset + 8 <= png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (data.length !== length) throw new Error(`PNG chunk ${type} is cut`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`PNG of depth ${depth}, colour type ${colour}, interlace ${interlace}: not decoded here`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    offset += 12 + length;
  }
  if (!ended || channels === 0) throw new Error('PNG without IHDR or IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const rgba = Buffer.alloc(width * height * 4);
  // Looked up once: under jest, each lookup of the global Math in the loop below made it ten times slower.
  const abs = Math.abs;
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? line[x - channels]! : 0;
      const b = previous[x]!;
      const c = x >= channels ? previous[x - channels]! : 0;
      let add: number;
      switch (filter) {
        case 0:
          add = 0;
          break;
        case 1:
          add = a;
          break;
        case 2:
          add = b;
          break;
        case 3:
          add = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = abs(p - a);
          const pb = abs(p - b);
          const pc = abs(p - c);
          add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`PNG row ${y} has filter ${filter}`);
      }
      line[x] = (line[x]! + add) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const from = x * channels;
      const to = (y * width + x) * 4;
      rgba[to] = line[from]!;
      rgba[to + 1] = line[from + 1]!;
      rgba[to + 2] = line[from + 2]!;
      rgba[to + 3] = channels === 4 ? line[from + 3]! : 255;
    }
    previous = line;
  }
  return { width, height, rgba };
}

/** The pixel at (x, y) as [r, g, b]. */
export function pixel(image: DecodedPng, x: number, y: number): [number, number, number] {
  const at = (y * image.width + x) * 4;
  return [image.rgba[at]!, image.rgba[at + 1]!, image.rgba[at + 2]!];
}
