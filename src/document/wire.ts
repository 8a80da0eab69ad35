/**
 * Readers for values as ConvertTo-Json writes them. Windows PowerShell 5.1 sometimes wraps arrays as
 * {"value":[…],"Count":n}, unwraps one-element arrays to the element, and wraps enums as {"value":n};
 * the COM/WMI scripting path writes uint64 as a string (wmi.md §8.3, §9). These readers accept all of
 * those and return null for anything else, so that callers decide whether null is malformed.
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

/** ISO 8601 (PowerShell 7) or "\/Date(ms)\/" (Windows PowerShell 5.1). */
export function readTimestamp(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const legacy = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
  const date = legacy?.[1] !== undefined ? new Date(Number(legacy[1])) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}
