import type { Diagnostics } from '../document/diagnostics';
import type { KvpItem } from '../document/kvp';
import type { Limits } from '../document/limits';
import type { ExportedKvpItem, KvpPool } from './hostModel';
import { toLabelText } from './labelText';

/** Which KVP items become hyperv_vm_kvp_item_info series (--kvp.export-keys, --kvp.export-max-per-vm). */
export interface KvpExport {
  /** Matched against the whole item name; null: no item is exported. */
  readonly keys: RegExp | null;
  readonly maxPerVm: number;
}

export const NO_KVP_EXPORT: KvpExport = { keys: null, maxPerVm: 0 };

/** Hyper-V takes KVP keys of up to 512 bytes; a longer name is not tested, so a costly pattern stays cheap. */
const MAX_KEY_LENGTH = 512;

/**
 * The allow-listed items of a VM's pools, in pool order: key and value made safe as label values
 * (written by the guest for the guest pools: control characters become spaces, long values are cut
 * and counted), one item per pool and key (a second one is counted as a duplicate), at most maxPerVm
 * (the rest are counted).
 */
export function exportedKvpItems(pools: ReadonlyArray<readonly [KvpPool, readonly KvpItem[] | null]>, options: KvpExport, limits: Limits, diagnostics: Diagnostics): ExportedKvpItem[] {
  const keys = options.keys;
  if (keys === null) return [];
  const exported: ExportedKvpItem[] = [];
  const seen = new Set<string>();
  for (const [pool, items] of pools) {
    for (const item of items ?? []) {
      if (item.name.length > MAX_KEY_LENGTH || !keys.test(item.name)) continue;
      const key = toLabelText(item.name, limits.maxLabelValueLength, diagnostics, `${pool} KVP key`);
      const identity = `${pool}\u0000${key}`;
      if (seen.has(identity)) {
        diagnostics.drop('kvp_export_duplicate', `${pool} KVP item ${JSON.stringify(key)}`);
        continue;
      }
      seen.add(identity);
      if (exported.length >= options.maxPerVm) {
        diagnostics.drop('kvp_export_over_limit', `${pool} KVP item ${JSON.stringify(key)} beyond ${options.maxPerVm}`);
        continue;
      }
      exported.push({ pool, key, value: toLabelText(item.data, limits.maxLabelValueLength, diagnostics, `${pool} KVP value of ${key}`) });
    }
  }
  return exported;
}
