/**
 * Bounds on what a sample document may make the exporter hold. Guests write KVP items and any process
 * inside a VM can set them, so every size and count that a guest controls is capped here; whatever is
 * cut is counted in hyperv_sample_dropped_total{reason}. docs/limits.md documents each value.
 */
export interface Limits {
  /** Largest sample document (JSON text) accepted, in bytes. */
  readonly maxDocumentBytes: number;
  /** Most instances read from one class; the rest are dropped. */
  readonly maxInstancesPerClass: number;
  /** Most VMs (computer systems named by a GUID) read from one document; those with the lowest GUIDs are read, the rest dropped. */
  readonly maxVmsPerHost: number;
  /** Most KVP items read from one pool of one VM; the rest are dropped. */
  readonly maxKvpItemsPerPool: number;
  /** Longest embedded KVP instance (CIM-XML text) parsed, in UTF-16 code units. */
  readonly maxKvpItemLength: number;
  /** Longest label value exported, in characters; longer values are cut and counted. */
  readonly maxLabelValueLength: number;
  /** Most guest addresses (IPv4 and IPv6 together) exported per VM; the rest are counted. */
  readonly maxGuestAddressesPerVm: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  // 1024 VMs with 20 intrinsic KVP items of ~700 bytes each come to ~15 MiB; leave room for checkpoints.
  // What the largest accepted document costs is measured in docs/limits.md#memory-and-time.
  maxDocumentBytes: 64 * 1024 * 1024,
  // Setting data include one instance per checkpoint, so a class may hold far more instances than VMs.
  maxInstancesPerClass: 100_000,
  // Hyper-V runs at most 1 024 VMs per host; four times that bounds what the model and the exposition
  // of one document can cost (docs/limits.md#memory-and-time) while no real host comes near it.
  maxVmsPerHost: 4096,
  // Microsoft: "Each configuration file is limited to 128 key/value pairs" (Msvm_KvpExchangeComponentSettingData).
  maxKvpItemsPerPool: 1024,
  // A value may be up to 16 KB and a key 512 bytes (same doc); the XML around them adds ~500 bytes.
  maxKvpItemLength: 64 * 1024,
  maxLabelValueLength: 128,
  // A VM with a dozen network adapters, each with an IPv4, a link-local and a global IPv6 address.
  maxGuestAddressesPerVm: 32,
});
