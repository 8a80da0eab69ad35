import { z } from 'zod';
import { SAMPLE_SCOPES, SampleError, type RawSample, type SampleScope } from '../contract/sample';
import { CLASSES, COMPUTER_SYSTEM, SCHEMA_VERSION, type CimClass } from './classes';
import { type Diagnostics, preview } from './diagnostics';
import { DEFAULT_LIMITS, type Limits } from './limits';
import { cimDatetime, isArrayWrapper, isGuid, isRecord, lenient, powerShellArray, readArray } from './wire';

/** One instance as read: the properties its class declares (a value that was not valid is null or absent), and the lower-case GUID of the VM it names (null: the host). */
export type Instance<C extends CimClass = CimClass> = z.output<C['instance']> & { readonly vmId: string | null };

export interface ParsedDocument {
  /** What the source wrote: a `status` document is completed from the last Full sample's model. */
  readonly scope: SampleScope;
  readonly computerName: string;
  readonly collectedAt: Date | null;
  /** Class name → its instances, for every class of CLASSES (instancesOf gives them typed). */
  readonly classes: ReadonlyMap<string, readonly Instance[]>;
}

/** The instances of one class, typed as the class declares them. */
export function instancesOf<C extends CimClass>(document: ParsedDocument, cimClass: C): ReadonlyArray<Instance<C>> {
  return (document.classes.get(cimClass.name) ?? []) as ReadonlyArray<Instance<C>>;
}

const ARRAY_WRAPPER = { type: 'object', required: ['value'], properties: { value: { type: 'array' } }, anyOf: [{ required: ['Count'] }, { required: ['count'] }] };
const NOT_AN_ARRAY_WRAPPER = z
  .unknown()
  .refine((value) => !isArrayWrapper(value))
  .meta({ id: 'notAnArrayWrapper', description: 'An instance written alone is not 5.1\'s {"value": [...], "Count": n}, which is read as the array it wraps.', not: ARRAY_WRAPPER })
  .transform(() => ({}));

/**
 * A class's instances as the sources write them: a JSON array, 5.1's wrapper, one instance alone, or null
 * or absent for none (but for the computer systems, which must be there). The parser reads this shape
 * tolerantly, instance by instance (readClass below); the schema describes what it reads whole.
 */
function instancesSchema(cimClass: CimClass) {
  const instances = powerShellArray(cimClass.instance, DEFAULT_LIMITS.maxInstancesPerClass, z.intersection(cimClass.instance, NOT_AN_ARRAY_WRAPPER));
  const status = cimClass.status.length === 0 ? 'Not in a Status document.' : `In a Status document with ${cimClass.status.join(', ')}.`;
  const forms = `A JSON array, 5.1's {"value": [...], "Count": n}, or one instance written alone; at most ${DEFAULT_LIMITS.maxInstancesPerClass} are read (instance_over_limit).`;
  return cimClass === COMPUTER_SYSTEM
    ? instances.describe(`${forms} Required: absent or null fails the sample (an empty array will do). ${status}`)
    : instances.nullish().describe(`${forms} Null or absent: none. ${status}`);
}

/** The sample document: what the parser reads, and what schema/sample-document.schema.json is generated from. */
export const SAMPLE_DOCUMENT = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION).describe('The version of this format; anything else (the string "1" too) fails the sample.'),
  scope: z
    .enum(SAMPLE_SCOPES)
    .nullish()
    .describe('"full", null or absent: a Full document. "status": only what changes from second to second; the exporter completes it from its last Full sample. Any other value fails the sample.'),
  computerName: lenient(z.string()).describe('The sampled host. Null or absent: the Name of the Msvm_ComputerSystem that is not a VM.'),
  collectedAt: lenient(cimDatetime).describe('When the sample was taken: collect.ps1 writes ISO 8601 in UTC with milliseconds and "Z". Null or absent: unknown.'),
  classes: z
    .object(Object.fromEntries(CLASSES.map((c) => [c.name, instancesSchema(c)])))
    .describe('Class name → its instances. A Status document holds the same classes, fewer of them and with fewer properties; unknown classes are ignored.'),
});

function invalid(message: string): SampleError {
  return new SampleError('invalid_document', message);
}

/** JSON text or an already-built value → the document value, with the size bound applied to text. */
export function decodeRawSample(raw: RawSample, limits: Limits = DEFAULT_LIMITS): unknown {
  if (!('text' in raw)) return raw.document;
  const text = raw.text;
  if (text.length > limits.maxDocumentBytes) throw invalid(`sample document is larger than ${limits.maxDocumentBytes} bytes`);
  const withoutMark = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (withoutMark.trim() === '') throw invalid('sample document is empty');
  try {
    return JSON.parse(withoutMark) as unknown;
  } catch (error) {
    throw invalid(`sample document is not JSON: ${(error as Error).message}`);
  }
}

/** The VM a valid instance names, by its class's join. */
function vmIdOf(cimClass: CimClass, key: string): string | null {
  if (cimClass.key === 'InstanceID') return key.slice('Microsoft:'.length, 'Microsoft:'.length + 36).toLowerCase();
  return cimClass.key === 'SystemName' || isGuid(key) ? key.toLowerCase() : null;
}

/**
 * Which computer systems to read: all but the VMs (named by a GUID) beyond maxVmsPerHost, which are
 * dropped and counted. Those with the lowest GUIDs are read, whatever order the host listed them in.
 */
function vmsWithinLimit(records: ReadonlyArray<Record<string, unknown>>, limits: Limits, diagnostics: Diagnostics): (index: number) => boolean {
  const ids = records.map((record) => (typeof record['Name'] === 'string' && isGuid(record['Name']) ? record['Name'].toLowerCase() : null));
  const vms = ids.flatMap((id, i) => (id === null ? [] : [i]));
  if (vms.length <= limits.maxVmsPerHost) return () => true;
  diagnostics.drop('vm_over_limit', `${COMPUTER_SYSTEM.name}: ${vms.length} VMs, the ${limits.maxVmsPerHost} with the lowest GUIDs read`, vms.length - limits.maxVmsPerHost);
  const byId = (a: number, b: number): number => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : a - b);
  const read = new Set(vms.sort(byId).slice(0, limits.maxVmsPerHost));
  return (i) => ids[i] === null || read.has(i);
}

/** One class, instance by instance: what is not an instance, or has no valid key, is dropped and counted. */
function readClass(cimClass: CimClass, value: unknown, limits: Limits, diagnostics: Diagnostics): Instance[] {
  const items = readArray(value) ?? [];
  if (items.length > limits.maxInstancesPerClass) {
    diagnostics.drop('instance_over_limit', `${cimClass.name}: ${items.length} instances`, items.length - limits.maxInstancesPerClass);
  }
  const records: Array<Record<string, unknown>> = [];
  for (let i = 0; i < Math.min(items.length, limits.maxInstancesPerClass); i++) {
    const item = items[i];
    if (isRecord(item)) records.push(item);
    else diagnostics.drop('instance_malformed', `${cimClass.name}[${i}] is not an object`);
  }
  const kept = cimClass.key === 'Name' ? vmsWithinLimit(records, limits, diagnostics) : () => true;
  const instances: Instance[] = [];
  records.forEach((record, i) => {
    if (!kept(i)) return;
    const read = cimClass.instance.safeParse(record);
    if (!read.success) return diagnostics.drop('instance_malformed', `${cimClass.name} with ${cimClass.key} ${preview(record[cimClass.key])}`);
    for (const property of cimClass.counted) {
      const written = record[property];
      if (written !== undefined && written !== null && read.data[property] === null) {
        diagnostics.drop('value_invalid', `${property} ${preview(written)} of ${preview(record[cimClass.key])}`);
      }
    }
    instances.push(Object.assign(read.data, { vmId: vmIdOf(cimClass, record[cimClass.key] as string) }));
  });
  return instances;
}

/**
 * Validates a sample document and reads it with SAMPLE_DOCUMENT's schemas. A document that is not a
 * sample document at all throws SampleError('invalid_document'); an instance that is not one is dropped
 * and recorded in `diagnostics`; a value that is not valid is read as null; unknown classes and
 * properties are ignored.
 */
export function parseDocument(value: unknown, diagnostics: Diagnostics, limits: Limits = DEFAULT_LIMITS): ParsedDocument {
  if (!isRecord(value)) throw invalid('sample document is not a JSON object');
  const header = SAMPLE_DOCUMENT.shape;
  if (!header.schemaVersion.safeParse(value['schemaVersion']).success) {
    throw invalid(`unsupported schemaVersion ${JSON.stringify(value['schemaVersion'])} (this exporter reads ${SCHEMA_VERSION})`);
  }
  const classes = value['classes'];
  if (!isRecord(classes)) throw invalid('sample document has no "classes" object');
  if (readArray(classes[COMPUTER_SYSTEM.name]) === null) throw invalid(`sample document has no ${COMPUTER_SYSTEM.name} instances (not even the host)`);
  const scope = header.scope.safeParse(value['scope']);
  if (!scope.success) throw invalid(`unknown scope ${preview(value['scope'])} (expected "full" or "status")`);

  const read = new Map(CLASSES.map((c) => [c.name, readClass(c, classes[c.name], limits, diagnostics)]));
  const host = read.get(COMPUTER_SYSTEM.name)?.find((system) => system.vmId === null);
  const collectedAt = header.collectedAt.parse(value['collectedAt']);
  return {
    scope: scope.data ?? 'full',
    computerName: header.computerName.parse(value['computerName']) ?? (host?.['Name'] as string | undefined) ?? '',
    collectedAt: collectedAt === null || collectedAt === undefined ? null : new Date(collectedAt),
    classes: read,
  };
}
