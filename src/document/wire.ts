import { z } from 'zod';

/**
 * Values as ConvertTo-Json writes them, as zod schemas: what each accepts is what the parser reads, and
 * schema/sample-document.schema.json is generated from them (test/document/schema.test.ts). Windows
 * PowerShell 5.1 sometimes wraps arrays as {"value":[…],"Count":n}, unwraps one-element arrays to the
 * element, and wraps enums and dates once as {"value":…}; the COM/WMI scripting path writes uint64 as a
 * string (wmi.md §8.3, §9). Patterns are written without flags (JSON Schema has none).
 */

const HEX = '[0-9A-Fa-f]';
const GUID_TEXT = `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`;
const GUID = new RegExp(`^${GUID_TEXT}$`);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** Windows PowerShell 5.1's {"value":[…],"Count":n} ("Count" or "count"; n is not read). */
export function isArrayWrapper(value: unknown): value is { value: unknown[] } {
  return isRecord(value) && Array.isArray(value['value']) && ('Count' in value || 'count' in value);
}

/** An array, a 5.1 wrapper, or a lone element unwrapped by the pipeline: the elements; null for null or absent. */
export function readArray(value: unknown): unknown[] | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value;
  return isArrayWrapper(value) ? value.value : [value];
}

/** `schema`, or null or absent; anything else is read as null (unknown) instead of failing the instance. */
export function lenient<T extends z.ZodType>(schema: T) {
  return schema.nullish().catch(null);
}

/** A text matched in any letter case, for patterns without flags. */
export function caseless(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`);
}

/** The array forms of PowerShell: a JSON array, 5.1's wrapper, or one element written alone. */
export function powerShellArray<T extends z.ZodType, L extends z.ZodType = T>(item: T, maxItems = Number.POSITIVE_INFINITY, lone?: L) {
  const list = Number.isFinite(maxItems) ? z.array(item).max(maxItems) : z.array(item);
  const wrapper = z.union([z.object({ value: list, Count: z.unknown() }), z.object({ value: list, count: z.unknown() })]).transform((w) => w.value);
  return z.union([list, wrapper, ((lone ?? item) as L).transform((element) => [element])]);
}

export const guid = z.string().regex(GUID).meta({ id: 'guid', description: 'A GUID, in any letter case (Hyper-V writes upper case; vm_id is lower case).' });

/** InstanceID `Microsoft:<VM GUID>\<suffix>` in any letter case (wmi.md §4, §6): how setting data name their VM. */
export function instanceIdOf(suffix: string) {
  return z.string().regex(new RegExp(`^${caseless('Microsoft:')}${GUID_TEXT}\\\\${caseless(suffix)}$`));
}

// 0 to 2^53 - 1 in at most 16 digits, leading zeros allowed: what JavaScript holds exactly.
const UINT_TEXT =
  '^(?:[0-9]{1,15}|[0-8][0-9]{15}|900[0-6][0-9]{12}|90070[0-9]{11}|90071[0-8][0-9]{10}|900719[0-8][0-9]{9}|9007199[0-1][0-9]{8}|90071992[0-4][0-9]{7}|900719925[0-3][0-9]{6}|9007199254[0-6][0-9]{5}|90071992547[0-3][0-9]{4}|9007199254740[0-8][0-9]{2}|90071992547409[0-8][0-9]{1}|900719925474099[0-1])$';

export const uintValue = z
  .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(new RegExp(UINT_TEXT)).transform(Number)])
  .meta({ id: 'uintValue', description: 'A JSON integer from 0 to 9007199254740991 (2^53 - 1), or a string of at most 16 decimal digits in that range (uint64 through the WMI scripting API).' });

export const uint = z.union([uintValue, z.object({ value: uintValue }).transform((wrapped) => wrapped.value)]).meta({
  id: 'uint',
  description:
    'A CIM unsigned integer (uint16, uint32, uint64): a #/$defs/uintValue, or one inside Windows PowerShell 5.1\'s enum wrapper {"value": n}, once ("value" in lower case; other keys are not read). Anything else (a negative or fractional number, 1e400, "0x10", a wrapper in a wrapper) is read as unknown.',
});

export const uint16Array = powerShellArray(uint).meta({
  id: 'uint16Array',
  description:
    'A CIM uint16[] such as OperationalStatus: a JSON array of #/$defs/uint, 5.1\'s {"value": [...], "Count": n}, or one element written alone. One element that is not a #/$defs/uint makes the whole array unknown.',
});

/** A KVP pool: a non-string item is read as a null entry (the model drops it as kvp_item_malformed). */
const KVP_ITEM: z.ZodType<string | null> = z.string().catch(null as unknown as string);
export const kvpPool = powerShellArray(KVP_ITEM).meta({
  id: 'kvpItems',
  description:
    'A KVP pool (CIM string[]): Msvm_KvpExchangeDataItem embedded instances as WMI returns them, CIM-XML text. A JSON array of strings, 5.1\'s {"value": [...], "Count": n}, or one item written alone. An item that is not a string is dropped and counted (kvp_item_malformed); the CIM-XML itself and its limits are checked later (docs/limits.md).',
});

const ISO_DATETIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})?$/;
const YEAR = '(?:0[1-9][0-9]{2}|[1-9][0-9]{3})';
// Months of 31 and 30 days, February, and February 29th of a leap year; years 0100 to 9999.
const DATE_EXISTS =
  `^(?:${YEAR}-(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|${YEAR}-(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|${YEAR}-02-(?:0[1-9]|1[0-9]|2[0-8])` +
  '|(?:(?:0[1-9]|[1-9][0-9])(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29)T';
const TIME_OF_DAY = '^.{10}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]';

/** A text the patterns below accepted, in Unix ms: yyyy-MM-ddTHH:mm:ss at fixed places, then the fraction and the zone. */
function isoMilliseconds(text: string): number {
  const at = (start: number, end: number): number => Number(text.slice(start, end));
  const fraction = /^\.[0-9]+/.exec(text.slice(19))?.[0] ?? '';
  const zone = text.slice(19 + fraction.length);
  const utc = Date.UTC(at(0, 4), at(5, 7) - 1, at(8, 10), at(11, 13), at(14, 16), at(17, 19)) + Math.floor(Number(`0${fraction}`) * 1000);
  if (zone === '' || zone === 'Z') return utc;
  return utc - (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}

export const isoDatetime = z
  .string()
  .regex(ISO_DATETIME)
  .regex(new RegExp(DATE_EXISTS))
  .regex(new RegExp(TIME_OF_DAY))
  .transform(isoMilliseconds)
  .meta({
    id: 'isoDatetime',
    description:
      'ISO 8601 as PowerShell 7 writes it: yyyy-MM-ddTHH:mm:ss, an optional fraction of a second (1 to 9 digits), then "Z", an offset such as "+01:00", or nothing (taken as UTC). The date must exist and lie in the years 0100 to 9999.',
  });

export const legacyDatetime = z
  .string()
  .regex(/^\/Date\((-?[0-9]{1,15})(?:[+-][0-9]{4})?\)\/$/)
  .transform((text) => Number(/-?[0-9]+/.exec(text)![0]))
  .meta({
    id: 'legacyDatetime',
    description:
      'Windows PowerShell 5.1\'s "\\/Date(ms)\\/": milliseconds since 1970-01-01T00:00:00Z, negative before (-11644473600000 is 1601-01-01, the CIM "never"), at most 15 digits, optionally followed by the writer\'s offset such as "+0100", which does not change the instant.',
  });

export const datetime = z.union([isoDatetime, legacyDatetime]).meta({ id: 'datetime', description: 'A point in time, read in Unix milliseconds.' });

export const cimDatetime = z.union([datetime, z.object({ value: datetime }).transform((wrapped) => wrapped.value)]).meta({
  id: 'cimDatetime',
  description:
    'A CIM datetime as PowerShell writes it: a #/$defs/datetime, or 5.1\'s wrapper {"value": "\\/Date(ms)\\/", "DisplayHint": 2, "DateTime": "<localized text>"} around one, once, of which only "value" is read.',
});
