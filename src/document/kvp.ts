import { SaxesParser } from 'saxes';

/** One Msvm_KvpExchangeDataItem (wmi.md §5): written by the guest for guest pools, so untrusted. */
export interface KvpItem {
  readonly name: string;
  readonly data: string;
  /** 0 host, 1 guest, 2 guest intrinsic, 4 host only; null where absent or not a number. */
  readonly source: number | null;
}

export type KvpParseResult = { readonly ok: true; readonly item: KvpItem } | { readonly ok: false; readonly error: string };

const ITEM_CLASS = 'Msvm_KvpExchangeDataItem';
// INSTANCE > PROPERTY > VALUE is all a data item has; anything deeper is not one.
const MAX_DEPTH = 3;

/**
 * Parses one embedded instance, single-line or pretty-printed. saxes is a strict, non-validating
 * parser that expands only XML's predefined entities and character references; a DOCTYPE is refused
 * outright, so neither internal entity expansion ("billion laughs") nor external entities can happen.
 */
export function parseKvpItem(xml: string): KvpParseResult {
  const parser = new SaxesParser({ xmlns: false, position: false });
  const properties = new Map<string, string | null>();
  let depth = 0;
  let error: string | null = null;
  let instanceSeen = false;
  let propertyName: string | null = null;
  let valueText: string | null = null;

  const fail = (message: string): void => {
    if (error === null) error = message;
  };
  parser.on('error', (e) => fail(e.message));
  parser.on('doctype', () => fail('DOCTYPE is not allowed in a KVP item'));
  parser.on('opentag', (tag) => {
    depth++;
    if (depth > MAX_DEPTH) return fail('KVP item nested too deeply');
    const name = tag.name.toUpperCase();
    if (depth === 1) {
      if (name !== 'INSTANCE' || tag.attributes['CLASSNAME'] !== ITEM_CLASS) fail(`root is not <INSTANCE CLASSNAME="${ITEM_CLASS}">`);
      instanceSeen = true;
    } else if (depth === 2 && name === 'PROPERTY') {
      const attribute = tag.attributes['NAME'];
      propertyName = typeof attribute === 'string' ? attribute : null;
      if (propertyName !== null && !properties.has(propertyName)) properties.set(propertyName, null);
    } else if (depth === 3 && name === 'VALUE') {
      valueText = '';
    }
  });
  const onText = (text: string): void => {
    if (valueText !== null) valueText += text;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    if (depth === 3 && valueText !== null && propertyName !== null) {
      properties.set(propertyName, valueText);
      valueText = null;
    } else if (depth === 2) {
      propertyName = null;
    }
    depth--;
  });

  try {
    parser.write(xml).close();
  } catch (e) {
    fail((e as Error).message);
  }
  if (error !== null) return { ok: false, error };
  if (!instanceSeen) return { ok: false, error: 'no INSTANCE element' };
  const name = properties.get('Name');
  if (name === undefined || name === null || name === '') return { ok: false, error: 'KVP item without a Name' };
  const sourceText = properties.get('Source');
  const source = sourceText !== undefined && sourceText !== null && /^\s*\d{1,5}\s*$/.test(sourceText) ? Number(sourceText) : null;
  // A PROPERTY without VALUE and an empty VALUE both mean an empty value (wmi.md §5.2).
  return { ok: true, item: { name, data: properties.get('Data') ?? '', source } };
}
