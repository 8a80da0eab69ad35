import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng, describeWithChromium, pixel, screenshotAndDom, type DecodedPng } from '../helpers/chromium';
import { startExporter, type RunningExporter } from '../helpers/exporterProcess';
import { waitFor } from '../helpers/waitFor';
import { REPOSITORY_ROOT } from '../helpers/testTools';

/**
 * The landing page as a real browser shows it: the built exporter (npm run build) on 127.0.0.1 with the
 * simulated host, and with several hosts of which two never sample; Chromium takes a screenshot and
 * dumps the DOM it parsed (both from one run of Chromium for each exporter: starting the browser is
 * most of the time these tests take). UPDATE_SCREENSHOTS=1 copies the screenshots to docs/images/, where
 * docs/landing-page.md shows them.
 */

const WIDTH = 1280;
const HEIGHT = 1000;
const BROWSER_TIMEOUT_MS = 90_000;

async function ready(exporter: RunningExporter): Promise<void> {
  await waitFor('/-/ready', async () => ((await fetch(`${exporter.baseUrl}/-/ready`)).status === 200 ? true : undefined));
}

/** For a result awaited later (by the tests): a failure meanwhile must fail those tests, not crash the worker. */
function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The names of the VM rows of one VM table (`problems` or `others`) in the DOM, in document order. */
function rowNames(dom: string, table: 'problems' | 'others'): string[] {
  const body = new RegExp(`<table id="${table}"[^>]*>[\\s\\S]*?<tbody>([\\s\\S]*?)</tbody>`).exec(dom)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>(?:<td>[^<]*<\/td>)?<th>([^<]*)<\/th>/g)].map((m) => m[1] ?? '');
}

/** The problems named in the row of the VM `name` (the first such row). */
function problemsOf(dom: string, name: string): string[] {
  const row = new RegExp(`<tr[^>]*>(?:<td>[^<]*</td>)?<th>${name}</th>(.*?)</tr>`).exec(dom)?.[1] ?? '';
  return [...row.matchAll(/<b class="[ciw]">([^<]*)<\/b>/g)].map((m) => m[1] ?? '');
}

/** How far apart two colours are (largest channel difference). */
function distance(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? 0))));
}

/** Whether some pixel in the box has the colour (within `tolerance`). */
function hasColour(image: DecodedPng, colour: readonly number[], box: { x0: number; x1: number; y0: number; y1: number }, tolerance = 8): boolean {
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) if (distance(pixel(image, x, y), colour) <= tolerance) return true;
  return false;
}

function checkScreenshot(png: Buffer): DecodedPng {
  const image = decodePng(png);
  expect([image.width, image.height]).toEqual([WIDTH, HEIGHT]);
  // Not blank: a page of text and colour, not one colour (or a white page with a line on it).
  const colours = new Set<number>();
  let white = 0;
  for (let i = 0; i < image.rgba.length; i += 4) {
    const [r, g, b] = [image.rgba[i]!, image.rgba[i + 1]!, image.rgba[i + 2]!];
    colours.add((r << 16) | (g << 8) | b);
    if (r === 255 && g === 255 && b === 255) white++;
  }
  expect(colours.size).toBeGreaterThan(200);
  expect(white / (WIDTH * HEIGHT)).toBeGreaterThan(0.3);
  expect(white / (WIDTH * HEIGHT)).toBeLessThan(0.97);
  // The style sheet was applied: the dark header bar across the top…
  for (const x of [5, WIDTH / 2, WIDTH - 5]) expect(distance(pixel(image, x, 5), [0x24, 0x29, 0x2f])).toBeLessThanOrEqual(2);
  return image;
}

function update(png: Buffer, name: string): void {
  if (process.env['UPDATE_SCREENSHOTS'] !== '1') return;
  mkdirSync(join(REPOSITORY_ROOT, 'docs/images'), { recursive: true });
  writeFileSync(join(REPOSITORY_ROOT, 'docs/images', name), png);
}

describeWithChromium('landing page in Chromium: the simulated host', () => {
  let exporter: RunningExporter;
  let directory: string;
  /** The screenshot and the DOM of the page, from one run of Chromium that the tests below await. */
  let page: Promise<{ png: Buffer; dom: string }>;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'landing-page-'));
    exporter = await startExporter(['--source=simulator']);
    await ready(exporter);
    page = awaitedLater(screenshotAndDom(`${exporter.baseUrl}/`, join(directory, 'landing-page.png'), WIDTH, HEIGHT, BROWSER_TIMEOUT_MS));
  });

  afterAll(async () => {
    // Chromium done (when a test was left out, nothing awaited it) before its page and folder go.
    await page?.catch(() => undefined);
    await exporter?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  test(
    `a screenshot at ${WIDTH}x${HEIGHT}: a PNG of that size, not blank, styled, with a critical problem marked red`,
    async () => {
      const { png } = await page;
      const image = checkScreenshot(png);
      // …and the red bar of a critical problem row (sql01's lost heartbeat) at the left edge of the VM tables.
      expect(hasColour(image, [0xcf, 0x22, 0x2e], { x0: 20, x1: 40, y0: 150, y1: HEIGHT })).toBe(true);
      update(png, 'landing-page.png');
    },
    BROWSER_TIMEOUT_MS,
  );

  test(
    'the DOM Chromium parsed: exchange01, dc01 and app-linux01 come before every VM without a problem, each with its problem named',
    async () => {
      const { dom } = await page;
      expect(dom).not.toMatch(/<script/i);
      const problems = rowNames(dom, 'problems');
      const others = rowNames(dom, 'others');
      // Every VM is there once: the browser's parser found the tables whole.
      expect(problems.length + others.length).toBe(12);
      expect(others).toEqual(expect.arrayContaining(['web01', 'file01']));
      const order = [...dom.matchAll(/<tr[^>]*><th>([^<]*)<\/th>/g)].map((m) => m[1] ?? '');
      const firstHealthy = Math.min(...others.map((name) => order.indexOf(name)));
      for (const name of ['exchange01', 'dc01', 'app-linux01']) {
        expect(problems).toContain(name);
        expect(order.indexOf(name)).toBeGreaterThanOrEqual(0);
        expect(order.indexOf(name)).toBeLessThan(firstHealthy);
      }
      expect(problemsOf(dom, 'exchange01')).toContain('application critical');
      expect(problemsOf(dom, 'dc01')).toContain('time sync disabled');
      expect(problemsOf(dom, 'app-linux01')).toEqual(['VSS: protocol mismatch']);
      expect(problemsOf(dom, 'sql01')[0]).toBe('heartbeat lost');
      expect(problems[0]).toBe('sql01');
    },
    BROWSER_TIMEOUT_MS,
  );
});

describeWithChromium('landing page in Chromium: many hosts, two of which never sample', () => {
  let exporter: RunningExporter;
  let directory: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'landing-page-hosts-'));
    writeFileSync(join(directory, 'broken.json'), '{"schemaVersion": 1, "classes": ');
    writeFileSync(
      join(directory, 'hosts.yml'),
      ['hosts:', '  - name: hv01', '    simulator: {vms: 12, seed: 1}', '  - name: hv02', '    replay: missing.json', '  - name: hv03', '    replay: broken.json', ''].join('\n'),
    );
    exporter = await startExporter([`--config.file=${join(directory, 'hosts.yml')}`]);
    await ready(exporter);
  });

  afterAll(async () => {
    await exporter?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  test(
    'each host that never sampled says so, with its reason and message; the VMs of the one that did are judged',
    async () => {
      const { png, dom } = await screenshotAndDom(`${exporter.baseUrl}/`, join(directory, 'hosts.png'), WIDTH, HEIGHT, BROWSER_TIMEOUT_MS);
      const hostRows = (/<table id="hosts">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(dom)?.[1] ?? '').split('</tr>').filter((row) => row.includes('<td>'));
      expect(hostRows).toHaveLength(3);
      const [hv01, hv02, hv03] = hostRows as [string, string, string];
      expect(hv01).toContain('>up<');
      expect(hv02).toMatch(/>down<[\s\S]*<b>never<\/b>[\s\S]*>source_error<\/code>[\s\S]*cannot read replay file [^<]*missing\.json: ENOENT/);
      expect(hv03).toMatch(/>down<[\s\S]*<b>never<\/b>[\s\S]*>invalid_document<\/code>[\s\S]*sample document is not JSON/);
      expect(rowNames(dom, 'problems')).toEqual(expect.arrayContaining(['exchange01', 'dc01', 'app-linux01']));

      const image = checkScreenshot(png);
      // The red "down" badges of the hosts table.
      expect(hasColour(image, [0xff, 0xeb, 0xe9], { x0: 100, x1: 400, y0: 150, y1: 600 }, 2)).toBe(true);
      update(png, 'landing-page-hosts.png');
    },
    BROWSER_TIMEOUT_MS * 2,
  );
});
