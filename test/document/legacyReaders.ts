/**
 * The value readers the parser had before its values were zod schemas (src/document/wire.ts at the
 * commit before), kept as a test oracle: test/document/schema.test.ts checks that the schemas read
 * exactly the values these read, and the generated JSON Schema accepts exactly those.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPowerShellArrayWrapper(value: Record<string, unknown>): boolean {
  return Array.isArray(value['value']) && ('Count' in value || 'count' in value);
}

/** An array, a 5.1 {"value":[…],"Count":n} wrapper, or a lone element unwrapped by the pipeline. */
export function readArray(value: unknown): unknown[] | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value;
  if (isRecord(value) && isPowerShellArrayWrapper(value)) return value['value'] as unknown[];
  return [value];
}

/** A non-negative integer: a JSON number, a decimal string (uint64 via scripting), or {"value":n}. */
export function readUnsigned(value: unknown, unwrapped = false): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === 'string') {
    if (!/^\d{1,16}$/.test(value)) return null;
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : null;
  }
  // 5.1 wraps an enum once ({"value":n}); anything nested deeper is not a number (and must not recurse).
  if (!unwrapped && isRecord(value) && 'value' in value && !isPowerShellArrayWrapper(value)) return readUnsigned(value['value'], true);
  return null;
}

export function readString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A uint16[] such as OperationalStatus: elements that are not unsigned integers make the whole array null. */
export function readUnsignedArray(value: unknown): number[] | null {
  const items = readArray(value);
  if (items === null) return null;
  const numbers: number[] = [];
  for (const item of items) {
    const n = readUnsigned(item);
    if (n === null) return null;
    numbers.push(n);
  }
  return numbers;
}

/** A string[] such as the KVP item arrays: non-string elements are returned as null entries. */
export function readStringArray(value: unknown): Array<string | null> | null {
  const items = readArray(value);
  if (items === null) return null;
  return items.map((item) => (typeof item === 'string' ? item : null));
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isGuid(value: string): boolean {
  return GUID.test(value);
}

const LEGACY_DATE = /^\/Date\((-?\d{1,15})(?:[+-]\d{4})?\)\/$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * A CIM datetime as PowerShell writes it, in Unix milliseconds: Windows PowerShell 5.1's
 * "\/Date(ms)\/" (UTC milliseconds, negative before 1970; an offset suffix is informational), also
 * wrapped once as {"value": "\/Date(ms)\/", …}; PowerShell 7's ISO 8601 with "Z", with an offset,
 * or with neither, which is read as UTC (PowerShell 7 writes CIM datetimes with an offset, so only a
 * hand-made document lacks one). Null for anything else, and for impossible dates (month 13).
 */
export function readDateTime(value: unknown, unwrapped = false): number | null {
  if (!unwrapped && isRecord(value) && 'value' in value && !isPowerShellArrayWrapper(value)) return readDateTime(value['value'], true);
  if (typeof value !== 'string') return null;
  const legacy = LEGACY_DATE.exec(value);
  if (legacy !== null) {
    const ms = Number(legacy[1]);
    return Math.abs(ms) <= MAX_DATE_MS ? ms : null;
  }
  const iso = ISO_DATE.exec(value);
  if (iso === null) return null;
  const [year, month, day, hour, minute, second] = iso.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = Number(`0.${iso[7] ?? '0'}`);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) + Math.floor(fraction * 1000);
  // Date.UTC rolls over (February 30th is March 2nd): such a date was not a date.
  const check = new Date(utc - Math.floor(fraction * 1000));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return null;
  const zone = iso[8];
  if (zone === undefined || zone === 'Z') return utc;
  const offset = (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  return utc - offset;
}

/** ECMAScript's range of dates, ±100,000,000 days around 1970. */
const MAX_DATE_MS = 8.64e15;

/** A timestamp (collectedAt) in the forms readDateTime takes, as a Date. */
export function readTimestamp(value: unknown): Date | null {
  const ms = readDateTime(value);
  return ms === null ? null : new Date(ms);
}
