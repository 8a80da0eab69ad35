import type { ComponentName } from '../document/classes';
import type { ComponentStatus, SecondaryStatus, VmState } from './valueMaps';

export interface ComponentModel {
  readonly name: ComponentName;
  /** From setting data, so known for every VM; null when the VM has no setting data for it. */
  readonly enabled: boolean | null;
  /** Whether the component device exists: only while the VM runs or is paused. */
  readonly present: boolean;
  /** OperationalStatus[0] of a present component; null when absent or unreadable. */
  readonly status: ComponentStatus | null;
  /** OperationalStatus[1] where the component reports one. */
  readonly secondaryStatus: SecondaryStatus | null;
}

export const KVP_POOLS = ['guest_intrinsic', 'guest', 'host', 'host_only'] as const;
export type KvpPool = (typeof KVP_POOLS)[number];

export interface GuestInfo {
  readonly osName: string;
  readonly osVersion: string;
  readonly fqdn: string;
  readonly integrationServicesVersion: string;
}

/** How the host watches the guest's heartbeat (Msvm_HeartbeatComponentSettingData); null where the host leaves it out. */
export interface HeartbeatSettings {
  /** Time between two heartbeat pings. */
  readonly intervalSeconds: number | null;
  /** Time after which a ping without an answer counts as dropped. */
  readonly latencySeconds: number | null;
  /** Dropped pings in a row after which the guest counts as lost. */
  readonly errorThreshold: number | null;
}

/** An address the guest reports for itself (intrinsic KVP NetworkAddressIPv4/IPv6): checked, never loopback. */
export interface GuestAddress {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
}

/** A KVP item whose name --kvp.export-keys allows, with its key and value made safe as labels. */
export interface ExportedKvpItem {
  readonly pool: KvpPool;
  readonly key: string;
  readonly value: string;
}

export interface VmModel {
  /** Lower-case VM GUID: the identity. */
  readonly id: string;
  /** Display name (ElementName): not unique, sanitized and length-capped. */
  readonly name: string;
  readonly state: VmState;
  readonly uptimeSeconds: number | null;
  /** One entry per component, in COMPONENT_NAMES order. */
  readonly components: readonly ComponentModel[];
  /** Item counts per pool; a pool is absent where it is not known (guest pools of a VM not running). */
  readonly kvpItems: Readonly<Partial<Record<KvpPool, number>>>;
  /** From the guest intrinsic KVP pool; null when the VM reports none. */
  readonly guest: GuestInfo | null;
  /** From the heartbeat setting data; null where it has none of the three values. */
  readonly heartbeatSettings: HeartbeatSettings | null;
  /** Unix time of the last successful backup; 0: never; null: not reported (or unreadable). */
  readonly lastBackupSeconds: number | null;
  /** Msvm_ComputerSystem.OperationalStatus holds 32774 (Migrating): a live migration is under way. */
  readonly migrating: boolean;
  /** The guest's own addresses, IPv4 first, in the order it reports them. */
  readonly guestAddresses: readonly GuestAddress[];
  /** The allow-listed KVP items, by pool. */
  readonly exportedKvpItems: readonly ExportedKvpItem[];
}

export interface HostModel {
  readonly hostName: string;
  readonly collectedAt: Date | null;
  /** Sorted by id so output is deterministic. */
  readonly vms: readonly VmModel[];
}
