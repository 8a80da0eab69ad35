/**
 * schema/sample-document.schema.json against the parser, on every document the tests use and on
 * hand-written Windows PowerShell 5.1 and PowerShell 7 shapes.
 *
 * The parser is the judge. For every document the exporter's reading (`readingOf`) is one of
 *   refused  parseDocument throws: the sample fails (invalid_document);
 *   dropped  parseDocument drops and counts something: an instance that is not one (instance_malformed),
 *            instances over the limit (instance_over_limit), a LastSuccessfulBackupTime that is not a
 *            date (value_invalid);
 *   nulled   parseDocument silently reads a value that is there as null, i.e. unknown: a state "two",
 *            an OperationalStatus [2, "x"], a uint64 beyond 2^53, an ElementName that is not a string, a
 *            collectedAt that is not a date, a KVP item that is not a string (the model then drops it as
 *            kvp_item_malformed);
 *   read     everything the document holds is read as written;
 * and the schema accepts the document exactly when it is `read`. The schema describes what a source
 * should write, which is what the exporter takes without losing anything: what the exporter merely
 * tolerates (dropping or nulling it) the schema rejects, so "valid" means "nothing lost".
 *
 * Not the schema's business, so a document with them is valid (the nasty corpus below has them):
 * what the model drops later, from values the parser read whole — a VM or component listed twice
 * (instance_duplicate), KVP items that are not well-formed CIM-XML, too long or too many, label values
 * cut, a backup time after the sample — and what nothing reads: DeviceID, the Count of a 5.1 array
 * wrapper, unknown classes and properties.
 *
 * The schema is generated from the parser's own zod schemas (src/document/jsonSchema.ts); the first test
 * checks that the checked-in file is what they generate. After a deliberate change:
 * UPDATE_SCHEMA=1 npx jest test/document/schema.test.ts, and review the diff of the .json file.
 */
import fc from 'fast-check';
import Ajv2020 from 'ajv/dist/2020';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SampleError } from '../../src/contract/sample';
import { CLASSES as CIM_CLASSES, COMPONENT_CLASSES, DOCUMENT_CLASSES, STATUS_CLASSES } from '../../src/document/classes';
import { Diagnostics } from '../../src/document/diagnostics';
import { sampleDocumentJsonSchema } from '../../src/document/jsonSchema';
import { decodeRawSample, parseDocument, type ParsedDocument } from '../../src/document/parse';
import { cimDatetime, kvpPool, readArray, uint, uint16Array } from '../../src/document/wire';
import { readDateTime, readStringArray, readUnsigned, readUnsignedArray } from './legacyReaders';
import { createReplaySource } from '../../src/sources/replaySource';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import { ALL_OK, buildDocument, cleanDocument, guid, kvpItem } from '../sampling/support';

// ---------------------------------------------------------------------------------------------------
// The schema

interface SchemaNode {
  readonly $id?: string;
  readonly $ref?: string;
  readonly anyOf?: readonly SchemaNode[];
  readonly items?: SchemaNode;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
}

const repoRoot = join(__dirname, '..', '..');
const schemaFile = join(repoRoot, 'schema', 'sample-document.schema.json');
const generatedText = `${JSON.stringify(sampleDocumentJsonSchema(), null, 2)}\n`;
if (process.env.UPDATE_SCHEMA === '1') {
  if (process.env.CI === 'true') throw new Error('UPDATE_SCHEMA=1 in CI');
  writeFileSync(schemaFile, generatedText);
}
const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as SchemaNode & { $id: string };
// Strict: unknown keywords and formats are errors. Not strictTypes (it wants "type" beside every
// applicator, which would only repeat what the $refs say) nor strictRequired (it wants each
// alternative of {"Count"} / {"count"} to repeat the properties).
const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
ajv.addSchema(schema);
const validate = ajv.getSchema(schema.$id)!;
const definition = (name: string) => ajv.getSchema(`${schema.$id}#/$defs/${name}`)!;

/** The node at a local JSON pointer such as "#/$defs/Msvm_ComputerSystem". */
function at(pointer: string): SchemaNode {
  return pointer
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], schema) as SchemaNode;
}

/** Class name → the properties its instance definition ($defs/<class name>) describes, in order. */
function describedClasses(): Record<string, string[]> {
  const classes = (schema.properties?.['classes']?.properties ?? {}) as Record<string, SchemaNode>;
  return Object.fromEntries(Object.keys(classes).map((name) => [name, Object.keys(at(`#/$defs/${name}`).properties ?? {})]));
}

// ---------------------------------------------------------------------------------------------------
// The judge: how the exporter reads a document, and what the schema says

type Verdict = 'refused' | 'dropped' | 'nulled' | 'read';

interface Judgement {
  readonly verdict: Verdict;
  /** Why the parser did not read it whole. */
  readonly why: readonly string[];
  readonly schemaAccepts: boolean;
  /** Why the schema rejects it. */
  readonly errors: readonly string[];
}

const isSet = (value: unknown): boolean => value !== undefined && value !== null;

/** Values that are there but that the parser read as null (unknown), without dropping or counting anything. */
function nulledValues(document: Record<string, unknown>, parsed: ParsedDocument): string[] {
  const nulled: string[] = [];
  const check = (where: string, written: unknown, read: boolean): void => {
    if (isSet(written) && !read) nulled.push(`${where} ${typeof written === 'number' ? String(written) : JSON.stringify(written).slice(0, 80)}`);
  };
  check('computerName', document['computerName'], typeof document['computerName'] === 'string');
  check('collectedAt', document['collectedAt'], parsed.collectedAt !== null);
  const classes = document['classes'] as Record<string, unknown>;
  for (const cimClass of CIM_CLASSES) {
    // Nothing was dropped, so the parser kept every instance, in order.
    const records = (readArray(classes[cimClass.name]) ?? []) as Array<Record<string, unknown>>;
    const instances = (parsed.classes.get(cimClass.name) ?? []) as ReadonlyArray<Record<string, unknown>>;
    if (records.length !== instances.length) throw new Error(`${cimClass.name}: ${records.length} instances written, ${instances.length} read, none dropped`);
    records.forEach((record, i) => {
      for (const property of DOCUMENT_CLASSES[cimClass.name] ?? []) {
        const value = instances[i]?.[property];
        // A value is read whole when it is there; an array (OperationalStatus, a KVP pool) when it has no null entries.
        check(`${cimClass.name}[${i}].${property}`, record[property], isSet(value) && (!Array.isArray(value) || value.every((entry) => entry !== null)));
      }
    });
  }
  return nulled;
}

function readingOf(document: unknown): Pick<Judgement, 'verdict' | 'why'> {
  const diagnostics = new Diagnostics();
  let parsed: ParsedDocument;
  try {
    parsed = parseDocument(document, diagnostics);
  } catch (error) {
    if (error instanceof SampleError) return { verdict: 'refused', why: [error.message] };
    throw error;
  }
  const dropped = diagnostics.entries();
  if (dropped.length > 0) return { verdict: 'dropped', why: dropped.map((d) => `${d.reason} ${d.count}: ${d.example}`) };
  const nulled = nulledValues(document as Record<string, unknown>, parsed);
  return nulled.length > 0 ? { verdict: 'nulled', why: nulled } : { verdict: 'read', why: [] };
}

function judge(document: unknown): Judgement {
  const schemaAccepts = validate(document) as boolean;
  const errors = (validate.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} (${e.schemaPath})`);
  return { ...readingOf(document), schemaAccepts, errors };
}

/** The parser reads `document` as `expected`, and the schema accepts it exactly when that is `read`. */
function expectJudged(document: unknown, expected: Verdict): void {
  const judgement = judge(document);
  // The whole judgement, so that a failure shows the parser's reasons and the schema's errors.
  expect(judgement).toEqual({ ...judgement, verdict: expected, schemaAccepts: expected === 'read' });
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));
const jsonFiles = (directory: string): string[] => readdirSync(directory).filter((f) => f.endsWith('.json')).sort();

// ---------------------------------------------------------------------------------------------------
// A hand-written Full document (PowerShell 7 shapes) that the cases below change one value of

const VM = '7CCA7664-5E1D-4B8F-9A3C-2D1E0F9A8B7C';
const IC_GUID = Object.fromEntries(COMPONENT_CLASSES.map((c) => [c.component, c.guid.toUpperCase()]));
const OS_NAME = kvpItem('OSName', 'Windows Server 2022 Datacenter');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = ReadonlyArray<string | number>;

function baseDocument(): { [key: string]: Json } {
  const classes: { [key: string]: Json } = {
    Msvm_ComputerSystem: [
      { Name: 'HV01', ElementName: 'HV01', EnabledState: 2, HealthState: 5, OperationalStatus: [2], OnTimeInMilliseconds: null, LastSuccessfulBackupTime: null },
      { Name: VM, ElementName: 'web01', EnabledState: 2, HealthState: 5, OperationalStatus: [2], OnTimeInMilliseconds: 74849569, LastSuccessfulBackupTime: '2025-01-15T02:00:00+01:00' },
    ],
  };
  for (const c of COMPONENT_CLASSES) {
    const icGuid = IC_GUID[c.component] as string;
    const device: { [key: string]: Json } = { SystemName: VM, DeviceID: `Microsoft:${icGuid}`, EnabledState: 2, OperationalStatus: c.component === 'heartbeat' ? [2, 2] : [2] };
    const setting: { [key: string]: Json } = { InstanceID: `Microsoft:${VM}\\${icGuid}`, EnabledState: 2 };
    if (c.component === 'kvp_exchange') {
      Object.assign(device, { GuestIntrinsicExchangeItems: [OS_NAME], GuestExchangeItems: [] });
      Object.assign(setting, { HostExchangeItems: [], HostOnlyItems: [] });
    }
    if (c.component === 'heartbeat') Object.assign(setting, { Interval: 2000, Latency: 1000, ErrorThreshold: 2 });
    classes[c.deviceClass] = [device];
    classes[c.settingClass] = [setting];
  }
  return { schemaVersion: 1, scope: 'full', computerName: 'HV01', collectedAt: '2025-01-15T10:00:00.000Z', classes };
}

/** A value that removes the property instead. */
const ABSENT = Symbol('absent');

/** `document` (the base document by default) with the value at `path` replaced (or removed). */
function withValue(path: Path, value: unknown, document: unknown = baseDocument()): unknown {
  const copy = structuredClone(document) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === ABSENT) delete node[last];
  else node[last] = value;
  return copy;
}

const CLASSES = ['classes'];
const HOST: Path = [...CLASSES, 'Msvm_ComputerSystem', 0];
const VM_SYSTEM: Path = [...CLASSES, 'Msvm_ComputerSystem', 1];
const HEARTBEAT: Path = [...CLASSES, 'Msvm_HeartbeatComponent', 0];
const HEARTBEAT_SETTING: Path = [...CLASSES, 'Msvm_HeartbeatComponentSettingData', 0];
const KVP: Path = [...CLASSES, 'Msvm_KvpExchangeComponent', 0];
const KVP_SETTING: Path = [...CLASSES, 'Msvm_KvpExchangeComponentSettingData', 0];
const instance = (path: Path): Json => (path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], baseDocument()) as Json);

/** The base document as Windows PowerShell 5.1 may write it, every one of its shapes at once. */
function ps51Document(): unknown {
  let document: unknown = baseDocument();
  const set = (path: Path, value: unknown): void => void (document = withValue(path, value, document));
  const get = (path: Path): unknown => path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], document);
  set(['collectedAt'], '/Date(1736935200000)/');
  set([...VM_SYSTEM, 'EnabledState'], { value: 2 });
  set([...VM_SYSTEM, 'HealthState'], { value: 5, Value: 'OK' });
  set([...VM_SYSTEM, 'OnTimeInMilliseconds'], '74849569');
  set([...VM_SYSTEM, 'OperationalStatus'], 2);
  set([...VM_SYSTEM, 'LastSuccessfulBackupTime'], { value: '/Date(1736902800000)/', DisplayHint: 2, DateTime: 'Wednesday, January 15, 2025 1:00:00 AM' });
  set([...HOST, 'OperationalStatus'], { value: [2], Count: 1 });
  set([...HEARTBEAT, 'OperationalStatus'], { value: [{ value: 2 }, '2'], Count: 2 });
  set([...HEARTBEAT_SETTING, 'Interval'], '2000');
  set([...HEARTBEAT_SETTING, 'Latency'], { value: 1000 });
  set([...KVP, 'GuestIntrinsicExchangeItems'], OS_NAME);
  set([...KVP, 'GuestExchangeItems'], { value: [], Count: 0 });
  set([...KVP_SETTING, 'HostExchangeItems'], { value: [kvpItem('Environment', 'production', 0)], Count: 1 });
  // Classes: the one-instance device classes unwrapped (the heartbeat's kept as an array), a setting
  // class and the computer systems wrapped.
  for (const c of COMPONENT_CLASSES) if (c.component !== 'heartbeat') set([...CLASSES, c.deviceClass], get([...CLASSES, c.deviceClass, 0]));
  set([...CLASSES, 'Msvm_VssComponentSettingData'], { value: get([...CLASSES, 'Msvm_VssComponentSettingData']), Count: 1 });
  set([...CLASSES, 'Msvm_ComputerSystem'], { value: get([...CLASSES, 'Msvm_ComputerSystem']), Count: 2 });
  return document;
}

/** A Status document: the computer systems and the devices' status, nothing else. */
function statusDocument(): unknown {
  const full = baseDocument();
  const fullClasses = full['classes'] as Record<string, Json>;
  const classes = Object.fromEntries(
    Object.entries(STATUS_CLASSES).map(([name, properties]) => [
      name,
      (fullClasses[name] as Array<Record<string, Json>>).map((i) => Object.fromEntries(properties.filter((p) => p in i).map((p) => [p, i[p] as Json]))),
    ]),
  );
  return { ...full, scope: 'status', classes };
}

// ---------------------------------------------------------------------------------------------------

describe('schema/sample-document.schema.json', () => {
  test('is what the parser\'s schemas generate (UPDATE_SCHEMA=1 rewrites it)', () => {
    expect(readFileSync(schemaFile, 'utf8')).toBe(generatedText);
  });

  test('describes exactly the classes and properties the sources project, and says which a Status document holds', () => {
    expect(describedClasses()).toEqual(DOCUMENT_CLASSES);
    const classes = (schema.properties?.['classes']?.properties ?? {}) as Record<string, SchemaNode & { description?: string }>;
    for (const [name, properties] of Object.entries(DOCUMENT_CLASSES)) {
      const status = STATUS_CLASSES[name];
      expect(status?.every((property) => properties.includes(property)) ?? true).toBe(true);
      expect(classes[name]?.description).toContain(status === undefined ? 'Not in a Status document.' : `In a Status document with ${status.join(', ')}.`);
    }
  });

  test('reads a Status document like a Full one: one definition of the classes for both scopes', () => {
    // The parser reads every class the same whatever the scope; a Status document merely holds fewer.
    expect(JSON.stringify(schema)).not.toMatch(/"if"|"then"|statusClasses/);
    expect(Object.keys(STATUS_CLASSES).every((name) => name in DOCUMENT_CLASSES)).toBe(true);
  });

  test('rejects the malformed instances of state-zoo, and other versions', () => {
    expect(validate(readJson(join(__dirname, '..', 'fixtures', 'documents', 'state-zoo.json')))).toBe(false);
    expect(validate({ schemaVersion: 2, classes: { Msvm_ComputerSystem: [] } })).toBe(false);
    expect(validate({ schemaVersion: 1, classes: { Msvm_HeartbeatComponentSettingData: [{ InstanceID: 'x' }], Msvm_ComputerSystem: [] } })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------
// Every document the tests use

describe('the documents the tests use', () => {
  const documents = join(__dirname, '..', 'fixtures', 'documents');
  // compose.js writes these; state-zoo carries malformed instances on purpose (dropped and counted).
  const composedVerdicts: Record<string, Verdict> = { 'centreon-2022': 'read', 'guest-signals': 'read', 'linux-guest-ps51': 'read', 'state-zoo': 'dropped', 'zh-cn-host': 'read' };

  test('test/fixtures/documents holds exactly the documents listed here', () => {
    expect(jsonFiles(documents).map((f) => basename(f, '.json'))).toEqual(Object.keys(composedVerdicts).sort());
  });

  test.each(jsonFiles(documents))('test/fixtures/documents/%s', (file) => {
    expectJudged(readJson(join(documents, file)), composedVerdicts[basename(file, '.json')] as Verdict);
  });

  // The same documents as compose.js builds them in memory (it writes them otherwise). It composes
  // them from public samples outside the repository; without those it cannot run.
  const composeScript = join(documents, 'compose.js');
  const composeInputs = join(documents, '..', '..', '..', '..', 'shared', 'samples');
  (existsSync(composeInputs) ? test : test.skip)('what test/fixtures/documents/compose.js composes', () => {
    const written = new Map<string, unknown>();
    const inMemoryFs = { ...fs, writeFileSync: (file: string, text: string) => void written.set(basename(file, '.json'), JSON.parse(text)) };
    const source = readFileSync(composeScript, 'utf8').replace(/^#!.*\n/, '');
    // The fixture script itself, with its writes kept in memory.
    const run = new Function('require', '__dirname', source) as (load: (id: string) => unknown, directory: string) => void;
    run((id) => (id === 'node:fs' || id === 'fs' ? inMemoryFs : require(id)), dirname(composeScript));
    expect([...written.keys()].sort()).toEqual(Object.keys(composedVerdicts).sort());
    for (const [name, document] of written) expectJudged(document, composedVerdicts[name] as Verdict);
  });

  const powershellDocuments = join(__dirname, '..', 'fixtures', 'powershell', 'documents');
  test.each(jsonFiles(powershellDocuments))('test/fixtures/powershell/documents/%s (as collect.ps1 writes them)', (file) => {
    expectJudged(readJson(join(powershellDocuments, file)), 'read');
  });

  const prometheusFixtures = join(__dirname, '..', 'prometheus', 'fixtures');
  test.each(jsonFiles(prometheusFixtures))('test/prometheus/fixtures/%s', (file) => {
    expectJudged(readJson(join(prometheusFixtures, file)), 'read');
  });

  test('the example in docs/sample-document.md', () => {
    const page = readFileSync(join(repoRoot, 'docs', 'sample-document.md'), 'utf8');
    const example = /```json\n([\s\S]*?)\n```/.exec(page)?.[1];
    expect(example).toBeDefined();
    expectJudged(JSON.parse(example as string), 'read');
  });

  test('what the simulator produces, tick after tick', () => {
    for (const [vms, seed] of [[40, 1], [7, 42], [0, 3]] as const) {
      const host = new SimulatedHost({ vms, seed, now: () => Date.UTC(2025, 0, 15, 10) });
      for (let tick = 0; tick < 3; tick++) expectJudged(host.next(), 'read');
    }
  });

  test('what test/sampling/support.ts builds', () => {
    expectJudged(cleanDocument(), 'read');
    expectJudged(cleanDocument(12, 'HV-MANY'), 'read');
    expectJudged(buildDocument('HV-EMPTY', []), 'read');
    expectJudged(
      buildDocument('HV-MIX', [
        { guid: guid(1) },
        { guid: guid(2), state: 9, components: { ...ALL_OK, heartbeat: [15] } },
        { guid: guid(3), uptimeMs: '3600000', components: { heartbeat: [2, 32782], vss: [2, 32775] }, intrinsic: [kvpItem('OSName', 'Ubuntu 24.04')], guest: [], host: [kvpItem('Owner', 'ops', 0)] },
      ]),
      'read',
    );
    // What the hostile-input tests make of it on purpose: the schema rejects it with the parser.
    expectJudged(buildDocument('HV-BAD', [{ guid: guid(1), state: 'running', components: { heartbeat: 'OK' } }]), 'nulled');
    expectJudged(buildDocument('HV-BAD', [{ guid: guid(1), name: 42, components: ALL_OK, intrinsic: [42] }]), 'nulled');
  });
});

// ---------------------------------------------------------------------------------------------------
// The nasty corpus, read through the replay source as the exporter reads it (bytes → text → JSON)

describe('test/fixtures/nasty', () => {
  const nasty = join(__dirname, '..', 'fixtures', 'nasty');
  /**
   * What the exporter makes of each file. `not JSON`: the sample fails before there is a document to
   * validate. Every other file is judged as above; the comments say what the schema sees.
   */
  const expected: Record<string, Verdict | 'not JSON'> = {
    // KVP items with DOCTYPEs and entities: well-formed strings, dropped by the KVP parser later.
    'billion-laughs.json': 'read',
    'external-entities.json': 'read',
    'hostile-kvp-values.json': 'read',
    'kvp-xml-shapes.json': 'read',
    // A VM twice and components twice: the model drops the second ones (instance_duplicate).
    'duplicate-guids.json': 'read',
    // Hostile but well-typed names; bytes that are not UTF-8 are U+FFFD once decoded.
    'hostile-names.json': 'read',
    'invalid-utf8.json': 'read',
    'prototype-keys.json': 'read',
    // Backup times that are not dates (dropped as value_invalid); the rest is the model's to cut.
    'hostile-guest-signals.json': 'dropped',
    'utf16le-bom.json': 'read',
    'utf16le-lone-surrogate.json': 'read',
    'utf8-bom.json': 'read',
    // Pools as a number, an object, non-strings inside a 5.1 wrapper: nulled items, dropped by the model.
    'kvp-wrong-types.json': 'nulled',
    // 1e400, -1, 2.5, "0x10", uint64 beyond 2^53: read as unknown.
    'numbers-extreme.json': 'nulled',
    // Instances that are not objects or have no key: dropped.
    'wrong-types.json': 'dropped',
    'not-a-document-array.json': 'refused',
    'not-a-document-classes-array.json': 'refused',
    'not-a-document-no-computer-system.json': 'refused',
    'not-a-document-null.json': 'refused',
    'not-a-document-schema-2.json': 'refused',
    'not-a-document-schema-string.json': 'refused',
    'not-a-document-string.json': 'refused',
    'not-a-document-empty.json': 'not JSON',
    'not-a-document-html.json': 'not JSON',
    'not-a-document-nul-bytes.json': 'not JSON',
    'not-a-document-whitespace.json': 'not JSON',
    'powershell-warning.json': 'not JSON',
    'truncated-in-kvp.json': 'not JSON',
    'truncated.json': 'not JSON',
  };

  test('every file of the corpus is listed here', () => {
    expect(jsonFiles(nasty)).toEqual(Object.keys(expected).sort());
  });

  test.each(Object.entries(expected))('%s: %s', async (file, verdict) => {
    const raw = await createReplaySource(join(nasty, file)).sample('full', new AbortController().signal);
    let document: unknown;
    try {
      document = decodeRawSample(raw);
    } catch (error) {
      expect(error).toBeInstanceOf(SampleError);
      expect(verdict).toBe('not JSON');
      return;
    }
    expect(verdict).not.toBe('not JSON');
    expectJudged(document, verdict as Verdict);
  });
});

// ---------------------------------------------------------------------------------------------------
// Hand-written shapes

type Case = readonly [string, () => unknown];

describe('Windows PowerShell 5.1 shapes: read whole, and valid', () => {
  const cases: Case[] = [
    ['an enum as {"value": n}', () => withValue([...VM_SYSTEM, 'EnabledState'], { value: 2 })],
    ['an enum wrapper with other keys ("Value", "DisplayHint") beside "value"', () => withValue([...VM_SYSTEM, 'HealthState'], { value: 5, Value: 'OK', DisplayHint: 2 })],
    ['a setting EnabledState as {"value": n}', () => withValue([...HEARTBEAT_SETTING, 'EnabledState'], { value: 3 })],
    ['uint64 as a decimal string', () => withValue([...VM_SYSTEM, 'OnTimeInMilliseconds'], '74849569')],
    ['uint64 as a string at 2^53 - 1', () => withValue([...VM_SYSTEM, 'OnTimeInMilliseconds'], '9007199254740991')],
    ['uint64 as a string with leading zeros', () => withValue([...VM_SYSTEM, 'OnTimeInMilliseconds'], '0000000000000042')],
    ['uint64 as a string inside the enum wrapper', () => withValue([...VM_SYSTEM, 'OnTimeInMilliseconds'], { value: '74849569' })],
    ['uint32 as a string', () => withValue([...HEARTBEAT_SETTING, 'Interval'], '2000')],
    ['uint32 as {"value": n}', () => withValue([...HEARTBEAT_SETTING, 'Latency'], { value: 1000 })],
    ['uint32 as {"value": "n"}', () => withValue([...HEARTBEAT_SETTING, 'ErrorThreshold'], { value: '2' })],
    ['OperationalStatus as {"value": [...], "Count": n}', () => withValue([...HEARTBEAT, 'OperationalStatus'], { value: [2, 2], Count: 2 })],
    ['OperationalStatus as {"value": [...], "count": n}', () => withValue([...HEARTBEAT, 'OperationalStatus'], { value: [2], count: 1 })],
    ['OperationalStatus as an empty wrapper', () => withValue([...HEARTBEAT, 'OperationalStatus'], { value: [], Count: 0 })],
    ['a one-element OperationalStatus unwrapped to the number', () => withValue([...HEARTBEAT, 'OperationalStatus'], 2)],
    ['a one-element OperationalStatus unwrapped to a string', () => withValue([...HEARTBEAT, 'OperationalStatus'], '2')],
    ['a one-element OperationalStatus unwrapped to an enum wrapper', () => withValue([...HEARTBEAT, 'OperationalStatus'], { value: 2 })],
    ['OperationalStatus elements as enum wrappers and strings', () => withValue([...HEARTBEAT, 'OperationalStatus'], [{ value: 2 }, '32782'])],
    ['enum wrappers inside an array wrapper', () => withValue([...HEARTBEAT, 'OperationalStatus'], { value: [{ value: 2 }, { value: 2 }], Count: 2 })],
    ['a class as {"value": [...], "Count": n}', () => withValue([...CLASSES, 'Msvm_HeartbeatComponent'], { value: [instance(HEARTBEAT)], Count: 1 })],
    ['a class as an empty wrapper', () => withValue([...CLASSES, 'Msvm_VssComponent'], { value: [], Count: 0 })],
    ['a one-instance class unwrapped to the instance', () => withValue([...CLASSES, 'Msvm_HeartbeatComponent'], instance(HEARTBEAT))],
    ['a one-instance setting class unwrapped to the instance', () => withValue([...CLASSES, 'Msvm_KvpExchangeComponentSettingData'], instance(KVP_SETTING))],
    ['Msvm_ComputerSystem as {"value": [...], "Count": n}', () => withValue([...CLASSES, 'Msvm_ComputerSystem'], { value: [instance(HOST), instance(VM_SYSTEM)], Count: 2 })],
    ['Msvm_ComputerSystem unwrapped to the host alone', () => withValue([...CLASSES, 'Msvm_ComputerSystem'], instance(HOST))],
    ['a one-item KVP pool unwrapped to the string', () => withValue([...KVP, 'GuestIntrinsicExchangeItems'], OS_NAME)],
    ['a KVP pool as {"value": [...], "Count": n}', () => withValue([...KVP_SETTING, 'HostExchangeItems'], { value: [OS_NAME], Count: 1 })],
    ['a datetime as "\\/Date(ms)\\/"', () => withValue([...VM_SYSTEM, 'LastSuccessfulBackupTime'], '/Date(1736902800000)/')],
    ['a datetime as "\\/Date(ms+offset)\\/"', () => withValue([...VM_SYSTEM, 'LastSuccessfulBackupTime'], '/Date(1700000000000+0100)/')],
    ['a datetime as "\\/Date(ms-offset)\\/"', () => withValue([...VM_SYSTEM, 'LastSuccessfulBackupTime'], '/Date(1700000000000-0500)/')],
    ['the CIM "never" as a negative "\\/Date(ms)\\/"', () => withValue([...VM_SYSTEM, 'LastSuccessfulBackupTime'], '/Date(-11644473600000)/')],
    [
      'a datetime in the DateTime wrapper',
      () => withValue([...VM_SYSTEM, 'LastSuccessfulBackupTime'], { value: '/Date(1736902800000)/', DisplayHint: 2, DateTime: 'Wednesday, January 15, 2025 1:00:00 AM' }),
    ],
    [
      'the CIM "never" in the DateTime wrapper',
      () => withValue([...VM_SYSTEM, 'LastSuccessfulBackupTime'], { value: '/Date(-11644473600000)/', DisplayHint: 2, DateTime: 'Monday, January 1, 1601 12:00:00 AM' }),
    ],
    ['collectedAt as "\\/Date(ms)\\/"', () => withValue(['collectedAt'], '/Date(1736935200000)/')],
    ['collectedAt in the DateTime wrapper', () => withValue(['collectedAt'], { value: '/Date(1736935200000)/', DisplayHint: 2, DateTime: 'Wednesday, January 15, 2025 10:00:00 AM' })],
    ['a whole 5.1 recording, every shape at once', ps51Document],
    ['a 5.1 Status document', () => ({ ...(statusDocument() as object), collectedAt: '/Date(1736935200000)/' })],
  ];
  test.each(cases)('%s', (_name, document) => expectJudged(document(), 'read'));
});

describe('PowerShell 7 shapes: read whole, and valid', () => {
  const backup = (value: unknown): unknown => withValue([...VM_SYSTEM, 'LastSuccessfulBackupTime'], value);
  const cases: Case[] = [
    ['ISO 8601 with Z', () => backup('2025-01-15T01:00:00Z')],
    ['ISO 8601 with an offset', () => backup('2025-01-15T02:00:00+01:00')],
    ['ISO 8601 with a negative offset', () => backup('2025-01-14T20:00:00-05:00')],
    ['ISO 8601 with neither (taken as UTC)', () => backup('2025-01-15T01:00:00')],
    ['ISO 8601 with 7 fraction digits and an offset', () => backup('2025-01-15T02:00:00.1234567+01:00')],
    ['ISO 8601 with 3 fraction digits and Z', () => backup('2025-01-14T22:15:30.123Z')],
    ['the CIM "never" in ISO 8601', () => backup('1601-01-01T00:00:00.0000000Z')],
    ['a leap day', () => backup('2024-02-29T00:00:00Z')],
    ['null (the host, or a host that does not report it)', () => backup(null)],
    ['collectedAt with 7 fraction digits', () => withValue(['collectedAt'], '2025-01-15T10:00:00.0000000Z')],
    ['collectedAt with an offset', () => withValue(['collectedAt'], '2025-01-15T11:00:00+01:00')],
    ['heartbeat timing null (older hosts)', () => withValue([...HEARTBEAT_SETTING, 'Interval'], null, withValue([...HEARTBEAT_SETTING, 'Latency'], null))],
    ['heartbeat timing absent', () => withValue([...HEARTBEAT_SETTING, 'ErrorThreshold'], ABSENT)],
    ['the whole base document', baseDocument],
  ];
  test.each(cases)('%s', (_name, document) => expectJudged(document(), 'read'));
});

describe('header, scope and tolerance: read whole, and valid', () => {
  const cases: Case[] = [
    ['scope absent (a Full document)', () => withValue(['scope'], ABSENT)],
    ['scope null (a Full document)', () => withValue(['scope'], null)],
    ['a Status document, without setting data and KVP pools', statusDocument],
    ['a Status document with the Full classes in it (read, and not used)', () => withValue(['scope'], 'status')],
    ['computerName null', () => withValue(['computerName'], null)],
    ['computerName and collectedAt absent', () => withValue(['computerName'], ABSENT, withValue(['collectedAt'], ABSENT))],
    ['collectedAt null', () => withValue(['collectedAt'], null)],
    ['a class null', () => withValue([...CLASSES, 'Msvm_VssComponent'], null)],
    ['a class absent', () => withValue([...CLASSES, 'Msvm_VssComponentSettingData'], ABSENT)],
    ['no VM at all', () => withValue([...CLASSES, 'Msvm_ComputerSystem'], [])],
    ['every value null', () => withValue([...VM_SYSTEM], { Name: VM, ElementName: null, EnabledState: null, HealthState: null, OperationalStatus: null, OnTimeInMilliseconds: null })],
    ['KVP pools null (a guest without a KVP daemon)', () => withValue([...KVP, 'GuestIntrinsicExchangeItems'], null)],
    ['an unknown top-level property, class and property', () => withValue(['extra'], 1, withValue([...CLASSES, 'Msvm_RdvComponent'], [42], withValue([...VM_SYSTEM, 'Notes'], { any: 'thing' })))],
    ['DeviceID of any type (nothing reads it)', () => withValue([...HEARTBEAT, 'DeviceID'], 42)],
    ['GUIDs and "Microsoft:" in lower case', () => withValue([...HEARTBEAT_SETTING, 'InstanceID'], `microsoft:${VM.toLowerCase()}\\${IC_GUID['heartbeat']?.toLowerCase()}`, withValue([...HEARTBEAT, 'SystemName'], VM.toLowerCase()))],
    ['an OperationalStatus code above 65535', () => withValue([...HEARTBEAT, 'OperationalStatus'], [70000])],
    ['an empty ElementName', () => withValue([...VM_SYSTEM, 'ElementName'], '')],
  ];
  test.each(cases)('%s', (_name, document) => expectJudged(document(), 'read'));
});

describe('shapes both reject', () => {
  const on = withValue;
  const cases: ReadonlyArray<readonly [string, () => unknown, Verdict]> = [
    // The sample fails.
    ['not an object', () => [baseDocument()], 'refused'],
    ['schemaVersion 2', () => on(['schemaVersion'], 2), 'refused'],
    ['schemaVersion "1"', () => on(['schemaVersion'], '1'), 'refused'],
    ['no schemaVersion', () => on(['schemaVersion'], ABSENT), 'refused'],
    ['scope "partial"', () => on(['scope'], 'partial'), 'refused'],
    ['scope "Status" (the value is case-sensitive)', () => on(['scope'], 'Status'), 'refused'],
    ['no classes', () => on(['classes'], ABSENT), 'refused'],
    ['classes as an array', () => on(['classes'], []), 'refused'],
    ['no Msvm_ComputerSystem', () => on([...CLASSES, 'Msvm_ComputerSystem'], ABSENT), 'refused'],
    ['Msvm_ComputerSystem null', () => on([...CLASSES, 'Msvm_ComputerSystem'], null), 'refused'],
    // An instance is dropped and counted.
    ['a computer system without a Name', () => on([...VM_SYSTEM, 'Name'], ABSENT), 'dropped'],
    ['a computer system with an empty Name', () => on([...VM_SYSTEM, 'Name'], ''), 'dropped'],
    ['a Name in an enum wrapper', () => on([...VM_SYSTEM, 'Name'], { value: VM }), 'dropped'],
    ['Msvm_ComputerSystem as a string', () => on([...CLASSES, 'Msvm_ComputerSystem'], 'HV01'), 'dropped'],
    ['Msvm_ComputerSystem as an empty object', () => on([...CLASSES, 'Msvm_ComputerSystem'], {}), 'dropped'],
    ['an instance that is a number', () => on([...CLASSES, 'Msvm_HeartbeatComponent'], [42]), 'dropped'],
    ['an instance that is an array', () => on([...CLASSES, 'Msvm_HeartbeatComponent'], [[instance(HEARTBEAT)]]), 'dropped'],
    ['a class as a string', () => on([...CLASSES, 'Msvm_ShutdownComponent'], 'none'), 'dropped'],
    ['a class as {"value": "not an array", "Count": 1}', () => on([...CLASSES, 'Msvm_KvpExchangeComponent'], { value: 'not an array', Count: 1 }), 'dropped'],
    ['a class as {"value": [...]} without Count (one instance, without a key)', () => on([...CLASSES, 'Msvm_HeartbeatComponent'], { value: [instance(HEARTBEAT)] }), 'dropped'],
    ['a wrapper with a non-instance inside', () => on([...CLASSES, 'Msvm_HeartbeatComponent'], { value: [instance(HEARTBEAT), 'x'], Count: 2 }), 'dropped'],
    ['a wrapper that carries a key too is still a wrapper', () => on([...CLASSES, 'Msvm_HeartbeatComponent'], { ...(instance(HEARTBEAT) as object), value: [42], Count: 1 }), 'dropped'],
    ['a component whose SystemName is not a GUID', () => on([...HEARTBEAT, 'SystemName'], 'not-a-guid'), 'dropped'],
    ['a component without SystemName', () => on([...HEARTBEAT, 'SystemName'], ABSENT), 'dropped'],
    ['a setting data with another component\'s GUID', () => on([...HEARTBEAT_SETTING, 'InstanceID'], `Microsoft:${VM}\\${IC_GUID['kvp_exchange']}`), 'dropped'],
    ['a setting data without "Microsoft:"', () => on([...HEARTBEAT_SETTING, 'InstanceID'], `${VM}\\${IC_GUID['heartbeat']}`), 'dropped'],
    ['a setting data InstanceID "x"', () => on([...HEARTBEAT_SETTING, 'InstanceID'], 'x'), 'dropped'],
    ['100 001 instances of a class', () => on([...CLASSES, 'Msvm_ShutdownComponentSettingData'], Array.from({ length: 100_001 }, () => instance([...CLASSES, 'Msvm_ShutdownComponentSettingData', 0]))), 'dropped'],
    // A LastSuccessfulBackupTime that is not a date is left out and counted (value_invalid).
    ...([
      ['"never"', 'never'],
      ['a number', 1736902800000],
      ['a date without a time', '2025-01-15'],
      ['February 30th', '2025-02-30T00:00:00Z'],
      ['February 29th of 2023', '2023-02-29T00:00:00Z'],
      ['February 29th of 1900', '1900-02-29T00:00:00Z'],
      ['24:00', '2025-01-15T24:00:00Z'],
      ['a leap second', '2025-01-15T23:59:60Z'],
      ['the year 99', '0099-12-31T00:00:00Z'],
      ['10 fraction digits', '2025-01-15T01:00:00.1234567890Z'],
      ['an offset without a colon', '2025-01-15T02:00:00+0100'],
      ['lower-case t and z', '2025-01-15t01:00:00z'],
      ['"\\/Date(ms)\\/" with 16 digits', '/Date(1234567890123456)/'],
      ['"\\/Date(ms)\\/" without its slashes', 'Date(1736902800000)'],
      ['a wrapper in a wrapper', { value: { value: '/Date(1736902800000)/' } }],
      ['a wrapper around null', { value: null }],
      ['an array', ['2025-01-15T01:00:00Z']],
    ] as const).map(([name, value]) => [`LastSuccessfulBackupTime ${name}`, () => on([...VM_SYSTEM, 'LastSuccessfulBackupTime'], value), 'dropped'] as const),
    // Read as unknown, silently.
    ...([
      ['"two"', 'two'],
      ['"Running"', 'Running'],
      ['a wrapper in a wrapper {"value":{"value":2}}', { value: { value: 2 } }],
      ['{"Value": 2} without "value"', { Value: 2 }],
      ['{"value": null}', { value: null }],
      ['{"value": "x"}', { value: 'x' }],
      ['-1', -1],
      ['2.5', 2.5],
      ['1e400', Infinity],
      ['2^53', 2 ** 53],
      ['"2^53"', '9007199254740992'],
      ['a 17-digit string', '00000000000000002'],
      ['"0x10"', '0x10'],
      ['"1e3"', '1e3'],
      ['" 2"', ' 2'],
      ['""', ''],
      ['an Arabic-Indic digit', '٣'],
      ['true', true],
      ['[2]', [2]],
    ] as const).map(([name, value]) => [`EnabledState ${name}`, () => on([...VM_SYSTEM, 'EnabledState'], value), 'nulled'] as const),
    ['HealthState true', () => on([...VM_SYSTEM, 'HealthState'], true), 'nulled'],
    ['OnTimeInMilliseconds -5', () => on([...VM_SYSTEM, 'OnTimeInMilliseconds'], -5), 'nulled'],
    ['OnTimeInMilliseconds as a wrapped array', () => on([...VM_SYSTEM, 'OnTimeInMilliseconds'], { value: [1], Count: 1 }), 'nulled'],
    ['Interval -1', () => on([...HEARTBEAT_SETTING, 'Interval'], -1), 'nulled'],
    ['Interval "2s"', () => on([...HEARTBEAT_SETTING, 'Interval'], '2s'), 'nulled'],
    ['Latency 2.5', () => on([...HEARTBEAT_SETTING, 'Latency'], 2.5), 'nulled'],
    ['ErrorThreshold in a wrapper in a wrapper', () => on([...HEARTBEAT_SETTING, 'ErrorThreshold'], { value: { value: 2 } }), 'nulled'],
    ...([
      ['[2, "x"]', [2, 'x']],
      ['[2, null]', [2, null]],
      ['[[2]]', [[2]]],
      ['[{"value":{"value":2}}]', [{ value: { value: 2 } }]],
      ['"OK"', 'OK'],
      ['true', true],
      ['{"value": [2]} without Count', { value: [2] }],
      ['{"value": [2, "x"], "Count": 2}', { value: [2, 'x'], Count: 2 }],
      ['{"Value": [2], "Count": 1}', { Value: [2], Count: 1 }],
    ] as const).map(([name, value]) => [`OperationalStatus ${name}`, () => on([...HEARTBEAT, 'OperationalStatus'], value), 'nulled'] as const),
    ['ElementName a number', () => on([...VM_SYSTEM, 'ElementName'], 42), 'nulled'],
    ['ElementName in an enum wrapper', () => on([...VM_SYSTEM, 'ElementName'], { value: 'web01' }), 'nulled'],
    ['ElementName as an array', () => on([...VM_SYSTEM, 'ElementName'], ['web01']), 'nulled'],
    ...([
      ['an item that is a number', [42]],
      ['an item that is null', [OS_NAME, null]],
      ['an item that is an array', [[OS_NAME]]],
      ['non-strings in a 5.1 wrapper', { value: [OS_NAME, 1], Count: 2 }],
      ['a pool that is a number', 42],
      ['a pool that is an object', {}],
      ['a pool that is true', true],
    ] as const).map(([name, value]) => [`KVP pool: ${name}`, () => on([...KVP, 'GuestIntrinsicExchangeItems'], value), 'nulled'] as const),
    ['a host pool item that is a number', () => on([...KVP_SETTING, 'HostOnlyItems'], [7]), 'nulled'],
    ['a non-string KVP item in a Status document', () => withValue(['classes', 'Msvm_KvpExchangeComponent', 0, 'GuestExchangeItems'], [1], statusDocument()), 'nulled'],
    ['a malformed setting data in a Status document', () => withValue(['classes', 'Msvm_VssComponentSettingData'], [{ InstanceID: 'x' }], statusDocument()), 'dropped'],
    ['computerName an array', () => on(['computerName'], ['HV01']), 'nulled'],
    ['collectedAt a number', () => on(['collectedAt'], 12345), 'nulled'],
    ['collectedAt "yesterday"', () => on(['collectedAt'], 'yesterday'), 'nulled'],
    ['collectedAt a date without a time', () => on(['collectedAt'], '2025-01-15'), 'nulled'],
    ['collectedAt in a wrapper in a wrapper', () => on(['collectedAt'], { value: { value: '/Date(1736935200000)/' } }), 'nulled'],
  ];
  test.each(cases.map(([name, document, verdict]) => [`${name}: ${verdict}`, document, verdict] as const))('%s', (_name, document, verdict) => expectJudged(document(), verdict));
});

// ---------------------------------------------------------------------------------------------------
// Value by value: each value schema reads what the readers before it read (legacyReaders.ts), to the
// same value, and its generated definition accepts exactly that

/** What a value schema reads (undefined: it fails, and the property is read as null). */
function readWith(schema: { safeParse(value: unknown): { success: boolean; data?: unknown } }, value: unknown): unknown {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}

/**
 * The zod schema, its generated definition and the legacy reader agree on `value`. Null is no value
 * at all: each property allows it (lenient in src/document/wire.ts) before its value schema is asked.
 */
function expectAgreement(name: string, schema: Parameters<typeof readWith>[0], legacy: (value: unknown) => unknown, value: unknown, whole = (read: unknown): boolean => read !== null): void {
  if (value === null) return expect(definition(name)(value)).toBe(false);
  const read = legacy(value);
  const expected = read !== null && whole(read);
  expect({ value, definition: definition(name)(value), schema: readWith(schema, value) }).toEqual({ value, definition: expected, schema: read === null ? undefined : read });
}

describe('each value schema reads what the legacy reader read, and its definition accepts exactly that', () => {
  const safe = Number.MAX_SAFE_INTEGER;
  // Around 2^53 - 1, digit by digit: each alternative of the 16-digit pattern at and past its edge.
  const nearMax = Array.from({ length: 16 }, (_, i) => {
    const digits = String(safe).split('');
    return [1, -1].map((step) => {
      const d = Number(digits[i]) + step;
      if (d < 0 || d > 9) return String(safe);
      const changed = [...digits];
      changed[i] = String(d);
      return changed.join('');
    });
  }).flat();
  const scalars: unknown[] = [
    0, -0, 1, 2, 65535, 65536, safe, safe + 1, 2 ** 60, -1, 0.5, 2.5, 1e21, Infinity, -Infinity, NaN,
    '0', '2', '007', '9007199254740991', '9007199254740992', '9999999999999999', '0000000000000000', '00000000000000001', '',
    ' 2', '2 ', '+2', '-2', '2.0', '1e3', '0x10', '٣', 'two', true, false, null, [], {}, [2], ...nearMax,
  ];
  const wrapped = (values: readonly unknown[]): unknown[] => values.flatMap((v) => [{ value: v }, { value: v, Value: 'x' }, { value: { value: v } }, { Value: v }]);
  const arrays = (values: readonly unknown[]): unknown[] => [
    ...values.map((v) => [v]),
    ...values.map((v) => [2, v]),
    ...values.map((v) => ({ value: [v], Count: 1 })),
    ...values.map((v) => ({ value: [v], count: 1 })),
    ...values.map((v) => ({ value: [v] })),
    { value: [], Count: 0 },
    [],
  ];

  test('#/$defs/uint: readUnsigned', () => {
    for (const value of [...scalars, ...wrapped(scalars)]) expectAgreement('uint', uint, readUnsigned, value);
  });

  test('#/$defs/uint16Array: readUnsignedArray', () => {
    for (const value of [...scalars, ...wrapped(scalars), ...arrays([...scalars, ...wrapped([2, '2', 'x'])])]) expectAgreement('uint16Array', uint16Array, readUnsignedArray, value);
  });

  test('#/$defs/kvpItems: readStringArray, every item a string', () => {
    const items: unknown[] = ['', OS_NAME, 42, null, true, {}, [OS_NAME], { value: OS_NAME }];
    // A pool with items that are not strings is read, with null entries (the model drops them), but not whole.
    for (const value of [...items, ...wrapped(items), ...arrays(items)]) expectAgreement('kvpItems', kvpPool, readStringArray, value, (read) => (read as unknown[]).every((item) => item !== null));
  });

  test('#/$defs/cimDatetime: readDateTime', () => {
    const texts: unknown[] = [
      '2025-01-15T01:00:00Z', '2025-01-15T01:00:00', '2025-01-15T02:00:00+01:00', '2025-01-15T02:00:00+99:99', '2025-01-15T01:00:00.1Z',
      '2025-01-15T01:00:00.123456789Z', '2025-01-15T01:00:00.1234567890Z', '2025-01-15T01:00:00.Z', '2025-01-15T1:00:00Z', '2025-1-15T01:00:00Z',
      '2025-01-15 01:00:00Z', '2025-01-15T01:00Z', '2025-01-15', '12025-01-15T01:00:00Z', '+002025-01-15T01:00:00Z',
      '0100-01-01T00:00:00Z', '0099-12-31T23:59:59Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '1601-01-01T00:00:00Z',
      '2025-00-10T00:00:00Z', '2025-13-10T00:00:00Z', '2025-01-00T00:00:00Z', '2025-01-31T00:00:00Z', '2025-04-31T00:00:00Z', '2025-04-30T00:00:00Z',
      '2025-02-28T00:00:00Z', '2025-02-29T00:00:00Z', '2024-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2100-02-29T00:00:00Z',
      '0400-02-29T00:00:00Z', '0104-02-29T00:00:00Z', '0100-02-29T00:00:00Z', '2025-01-15T23:59:59Z', '2025-01-15T24:00:00Z', '2025-01-15T23:60:00Z',
      '2025-01-15T23:59:60Z', '/Date(0)/', '/Date(-0)/', '/Date(-11644473600000)/', '/Date(1736902800000+0100)/', '/Date(1736902800000-0500)/',
      '/Date(999999999999999)/', '/Date(1000000000000000)/', '/Date(000000000000001)/', '/Date(1736902800000+01:00)/', '/Date(1736902800000+100)/',
      '/Date()/', '/Date(1.5)/', '/Date(1736902800000)', '\\/Date(1736902800000)\\/', 'Date(1736902800000)', '/date(1736902800000)/', 'never', '', 0, 1736902800000, true, null, [], {},
    ];
    for (const value of [...texts, ...wrapped(texts), { value: '/Date(0)/', DisplayHint: 2, DateTime: 'x' }, { value: ['/Date(0)/'], Count: 1 }, ['/Date(0)/']]) {
      expectAgreement('cimDatetime', cimDatetime, readDateTime, value);
    }
  });

  test('generated values: the same agreement (fast-check)', () => {
    const digits = fc.stringMatching(/^[0-9]{1,18}$/);
    const scalar = fc.oneof(fc.integer(), fc.double(), fc.maxSafeNat(), digits, fc.string({ maxLength: 6 }), fc.constant(null), fc.boolean());
    const datetimeText = fc
      .tuple(fc.integer({ min: 0, max: 10_999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.constantFrom('', 'Z', '+01:00', '-05:30', '.5Z'))
      .map(([y, mo, d, h, mi, zone]) => `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:00${zone}`);
    const legacy = fc.tuple(fc.integer({ min: -1, max: 1 }), digits, fc.constantFrom('', '+0100', '-0500')).map(([sign, n, zone]) => `/Date(${sign < 0 ? '-' : ''}${n}${zone})/`);
    const value = fc.oneof(scalar, datetimeText, legacy, scalar.map((v) => ({ value: v })), datetimeText.map((v) => ({ value: v })), fc.array(scalar, { maxLength: 3 }), fc.array(scalar, { maxLength: 3 }).map((v) => ({ value: v, Count: v.length })));
    fc.assert(
      fc.property(value, (v) => {
        expectAgreement('uint', uint, readUnsigned, v);
        expectAgreement('uint16Array', uint16Array, readUnsignedArray, v);
        expectAgreement('cimDatetime', cimDatetime, readDateTime, v);
      }),
      { numRuns: 500 },
    );
  });
});
