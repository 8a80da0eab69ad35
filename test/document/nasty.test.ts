/**
 * The hand-made nasty corpus (test/fixtures/nasty, each file described in its README.md), replayed
 * through the exporter's real sample path. test/sampling/nastyCases.ts says what is checked for every
 * case: no crash, valid exposition, the reason counted and logged once, bounded heap. This file adds
 * what each case must produce, and `promtool check metrics` on every served body.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findSeries, promtoolCheck, promtoolCheckAll, valueOf, type Exposition } from '../helpers/exposition';
import { runNastyCase, type NastyCase } from '../sampling/nastyCases';
import { guid } from '../sampling/support';
import { describeWithTools, toolPath } from '../helpers/testTools';

const corpus = join(__dirname, '..', 'fixtures', 'nasty');
const CAP = 128;

/** The label value a string must become: lone surrogates → U+FFFD, controls → space, 128 code points. */
function sanitized(text: string): string {
  return Array.from(text)
    .slice(0, CAP)
    .map((c) => (/^[\uD800-\uDFFF]$/.test(c) ? '\uFFFD' : /^[\u0000-\u001F\u007F-\u009F]$/.test(c) ? ' ' : c))
    .join('');
}

function vmName(exposition: Exposition, id: string): string | undefined {
  return findSeries(exposition, 'hyperv_vm_info', { vm_id: id })[0]?.labels['vm'];
}

function guestInfo(exposition: Exposition, id: string): Record<string, string> | undefined {
  const series = findSeries(exposition, 'hyperv_vm_guest_info', { vm_id: id });
  expect(series.length).toBeLessThanOrEqual(1);
  const labels = series[0]?.labels;
  if (labels === undefined) return undefined;
  const { os_name, os_version, fqdn, integration_services_version } = labels;
  return { os_name: os_name ?? '', os_version: os_version ?? '', fqdn: fqdn ?? '', integration_services_version: integration_services_version ?? '' };
}

/** The hostile names exactly as make-corpus.js wrote them into the fixture (VMs in GUID order). */
const HOSTILE_NAMES: string[] = (
  JSON.parse(readFileSync(join(corpus, 'hostile-names.json'), 'utf8')) as { classes: { Msvm_ComputerSystem: Array<{ Name: string; ElementName: string }> } }
).classes.Msvm_ComputerSystem.filter((system) => /^[0-9a-f-]{36}$/i.test(system.Name)).map((system) => system.ElementName);

const NOT_A_DOCUMENT = readdirSync(corpus)
  .filter((file) => file.startsWith('not-a-document-'))
  .map((file): NastyCase => ({ file, failure: 'invalid_document' }));

const CASES: readonly NastyCase[] = [
  {
    file: 'billion-laughs.json',
    dropped: { kvp_item_malformed: 2 },
    vms: 1,
    check: (e) => {
      expect(guestInfo(e, guid(1))).toEqual({ os_name: 'Windows Server 2022 Datacenter', os_version: '', fqdn: '', integration_services_version: '' });
      expect(valueOf(e, 'hyperv_vm_kvp_items', { vm_id: guid(1), pool: 'guest_intrinsic' })).toBe(1);
    },
  },
  {
    file: 'external-entities.json',
    dropped: { kvp_item_malformed: 5 },
    vms: 1,
    check: (e) => {
      expect(guestInfo(e, guid(1))?.os_name).toBe('Windows Server 2022 Datacenter');
      // Nothing was fetched or read: no line of /etc/passwd anywhere.
      for (const series of e.series) for (const value of Object.values(series.labels)) expect(value).not.toMatch(/root:|nologin/);
    },
  },
  {
    file: 'hostile-names.json',
    dropped: { label_truncated: 2 },
    vms: HOSTILE_NAMES.length,
    check: (e) => {
      HOSTILE_NAMES.forEach((name, i) => expect(vmName(e, guid(i + 1))).toBe(sanitized(name)));
      expect(valueOf(e, 'hyperv_host_info', { host: 'HV"NASTY\\ }' })).toBe(1);
      // The injection attempts stayed inside their label values.
      expect(findSeries(e, 'hyperv_up')).toHaveLength(1);
      expect(findSeries(e, 'hyperv_vm_info', { vm_id: '00000000-0000-4000-8000-0000000000ff' })).toHaveLength(0);
    },
  },
  {
    file: 'hostile-kvp-values.json',
    dropped: { kvp_item_malformed: 5, label_truncated: 1 },
    vms: 2,
    check: (e) => {
      expect(guestInfo(e, guid(1))).toEqual({
        os_name: 'quote" back\\ new line } &<>',
        os_version: '1.0"} 1 hyperv_up 0 ',
        fqdn: 'f'.repeat(CAP),
        integration_services_version: ' tab cr\u{1F600}',
      });
      expect(valueOf(e, 'hyperv_vm_kvp_items', { vm_id: guid(1), pool: 'guest_intrinsic' })).toBe(4);
      expect(valueOf(e, 'hyperv_vm_kvp_items', { vm_id: guid(1), pool: 'guest' })).toBe(2);
      // saxes lets a lone high surrogate inside text through, and refuses a lone low one or a high one
      // right before a tag; either way no lone surrogate reaches a label.
      expect(guestInfo(e, guid(2))).toEqual({ os_name: 'lone\uFFFDsurrogate', os_version: '', fqdn: '', integration_services_version: '' });
    },
  },
  {
    file: 'invalid-utf8.json',
    vms: 1,
    check: (e) => {
      // Every invalid sequence became U+FFFD (the WHATWG decoder's count), nothing was dropped.
      expect(vmName(e, guid(1))).toMatch(/^bad\uFFFD \uFFFD+ \uFFFD+ \uFFFD+ \uFFFD+utf8$/);
      expect(guestInfo(e, guid(1))?.os_name).toBe('Windows\uFFFD\uFFFD');
    },
  },
  // Windows PowerShell 5.1's `>` writes UTF-16LE with a BOM: the replay source decodes it.
  { file: 'utf16le-bom.json', vms: 1, check: (e) => expect(guestInfo(e, guid(1))?.fqdn).toBe('bom.example.com') },
  {
    file: 'utf16le-lone-surrogate.json',
    vms: 1,
    check: (e) => {
      expect(vmName(e, guid(1))).toBe('bad\uFFFDutf16');
      expect(guestInfo(e, guid(1))?.fqdn).toBe('utf16.example.com');
    },
  },
  { file: 'utf8-bom.json', vms: 1, check: (e) => expect(guestInfo(e, guid(1))?.fqdn).toBe('bom.example.com') },
  { file: 'truncated.json', failure: 'invalid_document' },
  { file: 'truncated-in-kvp.json', failure: 'invalid_document' },
  { file: 'powershell-warning.json', failure: 'invalid_document' },
  {
    file: 'duplicate-guids.json',
    dropped: { instance_duplicate: 3 },
    vms: 2,
    check: (e) => {
      // The first instance wins, whatever the case of the duplicate's GUID.
      expect(vmName(e, guid(1))).toBe('first');
      expect(valueOf(e, 'hyperv_vm_state', { vm_id: guid(1), state: 'running' })).toBe(1);
      expect(guestInfo(e, guid(1))?.os_name).toBe('Windows Server 2022 Datacenter');
      expect(valueOf(e, 'hyperv_vm_integration_component_status', { vm_id: guid(2), component: 'heartbeat' })).toBe(1);
      expect(findSeries(e, 'hyperv_vm_integration_component_status', { vm_id: guid(2), component: 'heartbeat', status: 'ok' })).toHaveLength(1);
    },
  },
  {
    file: 'wrong-types.json',
    dropped: { instance_malformed: 19 },
    vms: 2,
    check: (e) => {
      expect(vmName(e, guid(1))).toBe('');
      expect(valueOf(e, 'hyperv_vm_state', { vm_id: guid(1), state: 'other' })).toBe(1);
      expect(findSeries(e, 'hyperv_vm_uptime_seconds')).toHaveLength(0);
      expect(valueOf(e, 'hyperv_host_info')).toBe(1);
    },
  },
  {
    file: 'kvp-xml-shapes.json',
    dropped: { kvp_item_malformed: 6, label_truncated: 1 },
    vms: 1,
    check: (e) =>
      expect(guestInfo(e, guid(1))).toEqual({ os_name: '', os_version: 'many attributes', fqdn: '&'.repeat(CAP), integration_services_version: '\u{10FFFF}A\u{1F600}' }),
  },
  {
    file: 'kvp-wrong-types.json',
    dropped: { kvp_item_malformed: 5 },
    vms: 1,
    check: (e) => {
      expect(guestInfo(e, guid(1))?.os_name).toBe('one item, unwrapped by the pipeline');
      expect(valueOf(e, 'hyperv_vm_kvp_items', { vm_id: guid(1), pool: 'guest' })).toBe(1);
      expect(valueOf(e, 'hyperv_vm_kvp_items', { vm_id: guid(1), pool: 'host' })).toBe(0);
    },
  },
  {
    file: 'numbers-extreme.json',
    vms: 3,
    check: (e) => {
      // Not a safe non-negative integer: unknown, never a wrong number.
      expect(valueOf(e, 'hyperv_vm_state', { vm_id: guid(1), state: 'other' })).toBe(1);
      expect(valueOf(e, 'hyperv_vm_state', { vm_id: guid(2), state: 'other' })).toBe(1);
      expect(valueOf(e, 'hyperv_vm_state', { vm_id: guid(3), state: 'other' })).toBe(1);
      expect(findSeries(e, 'hyperv_vm_uptime_seconds')).toEqual([]);
      for (const series of e.series) expect(Number.isFinite(series.value) || series.name.startsWith('nodejs_')).toBe(true);
    },
  },
  {
    file: 'prototype-keys.json',
    vms: 1,
    check: (e) => {
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(vmName(e, guid(1))).toBe('constructor');
      expect(valueOf(e, 'hyperv_host_info', { host: 'HV-NASTY' })).toBe(1);
    },
  },
  ...NOT_A_DOCUMENT,
  {
    file: 'hostile-guest-signals.json',
    kvpExport: { keys: /^(?:app.*)$/, maxPerVm: 32 },
    dropped: { kvp_item_too_large: 1, guest_address_invalid: 6, guest_address_over_limit: 4968, kvp_export_duplicate: 1, kvp_export_over_limit: 10, value_invalid: 3 },
    vms: 8,
    check: (e) => {
      const addresses = (n: number): string[] => findSeries(e, 'hyperv_vm_guest_address_info', { vm_id: guid(n) }).map((s) => `${s.labels['family']} ${s.labels['address']}`);
      // 10 000 addresses in one item: the item is too long and never read.
      expect(addresses(1)).toEqual([]);
      // 5 000 in an item that fits: the first 32.
      expect(addresses(2)).toHaveLength(32);
      expect(addresses(2)[0]).toBe('ipv4 10.9.0.0');
      // Only what parses as an address of its family; no loopback, no zone, no repeats, canonical IPv6.
      expect(addresses(3)).toEqual(['ipv4 192.0.2.10', 'ipv4 192.0.2.11', 'ipv4 192.0.2.13', 'ipv6 fe80::1', 'ipv6 2001:db8::1', 'ipv6 2001:db8::2']);
      // Keys and values that try to inject label syntax are only label values, cleaned and escaped.
      const items = findSeries(e, 'hyperv_vm_kvp_item_info', { vm_id: guid(4) });
      expect(items).toHaveLength(32);
      expect(items[0]?.labels).toMatchObject({ pool: 'guest', key: 'app", evil="1', value: 'x' });
      expect(items[1]?.labels).toMatchObject({ pool: 'guest', key: 'app', value: 'Ready"} 1 hyperv_up 0 # ' });
      expect(findSeries(e, 'hyperv_up')).toHaveLength(1);
      // Backup times: unreadable, far in the future and February 30th left out; never is 0; the 5.1 wrapper and an offset read.
      const backup = (n: number): number | undefined => findSeries(e, 'hyperv_vm_last_successful_backup_timestamp_seconds', { vm_id: guid(n) })[0]?.value;
      expect([1, 2, 3, 4, 5, 6, 7, 8].map(backup)).toEqual([1795507200, undefined, undefined, undefined, undefined, undefined, 0, 1795500000]);
    },
  },
];

const served = new Map<string, string>();

describe('the nasty corpus through the replay source, the sampler and /metrics', () => {
  test('every file in the corpus has a case, and every case a file', () => {
    const files = readdirSync(corpus).filter((file) => file.endsWith('.json'));
    expect(CASES.map((c) => c.file).sort()).toEqual(files.sort());
    expect(NOT_A_DOCUMENT.length).toBeGreaterThanOrEqual(10);
  });

  test.each(CASES.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
    const { text } = await runNastyCase(join(corpus, c.file), c);
    served.set(c.file, text);
  });
});

describeWithTools(['promtool'], 'the nasty corpus: every /metrics body passes promtool check metrics', () => {
  const promtool = toolPath('promtool');
  // The bodies served above, checked a few promtool processes at a time rather than one after the other.
  const verdicts = new Map<string, string>();
  beforeAll(async () => {
    const files = [...served.keys()];
    const checked = await promtoolCheckAll(promtool, files.map((file) => served.get(file) ?? ''));
    files.forEach((file, i) => verdicts.set(file, checked[i] ?? 'not checked'));
  });
  test.each(CASES.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
    // A case that failed above served nothing: run it here, for its body.
    const verdict = verdicts.get(c.file) ?? promtoolCheck(promtool, (await runNastyCase(join(corpus, c.file), c)).text);
    expect(verdict).toBe('');
  });
});
