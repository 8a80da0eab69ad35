import pino from 'pino';
import request from 'supertest';
import { createRequestListener } from '../../src/app';
import { SampleError } from '../../src/contract/sample';
import { oneHostView } from '../../src/hosts';
import { NO_SAMPLE_YET } from '../../src/metrics/samplingMetrics';
import type { HostModel, VmModel } from '../../src/model/hostModel';
import type { CurrentSample } from '../../src/sampling/currentSample';
import { landingPage, VMS_PER_PAGE } from '../../src/server/landingPage';
import type { ServedHost } from '../../src/sampling/servedSamples';
import { vmProblems } from '../../src/server/vmProblems';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import { processSample } from '../helpers/pipeline';
import { sampleOnce, ScriptedSource, singleHostSampler } from '../sampling/support';

/**
 * The page at / (src/server/landingPage.ts): problems first and named, the hosts' sampling with the
 * last failure, paging at 1024 VMs under 1 MB, and nothing a guest or host wrote ever becomes markup.
 * test/server/landingPageChromium.test.ts looks at the same page in a real browser.
 */

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const MB = 1_000_000;

type SimulatedDocument = { classes: { Msvm_ComputerSystem: Array<Record<string, unknown>> } };

/** The simulated host's model at NOW (first tick), with the VM names changed where `rename` says. */
function simulatedModel(vms = 12, rename?: (name: string, index: number) => string): HostModel {
  const document = new SimulatedHost({ vms, seed: 1, now: () => NOW }).next() as SimulatedDocument;
  if (rename !== undefined) document.classes.Msvm_ComputerSystem.slice(1).forEach((system, index) => (system['ElementName'] = rename(String(system['ElementName']), index)));
  return processSample({ document }).model;
}

/** A published sample of a host that is up, its last good sample 42 s before NOW; `changes` say otherwise. */
function current(model: HostModel | null, changes: Partial<CurrentSample> = {}): CurrentSample {
  return {
    host: 'simulator',
    model,
    modelText: '',
    health: { ...NO_SAMPLE_YET, up: true, durationSeconds: 0.2, lastSuccessSeconds: (NOW - 42_000) / 1000 },
    lastSuccessAt: new Date(NOW - 42_000),
    lastFailure: null,
    ready: true,
    body: { identity: Buffer.alloc(0), gzip: Buffer.alloc(0) },
    ...changes,
  };
}

function render(hosts: readonly ServedHost[], options: { multiHost?: boolean; page?: string } = {}): string {
  return landingPage({ version: '9.9.9', source: options.multiHost === true ? 'config' : 'simulator', telemetryPath: '/metrics', hosts, multiHost: options.multiHost ?? false, page: options.page, now: new Date(NOW) });
}

function decode(html: string): string {
  return html.replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)));
}

interface Row {
  readonly host: string | null;
  readonly name: string;
  readonly id: string;
  readonly problems: string[];
}

/** The rows of the VM table `problems` or `others`, in page order, as the page wrote them (decoded). */
function rows(html: string, table: 'problems' | 'others'): Row[] {
  const body = new RegExp(`<table id="${table}"[^>]*>[\\s\\S]*?<tbody>([\\s\\S]*?)</tbody>`).exec(html)?.[1];
  if (body === undefined) return [];
  return body
    .split('\n')
    .filter((line) => line.startsWith('<tr'))
    .map((line) => ({
      host: /^<tr[^>]*><td>([^<]*)<\/td><th>/.exec(line)?.[1] ?? null,
      name: decode(/<th>([^<]*)<\/th>/.exec(line)?.[1] ?? '?'),
      id: /<td class=id>([^<]*)<\/td>/.exec(line)?.[1] ?? '?',
      problems: [...line.matchAll(/<b class=[ciw]>([^<]*)<\/b>/g)].map((m) => decode(m[1] ?? '')),
    }));
}

/** The page's markup with every tag and entity the page itself writes taken out: what is left is text. */
function textOnly(html: string): string {
  const allowed = /<\/?(?:html|head|meta|title|style|body|header|h1|h2|nav|a|span|code|main|div|b|p|table|thead|tbody|tr|th|td|small|footer)(?:\s+(?:lang|charset|name|content|class|id|href|aria-label)(?:=(?:"[^"<>]*"|[\w-]+))?)*>/g;
  return html
    .replace(/^<!doctype html>/, '')
    .replace(/<style>[^<]*<\/style>/, '')
    .replace(allowed, '')
    .replace(/&#\d+;/g, '');
}

describe('landing page: what an admin sees', () => {
  test('the simulated host: the VMs with problems first, worst first, each problem named; the rest by name, then vm_id', () => {
    const model = simulatedModel();
    const html = render([{ name: 'simulator', current: current(model) }]);
    expect(rows(html, 'problems').map((r) => [r.name, ...r.problems])).toEqual([
      ['sql01', 'heartbeat lost', 'last backup 13 days ago'],
      ['ci-runner01', 'last backup 18 days ago'],
      ['dc01', 'never backed up', 'time sync disabled'],
      ['exchange01', 'application critical', 'never backed up'],
      ['app-linux01', 'VSS: protocol mismatch'],
      ['jump01', 'heartbeat disabled'],
    ]);
    const others = rows(html, 'others');
    expect(others.map((r) => r.name)).toEqual(['archive-saved01', 'build-off01', 'file01', 'test-paused01', 'web01', 'web01']);
    // Two VMs are called web01: the vm_id orders them.
    const web = others.filter((r) => r.name === 'web01').map((r) => r.id);
    expect(web).toEqual([...web].sort());
    expect(new Set([...rows(html, 'problems'), ...others].map((r) => r.id))).toEqual(new Set(model.vms.map((vm) => vm.id)));
    // The heartbeat column keeps the metric's status value, the summary the counts.
    expect(html).toContain('<td class=bad>lost_communication</td>');
    expect(html).toMatch(/<b>6<\/b>VMs with problems \(1 critical\)/);
    expect(html).toContain('<title>6 VMs with problems \u00b7 HV-SIM01 \u00b7 hyperv-ic-exporter</title>');
  });

  test('names sort without case and by number; equal names by vm_id', () => {
    const base = simulatedModel(1).vms[0]!;
    const healthy = (name: string, id: string): VmModel => ({ ...base, name, id, lastBackupSeconds: NOW / 1000 - 60 });
    const model: HostModel = {
      hostName: 'HV1',
      collectedAt: null,
      vms: [healthy('vm10', 'a'), healthy('vm9', 'c'), healthy('Alpha', 'd'), healthy('vm9', 'b'), healthy('VM9', 'e')],
    };
    expect(model.vms.every((vm) => vmProblems(vm, NOW / 1000).length === 0)).toBe(true);
    const html = render([{ name: 'replay', current: current(model) }]);
    expect(rows(html, 'others').map((r) => `${r.name}/${r.id}`)).toEqual(['Alpha/d', 'VM9/e', 'vm9/b', 'vm9/c', 'vm10/a']);
    expect(html).toContain('No problems in 5 VMs.');
  });

  test('each host: sampling, VMs, the age and UTC time of the last good sample', () => {
    const html = render([{ name: 'simulator', current: current(simulatedModel()) }]);
    const hostRow = /<table id="hosts">[\s\S]*?<tbody>\n(.*)\n/.exec(html)?.[1] ?? '';
    expect(hostRow).toContain('HV-SIM01');
    expect(hostRow).toContain('<span class="s up">up</span>');
    expect(hostRow).toContain('<td class="n">12</td>');
    expect(hostRow).toContain('42 s ago<div class="m">2026-11-24 11:59:18 UTC</div>');
    expect(hostRow).toContain('none since start');
  });

  test('a host that never had a good sample says so and why: the reason, its message and what to check', () => {
    const failing = current(null, {
      health: { ...NO_SAMPLE_YET, durationSeconds: 0.1 },
      lastSuccessAt: null,
      ready: false,
      lastFailure: { reason: 'access_denied', message: 'access denied, or an empty result; PowerShell said: Access is denied. (0x80070005)', at: new Date(NOW - 5_000) },
    });
    const html = render([{ name: 'powershell', current: failing }]);
    expect(html).toContain('<span class="s down">down</span>');
    expect(html).toContain('<b>never</b><div class="m">no sample has succeeded since the exporter started</div>');
    expect(html).toContain('<code class="reason">access_denied</code> <span class="m">5 s ago, 2026-11-24 11:59:55 UTC</span>');
    expect(html).toContain('<div class="msg">access denied, or an empty result; PowerShell said: Access is denied. (0x80070005)</div>');
    expect(html).toContain('Hyper-V Administrators');
    expect(html).toContain('No successful sample yet: see the last failure above.');
    expect(rows(html, 'problems')).toEqual([]);
  });

  test('a host that fails after good samples: its VMs stay, from the last good sample, with its age; recovered, the last failure stays visible', () => {
    const model = simulatedModel();
    const failure = { reason: 'timeout' as const, message: 'sample took longer than 30000 ms', at: new Date(NOW - 3 * 60_000) };
    const down = render([{ name: 'simulator', current: current(model, { health: { ...NO_SAMPLE_YET, durationSeconds: 30 }, lastSuccessAt: new Date(NOW - 20 * 60_000), lastFailure: failure }) }]);
    expect(down).toContain('<span class="s down">down</span>');
    expect(down).toContain('20 min ago<div class="m">2026-11-24 11:40:00 UTC</div><div class="m">VMs below are from this sample</div>');
    expect(down).toContain('<code class="reason">timeout</code> <span class="m">3 min ago, 2026-11-24 11:57:00 UTC</span>');
    expect(rows(down, 'problems')).toHaveLength(6);

    const recovered = render([{ name: 'simulator', current: current(model, { lastFailure: failure }) }]);
    expect(recovered).toContain('<span class="s up">up</span>');
    expect(recovered).toContain('<div class="m">recovered; last failure:</div><code class="reason">timeout</code>');

    const expired = render([{ name: 'simulator', current: current(null, { health: { ...NO_SAMPLE_YET, durationSeconds: 30 }, lastSuccessAt: new Date(NOW - 2 * 3600_000), lastFailure: failure }) }]);
    expect(expired).toContain('2 h ago<div class="m">2026-11-24 10:00:00 UTC</div><div class="m">VM data aged out (--sample.max-age)</div>');
    expect(expired).toContain('No VM data: the last good sample aged out');

    const starting = render([{ name: 'simulator', current: null }]);
    expect(starting).toContain('<span class="s starting">first sample running</span>');
  });

  test('many hosts: each links to its /probe, a down host names its reason, the VMs of all hosts are judged together', () => {
    const one = simulatedModel(12);
    const html = render(
      [
        { name: 'hv01', current: current(one) },
        { name: 'hv02', current: current(null, { health: { ...NO_SAMPLE_YET, durationSeconds: 0.5 }, lastSuccessAt: null, lastFailure: { reason: 'unreachable', message: 'New-CimSession: WinRM cannot complete the operation (0x80338126)', at: new Date(NOW - 1000) } }) },
      ],
      { multiHost: true },
    );
    expect(html).toContain('<a href="/probe?target=hv01">hv01</a> <span class="m">HV-SIM01</span>');
    expect(html).toContain('<a href="/probe?target=hv02">hv02</a>');
    expect(html).toContain('<code class="reason">unreachable</code>');
    expect(html).toContain('TCP 5985');
    expect(html).toContain('<b>1 up, 1 down</b>hosts sampling');
    expect(html).toContain('<a href="/targets">Targets</a>');
    expect(rows(html, 'problems').map((r) => `${r.host}:${r.name}`)).toEqual(['hv01:sql01', 'hv01:ci-runner01', 'hv01:dc01', 'hv01:exchange01', 'hv01:app-linux01', 'hv01:jump01']);
  });

  test('static: no script, no style or image from elsewhere, nothing but the page', () => {
    const html = render([{ name: 'simulator', current: current(simulatedModel()) }]);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|https?:|url\(|@import/i);
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
  });
});

describe('landing page: whatever the names, nothing becomes markup', () => {
  const HOSTILE = [
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    "'; background:url(//evil)'",
    '</th></tr></table><h1>owned</h1>',
    '<!-- comment --> &amp; &#60; &lt;',
    '<style>body{display:none}</style>',
    '\u202eevil\u202c \u{1F4A5} <b class=c>fake problem</b>',
  ];

  test('VM names, host names, computer name, failure message and version are escaped', () => {
    const model = simulatedModel(12, (name, index) => HOSTILE[index % HOSTILE.length] ?? name);
    const hostile: HostModel = { ...model, hostName: '<i>HV</i>' };
    const failure = { reason: 'source_error' as const, message: '<script>alert("message")</script>\n& more', at: new Date(NOW - 1000) };
    const html = landingPage({
      version: '<b>1</b>',
      source: 'config',
      telemetryPath: '/metrics"><script>',
      hosts: [{ name: 'hv01', current: current(hostile, { lastFailure: failure }) }],
      multiHost: true,
      now: new Date(NOW),
    });
    // Taking out the page's own tags leaves text: not one `<` of the data survived as markup.
    expect(textOnly(html)).not.toContain('<');
    expect(html).not.toMatch(/<script|<img|<h1>owned|<i>|<style>body|<!--/i);
    // And the names read as they were written.
    const shown = [...rows(html, 'problems'), ...rows(html, 'others')].map((r) => r.name);
    for (const name of HOSTILE) expect(shown).toContain(name);
    expect(html).toContain('&#60;script&#62;alert(&#34;message&#34;)&#60;/script&#62; &#38; more');
    expect(html).toContain('&#60;i&#62;HV&#60;/i&#62;');
    expect(html).toContain('href="/metrics&#34;&#62;&#60;script&#62;"');
  });

  test('a long name is cut at 64 code points with an ellipsis, a long message at 400; the vm_id stays whole', () => {
    const long = `${'\u{1F4A5}'.repeat(70)}tail`;
    const model = simulatedModel(1, () => long);
    const message = `${'x'.repeat(450)}END`;
    const html = render([{ name: 'simulator', current: current(model, { lastFailure: { reason: 'invalid_document', message, at: new Date(NOW) } }) }]);
    const row = [...rows(html, 'problems'), ...rows(html, 'others')][0]!;
    expect(row.name).toBe(`${'\u{1F4A5}'.repeat(64)}\u2026`);
    expect(row.id).toBe(model.vms[0]!.id);
    expect(html).toContain(`<div class="msg">${'x'.repeat(400)}\u2026</div>`);
    expect(html).not.toContain('END');
  });
});

describe('landing page at 1024 VMs: paged, problems on page 1, under 1 MB', () => {
  const hostile = (_name: string, index: number): string => `${'<script>&"\''.repeat(20)}${index}`;
  const model = simulatedModel(1024, hostile);
  const problemIds = new Set(model.vms.filter((vm) => vmProblems(vm, NOW / 1000).length > 0).map((vm) => vm.id));
  const others = model.vms.length - problemIds.size;
  const pages = Math.ceil(others / VMS_PER_PAGE);

  test('every page is under 1 MB; page 1 has every problem; the pages hold every other VM once, by name', () => {
    expect(problemIds.size).toBeGreaterThan(100);
    expect(pages).toBeGreaterThan(1);
    const seen: string[] = [];
    let previous: Row | null = null;
    for (let page = 1; page <= pages; page++) {
      const html = render([{ name: 'simulator', current: current(model) }], { page: String(page) });
      expect(Buffer.byteLength(html)).toBeLessThan(MB);
      expect(textOnly(html)).not.toContain('<');
      const problems = rows(html, 'problems');
      if (page === 1) expect(new Set(problems.map((r) => r.id))).toEqual(problemIds);
      else {
        expect(problems).toEqual([]);
        expect(html).toContain(`The ${problemIds.size} VMs with problems are on <a href="?page=1">page 1</a>.`);
      }
      const shown = rows(html, 'others');
      expect(shown.length).toBe(page < pages ? VMS_PER_PAGE : others - VMS_PER_PAGE * (pages - 1));
      for (const row of shown) {
        if (previous !== null) expect(previous.name.localeCompare(row.name, 'en', { numeric: true, sensitivity: 'base' })).toBeLessThanOrEqual(0);
        previous = row;
      }
      seen.push(...shown.map((r) => r.id));
      expect(html).toContain(`page ${page} of ${pages}`);
      if (page < pages) expect(html).toContain(`<a href="?page=${page + 1}">next \u203a</a>`);
    }
    expect(seen).toHaveLength(others);
    expect(new Set([...seen, ...problemIds])).toEqual(new Set(model.vms.map((vm) => vm.id)));
  });

  test('the worst case: every VM with every problem and a name of nothing but "<", on one host of many: page 1 is still under 1 MB', () => {
    const worst: VmModel[] = model.vms.map((vm) => ({
      ...vm,
      name: '<'.repeat(128),
      state: 'running',
      migrating: false,
      uptimeSeconds: 86_400,
      lastBackupSeconds: 0,
      components: vm.components.map((c) => ({ ...c, enabled: true, present: true, status: c.name === 'heartbeat' ? 'no_contact' : 'non_recoverable_error', secondaryStatus: c.name === 'heartbeat' ? 'critical' : 'protocol_mismatch' })),
      guestAddresses: [{ family: 'ipv6', address: 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255' }],
    }));
    const html = render([{ name: 'h'.repeat(63), current: current({ ...model, vms: worst }) }], { multiHost: true });
    const problems = rows(html, 'problems');
    expect(problems).toHaveLength(1024);
    expect(problems[0]!.problems).toHaveLength(5);
    expect(Buffer.byteLength(html)).toBeLessThan(MB);
  });

  test('?page= out of range, or not a number, shows the nearest page', () => {
    const page = (p: string): string => render([{ name: 'simulator', current: current(model) }], { page: p });
    expect(page('0')).toContain(`page 1 of ${pages}`);
    expect(page('abc')).toContain(`page 1 of ${pages}`);
    expect(page('-3')).toContain(`page 1 of ${pages}`);
    expect(page('99999999999')).toContain(`page 1 of ${pages}`);
    expect(page('999')).toContain(`page ${pages} of ${pages}`);
  });
});

describe('landing page through the app: the sampler\u2019s last failure, and ?page=', () => {
  test('a failed sample shows its reason and message; after a good one, the VMs and the recovered failure', async () => {
    const source = new ScriptedSource({ ...new SimulatedHost({ vms: 12, seed: 1 }).next() });
    const sampler = singleHostSampler(source);
    await sampler.publishInitial();
    const app = createRequestListener({ telemetryPath: '/metrics', version: '9.9.9', logger: pino({ level: 'silent' }), ...oneHostView('replay', () => sampler.current) });

    let page = (await request(app).get('/').expect(200)).text;
    expect(page).toContain('<span class="s starting">first sample running</span>');

    source.behaviour = { kind: 'throw', error: new SampleError('winrm_not_configured', 'WinRM <client> cannot process the request (0x803380E4)') };
    await sampleOnce(sampler);
    page = (await request(app).get('/').expect(200)).text;
    expect(page).toContain('<span class="s down">down</span>');
    expect(page).toMatch(/<code class="reason">winrm_not_configured<\/code> <span class="m">\d+ s ago, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/span>/);
    expect(page).toContain('<div class="msg">WinRM &#60;client&#62; cannot process the request (0x803380E4)</div>');
    expect(page).toContain('No successful sample yet');

    source.behaviour = { kind: 'ok' };
    await sampleOnce(sampler);
    page = (await request(app).get('/').expect(200)).text;
    expect(page).toContain('<span class="s up">up</span>');
    expect(page).toContain('recovered; last failure:');
    expect(page).toContain('winrm_not_configured');
    expect(page).toMatch(/\d+ s ago<div class="m">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/div>/);
    expect(rows(page, 'problems').map((r) => r.name)).toEqual(expect.arrayContaining(['exchange01', 'dc01', 'app-linux01']));
  });

  test('GET /?page=2 at 1024 VMs is the second page; a repeated page parameter is page 1', async () => {
    const source = new ScriptedSource(new SimulatedHost({ vms: 1024, seed: 1 }).next());
    const sampler = singleHostSampler(source);
    await sampler.publishInitial();
    await sampleOnce(sampler);
    const app = createRequestListener({ telemetryPath: '/metrics', version: '9.9.9', logger: pino({ level: 'silent' }), ...oneHostView('replay', () => sampler.current) });
    const second = await request(app).get('/?page=2').expect(200);
    expect(second.text).toMatch(/page 2 of \d+, 201\u2013400, by name/);
    expect(rows(second.text, 'problems')).toEqual([]);
    const first = await request(app).get('/?page=2&page=3').expect(200);
    expect(first.text).toMatch(/page 1 of \d+, 1\u2013200, by name/);
    expect(rows(first.text, 'problems').length).toBeGreaterThan(100);
  });
});
