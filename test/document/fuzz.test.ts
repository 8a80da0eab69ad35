/**
 * Property-based tests (fast-check) of the whole pure path, raw sample → parse → host model →
 * exposition, and of the KVP item parser, with generated hostile input: arbitrary JSON in every
 * position, wrong types, GUID and non-GUID names, duplicate VM GUIDs, KVP strings that are valid
 * items with hostile content, broken items, random XML, DOCTYPEs.
 *
 * A failure prints the seed and the shrunk counterexample; replay it with FUZZ_SEED=<seed>.
 * FUZZ_RUNS=<n> runs more (or fewer) cases.
 */
import fc from 'fast-check';
import { isIP } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPONENT_CLASSES, COMPUTER_SYSTEM_CLASS } from '../../src/document/classes';
import { parseKvpItem } from '../../src/document/kvp';
import { DEFAULT_LIMITS } from '../../src/document/limits';
import { COLLECTORS } from '../../src/metrics/collectors';
import { SampleError, type RawSample } from '../../src/contract/sample';
import { Diagnostics } from '../../src/document/diagnostics';
import { parseDocument } from '../../src/document/parse';
import { buildHostModel } from '../../src/model/buildHostModel';
import { ExpositionError, findSeries, parseExposition, promtoolCheckAll } from '../helpers/exposition';
import { processSample as processFullSample, renderModel } from '../helpers/pipeline';
import { describeWithTools, toolPath } from '../helpers/testTools';
import { ALL_OK, buildDocument, KVP_ITEM_CLASS, kvpItem, xmlText, type VmSpec } from '../sampling/support';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns = RUNS): fc.Parameters<unknown> => ({ numRuns, ...(SEED === undefined ? {} : { seed: SEED }) });

const LOWER_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const CAP = DEFAULT_LIMITS.maxLabelValueLength;

// ---------------------------------------------------------------------------------------------------
// Generators

const HOSTILE_UNITS = [
  '"', '\\', '\n', '\r', '}', '{', ',', '=', ' ', '\t', '\u0000', '\u001b', '\u007f', '\u0085', '\ud800', '\udc00',
  '\ud83d\ude00', 'é', '数', '\u202e', '\u200b', '\ufeff', '\ufffe', '<', '>', '&', "'", '#', 'a', 'Z', '0', '\\n', '"}',
];
const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...HOSTILE_UNITS), maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  // Around the label-value cap, in code points that take one or two UTF-16 units.
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', '😀', 'é', '"'), minLength: CAP - 3, maxLength: CAP + 40 }) },
);

const junk: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

/** Usually `arb`, sometimes arbitrary JSON or missing. */
function maybe<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.constant(undefined) });
}

/** An array the way ConvertTo-Json may write it: plain, a 5.1 {"value":[…],"Count":n} wrapper, or unwrapped. */
function wrapped(arb: fc.Arbitrary<unknown[]>): fc.Arbitrary<unknown> {
  return arb.chain((items) =>
    fc.oneof(
      fc.constant(items),
      fc.constant({ value: items, Count: items.length }),
      fc.constant({ value: items, count: 'n' }),
      fc.constant(items.length === 1 ? items[0] : items),
    ),
  );
}

const uintLike: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, 2, 3, 6, 7, 9, 10, 11, 12, 13, 15, 32768, 32775, 32782, 32783, 32784),
  fc.integer({ min: 0, max: 70_000 }),
  fc.integer({ min: 0, max: 70_000 }).map(String),
  fc.integer({ min: 0, max: 70_000 }).map((value) => ({ value })),
  fc.double(),
  fc.constantFrom('', '1e3', '0x10', '\u0663', '-1', '99999999999999999999', 9_007_199_254_740_993, -0, 1e308),
);

const upper = (s: string): string => s.toUpperCase();

/** A guest's address list: real addresses, zones, loopback, junk, ';' separators with a trailing one or not. */
const addressList: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.ipV4() },
        { weight: 3, arbitrary: fc.ipV6() },
        { weight: 1, arbitrary: fc.tuple(fc.ipV6(), fc.constantFrom('%6', '%eth0', '%', '%%')).map(([a, z]) => a + z) },
        { weight: 1, arbitrary: fc.constantFrom('127.0.0.1', '127.255.0.1', '::1', '0.0.0.0', '::', '1.2.3.4/24', '256.1.1.1', ' 10.0.0.1 ', '10.0.0.1\n') },
        { weight: 1, arbitrary: hostileString },
      ),
      { maxLength: 40 },
    ),
    fc.boolean(),
  )
  .map(([entries, trailing]) => entries.join(';') + (trailing ? ';' : ''));

/** The names allow-listed for export in the fuzzing (--kvp.export-keys). */
const EXPORT_KEYS = /^(?:app.*|OSName)$/;

/** Text of a data item, well-formed or not. */
function kvpEntry(): fc.Arbitrary<unknown> {
  const name = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('OSName', 'OSVersion', 'FullyQualifiedDomainName', 'IntegrationServicesVersion', 'CSDVersion') },
    { weight: 1, arbitrary: fc.constantFrom('app', 'app"}', 'app\n') },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: hostileString.map((h) => `app${h}`) },
  );
  const addresses = fc.tuple(fc.constantFrom('NetworkAddressIPv4', 'NetworkAddressIPv6'), addressList).map(([n, d]) => kvpItem(n, d, 2));
  const valid = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(name, hostileString, fc.constantFrom(0, 1, 2, 4)).map(([n, d, s]) => kvpItem(n, d, s)) },
    { weight: 1, arbitrary: addresses },
  );
  const raw = fc.tuple(name, hostileString).map(
    ([n, d]) => `<INSTANCE CLASSNAME="${KVP_ITEM_CLASS}"><PROPERTY NAME="Data" TYPE="string"><VALUE>${d}</VALUE></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>${n}</VALUE></PROPERTY></INSTANCE>`,
  );
  const mutated = fc.tuple(valid, fc.nat(), fc.nat({ max: 40 }), hostileString).map(([xml, at, cut, insert]) => {
    const i = at % (xml.length + 1);
    return xml.slice(0, i) + insert + xml.slice(i + cut);
  });
  const doctype = valid.map((xml) => `<!DOCTYPE INSTANCE [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${xml.replace('<VALUE>', '<VALUE>&b;')}`);
  return fc.oneof({ weight: 5, arbitrary: valid }, { weight: 2, arbitrary: raw }, { weight: 2, arbitrary: mutated }, { weight: 1, arbitrary: doctype }, { weight: 1, arbitrary: junk });
}

/** A document built around a small pool of VM GUIDs, so that components, settings and duplicates join. */
const documentArb: fc.Arbitrary<unknown> = fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: 4 }).chain((pool) => {
  const vmId = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...pool) },
    { weight: 2, arbitrary: fc.constantFrom(...pool).map(upper) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.constantFrom(...pool).map((g) => `{${g}}`) },
    { weight: 1, arbitrary: fc.constantFrom(...pool).map((g) => `${g} `) },
    { weight: 1, arbitrary: hostileString },
  );
  const computerSystem = fc.record(
    {
      Name: maybe(fc.oneof({ weight: 4, arbitrary: vmId }, { weight: 1, arbitrary: hostileString })),
      ElementName: maybe(hostileString),
      EnabledState: maybe(uintLike),
      HealthState: maybe(uintLike),
      OperationalStatus: maybe(wrapped(fc.array(uintLike, { maxLength: 3 }))),
      OnTimeInMilliseconds: maybe(fc.oneof(uintLike, fc.constant(null))),
      LastSuccessfulBackupTime: maybe(
        fc.oneof(
          fc.date({ min: new Date('1600-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
          fc.integer({ min: -99_999_999_999_999, max: 99_999_999_999_999 }).map((ms) => `/Date(${ms})/`),
          fc.integer({ min: -11_644_473_600_000, max: 4_000_000_000_000 }).map((ms) => ({ value: `/Date(${ms})/`, DisplayHint: 2 })),
          fc.constantFrom('1601-01-01T00:00:00Z', '1600-12-31T19:03:00-04:57', '2026-02-30T00:00:00Z', '2026-11-24T10:00:00', '/Date(abc)/', '', null),
          hostileString,
        ),
      ),
    },
    { requiredKeys: [] },
  );
  const pools = wrapped(fc.array(kvpEntry(), { maxLength: 6 }));
  const classes: Record<string, fc.Arbitrary<unknown>> = {
    [COMPUTER_SYSTEM_CLASS]: fc.oneof(
      { weight: 20, arbitrary: wrapped(fc.array(fc.oneof({ weight: 8, arbitrary: computerSystem }, { weight: 1, arbitrary: junk }), { maxLength: 8 })) },
      { weight: 1, arbitrary: junk },
    ),
  };
  for (const c of COMPONENT_CLASSES) {
    const isKvp = c.component === 'kvp_exchange';
    const device = fc.record(
      {
        SystemName: maybe(vmId),
        DeviceID: maybe(fc.constant(`Microsoft:${c.guid.toUpperCase()}`)),
        EnabledState: maybe(uintLike),
        OperationalStatus: maybe(wrapped(fc.array(uintLike, { maxLength: 3 }))),
        ...(isKvp ? { GuestIntrinsicExchangeItems: maybe(pools), GuestExchangeItems: maybe(pools) } : {}),
      },
      { requiredKeys: [] },
    );
    const icGuid = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(c.guid, c.guid.toUpperCase()) }, { weight: 1, arbitrary: fc.uuid() });
    const setting = fc.record(
      {
        InstanceID: maybe(fc.oneof({ weight: 5, arbitrary: fc.tuple(vmId, icGuid).map(([vm, ic]) => `Microsoft:${vm}\\${ic}`) }, { weight: 1, arbitrary: hostileString })),
        EnabledState: maybe(uintLike),
        ...(c.component === 'heartbeat' ? { Interval: maybe(uintLike), Latency: maybe(uintLike), ErrorThreshold: maybe(uintLike) } : {}),
        ...(isKvp ? { HostExchangeItems: maybe(pools), HostOnlyItems: maybe(pools) } : {}),
      },
      { requiredKeys: [] },
    );
    classes[c.deviceClass] = maybe(wrapped(fc.array(fc.oneof({ weight: 8, arbitrary: device }, { weight: 1, arbitrary: junk }), { maxLength: 6 })));
    classes[c.settingClass] = maybe(wrapped(fc.array(fc.oneof({ weight: 8, arbitrary: setting }, { weight: 1, arbitrary: junk }), { maxLength: 6 })));
  }
  const document = fc.record(
    {
      schemaVersion: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: junk }),
      computerName: maybe(hostileString),
      collectedAt: maybe(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constant('/Date(1795514400000)/'), hostileString)),
      classes: fc.oneof({ weight: 12, arbitrary: fc.record(classes, { requiredKeys: [COMPUTER_SYSTEM_CLASS] }) }, { weight: 1, arbitrary: junk }),
      Unknown: fc.option(junk),
    },
    { requiredKeys: ['schemaVersion', 'classes'] },
  );
  return fc.oneof({ weight: 20, arbitrary: document }, { weight: 1, arbitrary: junk });
});

/**
 * The one-instance-per-line layout that the collection script writes and the exporter re-parses line by
 * line (src/document/lineCache.ts describes it): written here independently, from that description.
 */
function lineLayout(document: unknown, newline = '\n'): string {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return JSON.stringify(document) ?? '';
  const { classes, ...rest } = document as Record<string, unknown>;
  if (typeof classes !== 'object' || classes === null || Array.isArray(classes)) return JSON.stringify(document) ?? '';
  const head = JSON.stringify(rest);
  const lines = [`${head === '{}' ? '{' : `${head.slice(0, -1)},`}"classes":{`];
  const entries = Object.entries(classes as Record<string, unknown>).filter(([, value]) => value !== undefined);
  entries.forEach(([name, instances], index) => {
    const comma = index < entries.length - 1 ? ',' : '';
    if (Array.isArray(instances)) {
      lines.push(`${JSON.stringify(name)}:[`);
      instances.forEach((instance, i) => lines.push((JSON.stringify(instance) ?? 'null') + (i < instances.length - 1 ? ',' : '')));
      lines.push(`]${comma}`);
    } else {
      lines.push(`${JSON.stringify(name)}:${JSON.stringify(instances) ?? 'null'}${comma}`);
    }
  });
  lines.push('}}');
  return `${lines.join(newline)}${newline}`;
}

/** The document as text: compact, or in the line layout (LF or CRLF). */
const textOf = (document: unknown, layout: number): string =>
  layout === 0 ? (JSON.stringify(document) ?? '') : lineLayout(document, layout === 1 ? '\n' : '\r\n');

const rawSampleArb: fc.Arbitrary<RawSample> = fc.oneof(
  { weight: 4, arbitrary: documentArb.map((document) => ({ document })) },
  { weight: 8, arbitrary: fc.tuple(documentArb, fc.nat({ max: 2 })).map(([document, layout]) => ({ text: textOf(document, layout) })) },
  {
    weight: 2,
    arbitrary: fc.tuple(documentArb, fc.nat({ max: 2 }), fc.nat(), fc.nat({ max: 20 }), hostileString).map(([document, layout, at, cut, insert]) => {
      const text = textOf(document, layout);
      const i = at % (text.length + 1);
      return { text: text.slice(0, i) + insert + text.slice(i + cut) };
    }),
  },
  { weight: 1, arbitrary: documentArb.map((document) => ({ text: `\ufeff${lineLayout(document)}` })) },
  { weight: 1, arbitrary: documentArb.map((document) => ({ text: `WARNING: Resulting JSON is truncated as serialization has exceeded the set depth of 2.\n${JSON.stringify(document) ?? ''}` })) },
);

// ---------------------------------------------------------------------------------------------------
// The properties of one processed sample

interface Outcome {
  readonly text: string | null;
  readonly failure: SampleError | null;
  readonly vms: number;
  readonly guestInfos: number;
  readonly dropped: readonly string[];
}

/** The pure path HostSampler runs for a Full sample (decode, parse, build the model), with the allow-listed KVP keys. */
function processSample(raw: RawSample): ReturnType<typeof processFullSample> {
  return processFullSample(raw, DEFAULT_LIMITS, { keys: EXPORT_KEYS, maxPerVm: 32 });
}

/**
 * Runs one raw sample through the pure path and checks every property; returns the exposition.
 * The checks that run per VM, per series or per label value collect what is wrong and assert once
 * that nothing is: jest's expect() captures a stack trace at every call, and one expect() per label
 * value (hundreds per sample) made it most of the fuzzing's time.
 */
function processAndCheck(raw: RawSample): Outcome {
  let processed;
  try {
    processed = processSample(raw);
  } catch (error) {
    // Property 1: nothing but a SampleError('invalid_document') comes out.
    if (!(error instanceof SampleError)) throw new Error(`threw ${String(error)} (not a SampleError)`, { cause: error });
    expect(error.reason).toBe('invalid_document');
    return { text: null, failure: error, vms: 0, guestInfos: 0, dropped: [] };
  }
  const { model } = processed;
  // Property 2: every VM is identified by a lower-case GUID, once.
  const ids = model.vms.map((vm) => vm.id);
  expect(ids.filter((id) => !LOWER_GUID.test(id))).toEqual([]);
  expect(new Set(ids).size).toBe(ids.length);

  const { text, runs } = renderModel(model, COLLECTORS);
  expect(runs.filter((run) => !run.success)).toEqual([]);
  // Property 3: the exposition is valid (strict checker: syntax, escapes, no duplicate series).
  const exposition = parseExposition(text);
  const wrong: string[] = [];
  for (const series of exposition.series) {
    for (const [label, value] of Object.entries(series.labels)) {
      // Property 4: label values are capped, well-formed and free of control characters.
      const where = `${series.name} ${label}=${JSON.stringify(value)}`;
      if (Array.from(value).length > CAP) wrong.push(`${where}: longer than ${CAP} code points`);
      if (LONE_SURROGATE.test(value)) wrong.push(`${where}: a lone surrogate`);
      if (CONTROL.test(value)) wrong.push(`${where}: a control character`);
      if (label === 'vm_id' && !LOWER_GUID.test(value)) wrong.push(`${where}: not a lower-case GUID`);
    }
    // Property 5: every VM series carries the VM's GUID.
    if (series.name.startsWith('hyperv_vm_') && !LOWER_GUID.test(series.labels['vm_id'] ?? '')) wrong.push(`${series.name}: vm_id ${JSON.stringify(series.labels['vm_id'])} is not a lower-case GUID`);
  }
  expect(findSeries(exposition, 'hyperv_vm_info')).toHaveLength(model.vms.length);
  expect(findSeries(exposition, 'hyperv_host_info')).toHaveLength(1);
  // Property 6: what the guest says about itself is bounded and checked: at most 32 addresses and 32
  // exported items per VM, each address an address of its family and never loopback.
  for (const vm of model.vms) {
    const addresses = findSeries(exposition, 'hyperv_vm_guest_address_info', { vm_id: vm.id });
    if (addresses.length > 32) wrong.push(`${vm.id}: ${addresses.length} addresses (more than 32)`);
    for (const { labels } of addresses) {
      const address = labels['address'] ?? '';
      if (isIP(address) !== (labels['family'] === 'ipv4' ? 4 : 6)) wrong.push(`${vm.id}: ${JSON.stringify(address)} is not an address of family ${labels['family']}`);
      if (/^127\./.test(address) || address === '::1') wrong.push(`${vm.id}: loopback address ${address}`);
    }
    const exported = findSeries(exposition, 'hyperv_vm_kvp_item_info', { vm_id: vm.id }).length;
    if (exported > 32) wrong.push(`${vm.id}: ${exported} exported KVP items (more than 32)`);
    // Property 7: a backup time is 0 (never) or a time no later than a day after the sample.
    const backup = findSeries(exposition, 'hyperv_vm_last_successful_backup_timestamp_seconds', { vm_id: vm.id })[0]?.value;
    if (backup !== undefined && backup !== 0 && model.collectedAt !== null && !(backup * 1000 <= model.collectedAt.getTime() + 86_400_000)) {
      wrong.push(`${vm.id}: backup time ${backup} later than a day after the sample (${model.collectedAt.toISOString()})`);
    }
    if (backup !== undefined && !(Number.isFinite(backup) && backup >= 0)) wrong.push(`${vm.id}: backup time ${backup} is not a finite non-negative number`);
  }
  expect(wrong).toEqual([]);
  return {
    text,
    failure: null,
    vms: model.vms.length,
    guestInfos: findSeries(exposition, 'hyperv_vm_guest_info').length,
    dropped: processed.diagnostics.entries().map((e) => e.reason),
  };
}

// ---------------------------------------------------------------------------------------------------

describe('the exposition checker used by the fuzzers', () => {
  const golden = join(__dirname, '..', 'fixtures', 'golden');
  test.each(readdirSync(golden).filter((f) => f.endsWith('.prom')))('accepts golden %s', (file) => {
    const text = readFileSync(join(golden, file), 'utf8').replace(/^# dropped:.*\n/m, '');
    expect(parseExposition(text).series.length).toBeGreaterThan(10);
  });

  test.each([
    ['an unescaped quote', 'a{x="a"b"} 1\n'],
    ['an unknown escape', 'a{x="\\q"} 1\n'],
    ['a raw newline in a label value', 'a{x="1\n2"} 1\n'],
    ['a lone surrogate', 'a{x="\ud800"} 1\n'],
    ['a missing final newline', 'a 1'],
    ['a value that is not a number', 'a one\n'],
    ['an invalid metric name', '1a 1\n'],
    ['a duplicate series', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['a family split in two', 'a 1\nb 1\na{x="1"} 1\n'],
    ['a TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['a duplicate label', 'a{x="1",x="2"} 1\n'],
    ['a reserved label name', 'a{__x="1"} 1\n'],
  ])('rejects %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError);
  });
});

/** Everything a sample produces, comparable with toEqual. */
function outcomeOf(raw: RawSample): unknown {
  try {
    const { model, diagnostics } = processSample(raw);
    return { model, text: renderModel(model, COLLECTORS).text, dropped: diagnostics.entries() };
  } catch (error) {
    return { error: error instanceof SampleError ? `${error.reason}: ${error.message}` : error };
  }
}

describe('fuzzing raw sample → document → model → exposition', () => {
  test(`${RUNS} generated samples: only SampleError, valid exposition, capped labels, GUID ids`, () => {
    let failures = 0;
    let withVms = 0;
    let withGuestInfo = 0;
    const reasons = new Set<string>();
    const failureKinds = new Map<string, number>();
    fc.assert(
      fc.property(rawSampleArb, (raw) => {
        const outcome = processAndCheck(raw);
        if (outcome.failure !== null) {
          failures++;
          if (process.env.FUZZ_STATS === '1') failureKinds.set(outcome.failure.message.slice(0, 40), (failureKinds.get(outcome.failure.message.slice(0, 40)) ?? 0) + 1);
        }
        if (outcome.vms > 0) withVms++;
        if (outcome.guestInfos > 0) withGuestInfo++;
        for (const reason of outcome.dropped) reasons.add(reason);
      }),
      params(),
    );
    if (process.env.FUZZ_STATS === '1') process.stderr.write(`fuzz stats: ${JSON.stringify({ runs: RUNS, failures, withVms, withGuestInfo, reasons: [...reasons], failureKinds: [...failureKinds].sort((a, b) => b[1] - a[1]).slice(0, 8) })}\n`);
    // The generator must reach the interesting paths, or the properties above test little.
    expect(failures).toBeLessThan(RUNS * 0.45);
    expect(withVms).toBeGreaterThan(RUNS * 0.3);
    expect(withGuestInfo).toBeGreaterThan(RUNS * 0.01);
    expect([...reasons].sort()).toEqual(
      expect.arrayContaining(['instance_duplicate', 'instance_malformed', 'kvp_item_malformed', 'label_truncated']),
    );
  });

  test('a document read from text (compact or line by line) gives what the parsed value gives', () => {
    fc.assert(
      fc.property(documentArb, fc.nat({ max: 2 }), (document, layout) => {
        const text = textOf(document, layout);
        let value: unknown;
        try {
          value = JSON.parse(text) as unknown;
        } catch {
          return; // the whole document was junk that JSON cannot hold
        }
        expect(outcomeOf({ text })).toEqual(outcomeOf({ document: value }));
      }),
      params(Math.ceil(RUNS / 3)),
    );
  });

  test('a Status sample, with the last Full sample\'s model, makes the model the Full sample makes', () => {
    const settingClasses = COMPONENT_CLASSES.map((c) => c.settingClass);
    const kvpClass = COMPONENT_CLASSES.find((c) => c.component === 'kvp_exchange')!.deviceClass;
    /** What a Status sample of the same host holds: no setting data, no KVP item arrays. */
    const statusOf = (document: Record<string, unknown>, classes: Record<string, unknown>): Record<string, unknown> => {
      const status = { ...classes };
      for (const name of settingClasses) delete status[name];
      const kvp = status[kvpClass];
      if (Array.isArray(kvp)) {
        status[kvpClass] = kvp.map((instance: unknown) => {
          if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) return instance;
          const { GuestIntrinsicExchangeItems: _intrinsic, GuestExchangeItems: _guest, ...rest } = instance as Record<string, unknown>;
          return rest;
        });
      }
      return { ...document, scope: 'status', classes: status };
    };
    let compared = 0;
    fc.assert(
      fc.property(documentArb, (value) => {
        const classes = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['classes'] : null;
        if (typeof classes !== 'object' || classes === null || Array.isArray(classes)) return;
        let fullDocument;
        try {
          fullDocument = parseDocument(value, new Diagnostics());
        } catch {
          return; // not a document at all: neither sample would get this far
        }
        const fullModel = buildHostModel(fullDocument, new Diagnostics());
        const statusDocument = parseDocument(statusOf(value as Record<string, unknown>, classes as Record<string, unknown>), new Diagnostics());
        expect(statusDocument.scope).toBe('status');
        const statusModel = buildHostModel(statusDocument, new Diagnostics(), { fullModel });
        expect(statusModel).toEqual(fullModel);
        expect(renderModel(statusModel, COLLECTORS).text).toBe(renderModel(fullModel, COLLECTORS).text);
        compared++;
      }),
      params(Math.ceil(RUNS / 3)),
    );
    expect(compared).toBeGreaterThan(RUNS / 6);
  });

  test('what a guest writes about its addresses and a host about backups is checked, bounded and never breaks a sample', () => {
    const reasons = new Set<string>();
    let withAddresses = 0;
    fc.assert(
      fc.property(fc.array(addressList, { minLength: 1, maxLength: 2 }), fc.array(fc.string({ unit: fc.constantFrom('1', '0', '-', 'T', ':', 'Z', '/', 'D', '(', ')', '+', '9') }), { maxLength: 3 }), (lists, dates) => {
        const vms: VmSpec[] = lists.map((list, i) => ({
          guid: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
          components: ALL_OK,
          intrinsic: [kvpItem('NetworkAddressIPv4', list), kvpItem('NetworkAddressIPv6', list)],
        }));
        const document = buildDocument('HV-FUZZ', vms);
        dates.forEach((date, i) => {
          const system = document.classes['Msvm_ComputerSystem']?.[i + 1] as Record<string, unknown> | undefined;
          if (system !== undefined) system['LastSuccessfulBackupTime'] = date;
        });
        const outcome = processAndCheck({ document });
        expect(outcome.failure).toBeNull();
        for (const reason of outcome.dropped) reasons.add(reason);
        if ((outcome.text ?? '').includes('hyperv_vm_guest_address_info{')) withAddresses++;
      }),
      params(Math.ceil(RUNS / 3)),
    );
    expect(withAddresses).toBeGreaterThan(RUNS / 6);
    expect([...reasons]).toEqual(expect.arrayContaining(['guest_address_invalid', 'value_invalid']));
  });

  test('the same document twice gives the same exposition', () => {
    fc.assert(
      fc.property(documentArb, (document) => {
        expect(processAndCheck({ document }).text).toBe(processAndCheck({ document }).text);
      }),
      params(Math.ceil(RUNS / 3)),
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// KVP items

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const xmlString = (options: { minLength?: number; maxLength: number }): fc.Arbitrary<string> =>
  fc
    .string({
      unit: fc.oneof(
        fc.constantFrom('&', '<', '>', '"', "'", '\t', '\n', '\r', ']]>', ' ', 'é', '😀', '\u0085', '\u2028', '\ufffd', '&amp;', '<![CDATA[', '-->'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      ...options,
    })
    .map((s) => s.replace(NOT_XML_CHAR, '?'));

interface ItemLayout {
  readonly pretty: boolean;
  readonly prolog: boolean;
  readonly comment: boolean;
  readonly cdata: boolean;
  readonly order: readonly number[];
}

/** A well-formed item in one of the layouts a host may write (wmi.md §5.2): compact or indented, any order. */
function writeItem(name: string, data: string, source: number, layout: ItemLayout): string {
  const nl = layout.pretty ? '\n      ' : '';
  const dataText = layout.cdata && !data.includes(']]>') && !data.includes('\r') ? `<![CDATA[${data}]]>` : xmlText(data);
  const properties = [
    `<PROPERTY NAME="Caption" PROPAGATED="true" TYPE="string"></PROPERTY>`,
    `<PROPERTY NAME="Data" TYPE="string">${nl}<VALUE>${dataText}</VALUE>${nl}</PROPERTY>`,
    `<PROPERTY NAME="ElementName" PROPAGATED="true" TYPE="string"/>`,
    `<PROPERTY NAME="Name" TYPE="string">${nl}<VALUE>${xmlText(name)}</VALUE>${nl}</PROPERTY>`,
    `<PROPERTY NAME="Source" TYPE="uint16">${nl}<VALUE>${layout.pretty ? ` ${source} ` : source}</VALUE>${nl}</PROPERTY>`,
  ];
  const ordered = layout.order.map((i) => properties[i % properties.length] ?? '');
  const body = ordered.join(layout.comment ? `${nl}<!-- - -->${nl}` : nl);
  return `${layout.prolog ? '<?xml version="1.0" encoding="utf-16"?>\n' : ''}<INSTANCE CLASSNAME="${KVP_ITEM_CLASS}">${nl}${body}${layout.pretty ? '\n' : ''}</INSTANCE>`;
}

const layoutArb: fc.Arbitrary<ItemLayout> = fc.record({
  pretty: fc.boolean(),
  prolog: fc.boolean(),
  comment: fc.boolean(),
  cdata: fc.boolean(),
  order: fc.shuffledSubarray([0, 1, 2, 3, 4], { minLength: 5, maxLength: 5 }),
});

const XML_TOKENS = [
  `<INSTANCE CLASSNAME="${KVP_ITEM_CLASS}">`, '</INSTANCE>', '<INSTANCE>', '<PROPERTY NAME="Name" TYPE="string">', '<PROPERTY NAME="Data">',
  '<PROPERTY NAME="Source">', '<PROPERTY>', '</PROPERTY>', '<VALUE>', '</VALUE>', '<VALUE/>', '<VALUE.ARRAY>', '</VALUE.ARRAY>',
  '<!DOCTYPE INSTANCE [<!ENTITY a "b">]>', '<!DOCTYPE INSTANCE SYSTEM "file:///etc/passwd">', '&a;', '&amp;', '&#0;', '&#x10FFFF;',
  '&#xD800;', '&#99999999999;', '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '<?xml version="1.1"?>', '<?pi x?>',
  '<a>', '</a>', 'text', ' ', '\n', '\ud800', '\u0000', '"', "'", '=', '<', '>', '&', 'x:y', 'xmlns:x="u"',
];

const xmlSoup: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...XML_TOKENS), { maxLength: 30 }).map((tokens) => tokens.join('')),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 50 }), layoutArb, fc.nat(), fc.nat({ max: 30 }), fc.string({ unit: fc.constantFrom(...XML_TOKENS), maxLength: 5 }))
    .map(([name, data, layout, at, cut, insert]) => {
      const xml = writeItem(name, data, 2, layout);
      const i = at % (xml.length + 1);
      return xml.slice(0, i) + insert + xml.slice(i + cut);
    }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom(...HOSTILE_UNITS), maxLength: 100 }),
);

describe('fuzzing the KVP item parser', () => {
  test('a well-formed item reads back exactly, whatever its content and layout', () => {
    fc.assert(
      fc.property(xmlString({ minLength: 1, maxLength: 30 }), xmlString({ maxLength: 200 }), fc.constantFrom(0, 1, 2, 4), layoutArb, (name, data, source, layout) => {
        const xml = writeItem(name, data, source, layout);
        expect(parseKvpItem(xml)).toEqual({ ok: true, item: { name, data, source } });
      }),
      params(),
    );
  });

  test('random and broken XML never throws, and what it accepts is an item with a name', () => {
    fc.assert(
      fc.property(xmlSoup, (xml) => {
        const result = parseKvpItem(xml);
        if (result.ok) {
          expect(typeof result.item.name).toBe('string');
          expect(result.item.name).not.toBe('');
          expect(typeof result.item.data).toBe('string');
          expect(result.item.source === null || Number.isInteger(result.item.source)).toBe(true);
        } else {
          expect(typeof result.error).toBe('string');
          // Reasons are short: they end up in a log line.
          expect(result.error.length).toBeLessThan(200);
        }
      }),
      params(RUNS * 3),
    );
  });

  test('an item with a DOCTYPE is never accepted, whatever the DOCTYPE declares', () => {
    const doctypes = fc.constantFrom(
      '<!DOCTYPE INSTANCE>',
      '<!DOCTYPE INSTANCE [<!ENTITY a "b">]>',
      '<!DOCTYPE INSTANCE SYSTEM "file:///etc/passwd">',
      '<!DOCTYPE INSTANCE PUBLIC "-//x//y" "http://127.0.0.1:9/x.dtd">',
      '<!DOCTYPE INSTANCE [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>',
      '<!DOCTYPE INSTANCE [<!ELEMENT INSTANCE ANY><!ATTLIST INSTANCE CLASSNAME CDATA "Msvm_KvpExchangeDataItem">]>',
    );
    fc.assert(
      fc.property(doctypes, xmlString({ minLength: 1, maxLength: 20 }), layoutArb, (doctype, name, layout) => {
        const xml = writeItem(name, 'v', 2, { ...layout, prolog: false });
        expect(parseKvpItem(doctype + xml).ok).toBe(false);
        expect(parseKvpItem(`<?xml version="1.0"?>${doctype}${xml}`).ok).toBe(false);
      }),
      params(Math.ceil(RUNS / 3)),
    );
  });
});

// ---------------------------------------------------------------------------------------------------

describeWithTools(['promtool'], 'fuzzed expositions pass promtool check metrics', () => {
  const promtool = toolPath('promtool');
  test('a sample of generated expositions', async () => {
    const texts: string[] = [];
    // Generate until 25 documents got through (bounded: at most 400 tries).
    fc.assert(
      fc.property(rawSampleArb, (raw) => {
        const { text } = processAndCheck(raw);
        if (text !== null && texts.length < 25) texts.push(text);
      }),
      params(400),
    );
    expect(texts.length).toBeGreaterThanOrEqual(20);
    // One promtool process per text (it reads one exposition from stdin), a few at a time.
    const complaints = await promtoolCheckAll(promtool, texts);
    texts.forEach((text, i) => expect({ text, complaint: complaints[i] }).toEqual({ text, complaint: '' }));
  });
});
