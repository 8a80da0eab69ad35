import { detachedPrefix } from './detachedPrefix';

/**
 * What a sample dropped or cut, by reason. Parsing and model building are pure: instead of logging, they
 * record here. The host's sampler (sampling/hostSampler.ts) adds the counts to hyperv_sample_dropped_total
 * and logs them, with the first example of each reason, whenever they differ from the last sample's.
 */
export const DROP_REASONS = [
  /** An instance that is not an object, or lacks its key property, or has a key of the wrong type. */
  'instance_malformed',
  /** A second VM with the same GUID, or a second component of one class for the same VM. */
  'instance_duplicate',
  /** Instances beyond maxInstancesPerClass. */
  'instance_over_limit',
  /** VMs (computer systems named by a GUID) beyond maxVmsPerHost; their components and settings are ignored. */
  'vm_over_limit',
  /** A KVP item that is not a well-formed Msvm_KvpExchangeDataItem embedded instance. */
  'kvp_item_malformed',
  /** A KVP item longer than maxKvpItemLength. */
  'kvp_item_too_large',
  /** KVP items beyond maxKvpItemsPerPool. */
  'kvp_item_over_limit',
  /** A label value (VM name, guest info, an exported KVP item) longer than maxLabelValueLength, cut to that length. */
  'label_truncated',
  /** A property value that cannot be what it claims: a backup time that is not a date, or lies in the future. */
  'value_invalid',
  /** An entry of the guest's NetworkAddressIPv4/IPv6 list that is not an IP address of that family. */
  'guest_address_invalid',
  /** Guest addresses beyond maxGuestAddressesPerVm. */
  'guest_address_over_limit',
  /** Allow-listed KVP items (--kvp.export-keys) beyond --kvp.export-max-per-vm. */
  'kvp_export_over_limit',
  /** A second allow-listed KVP item with the same pool and (cleaned) key as one exported already. */
  'kvp_export_duplicate',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

// Examples go to the log; an instance can carry megabytes in one property.
const MAX_EXAMPLE_LENGTH = 200;

/** A short, JSON-quoted preview of a value for an example, without copying a huge string whole. */
export function preview(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? 'undefined' : typeof value === 'object' ? (value === null ? 'null' : 'an object') : String(value);
  return JSON.stringify(value.length > 64 ? `${detachedPrefix(value, 64)}…` : value);
}

export class Diagnostics {
  private readonly counts = new Map<DropReason, number>();
  private readonly examples = new Map<DropReason, string>();

  drop(reason: DropReason, example: string, count = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + count);
    if (!this.examples.has(reason)) this.examples.set(reason, example.length > MAX_EXAMPLE_LENGTH ? `${detachedPrefix(example, MAX_EXAMPLE_LENGTH)}…` : example);
  }

  get isEmpty(): boolean {
    return this.counts.size === 0;
  }

  /** reason → { count, first example }, in DROP_REASONS order. */
  entries(): Array<{ reason: DropReason; count: number; example: string }> {
    return DROP_REASONS.filter((r) => this.counts.has(r)).map((reason) => ({
      reason,
      count: this.counts.get(reason) ?? 0,
      example: this.examples.get(reason) ?? '',
    }));
  }
}
