import { COMPONENT_NAMES, type ComponentName } from '../document/classes';
import type { Diagnostics } from '../document/diagnostics';
import { parseKvpItem, type KvpItem, type KvpParseResult } from '../document/kvp';
import { DEFAULT_LIMITS, type Limits } from '../document/limits';
import type { ComponentInstance, ParsedDocument, SettingInstance } from '../document/parse';
import { isGuid } from '../document/wire';
import { guestAddressesFrom } from './guestAddresses';
import type { ComponentModel, GuestInfo, HeartbeatSettings, HostModel, KvpPool, VmModel } from './hostModel';
import { exportedKvpItems, NO_KVP_EXPORT, type KvpExport } from './kvpExport';
import { toLabelText } from './labelText';
import { componentStatusFromCode, enabledFromSettingState, isMigrating, secondaryStatusFromCode, vmStateFromEnabledState } from './valueMaps';

export interface ModelOptions {
  readonly limits?: Limits;
  /** Which KVP items become series of their own (default: none). */
  readonly kvpExport?: KvpExport;
  /** For a Status document: the model of the last Full sample of the same VMs (see below). */
  readonly fullModel?: HostModel | null;
  /** How an embedded KVP item is read (default parseKvpItem; the sampler passes a KvpItemReader's read). */
  readonly readKvpItem?: (xml: string) => KvpParseResult;
}

interface Context {
  readonly diagnostics: Diagnostics;
  readonly limits: Limits;
  readonly kvpExport: KvpExport;
  /** When the sample was taken (Unix ms), to tell a backup time in the future; null when unknown. */
  readonly collectedAtMs: number | null;
  /** For a Status sample: the last Full sample's model, which the setting data and KVP items come from. */
  readonly full: ReadonlyMap<string, VmModel> | null;
  readonly readKvpItem: (xml: string) => KvpParseResult;
}

/** The instances that join one VM, by index in COMPONENT_NAMES. */
interface Slot {
  readonly devices: Array<ComponentInstance | undefined>;
  readonly settings: Array<SettingInstance | undefined>;
  taken: boolean;
}

const KVP_INDEX = COMPONENT_NAMES.indexOf('kvp_exchange');
const HEARTBEAT_INDEX = COMPONENT_NAMES.indexOf('heartbeat');
/** A backup time later than the sample by more than this is no backup time (clocks differ by seconds, not days). */
const BACKUP_TIME_SLACK_MS = 86_400_000;
const GUEST_INFO_KEYS = ['OSName', 'OSVersion', 'FullyQualifiedDomainName', 'IntegrationServicesVersion'];

/** The valid items of one KVP pool within the limits; what is left out is counted. Null: no pool. */
function readPool(raw: ReadonlyArray<string | null> | null | undefined, pool: KvpPool, context: Context): KvpItem[] | null {
  if (raw === null || raw === undefined) return null;
  const { limits, diagnostics } = context;
  if (raw.length > limits.maxKvpItemsPerPool) {
    diagnostics.drop('kvp_item_over_limit', `${pool} pool with ${raw.length} items`, raw.length - limits.maxKvpItemsPerPool);
  }
  const items: KvpItem[] = [];
  const end = Math.min(raw.length, limits.maxKvpItemsPerPool);
  for (let i = 0; i < end; i++) {
    const xml = raw[i];
    if (xml === null || xml === undefined) {
      diagnostics.drop('kvp_item_malformed', `${pool} item that is not a string`);
    } else if (xml.length > limits.maxKvpItemLength) {
      diagnostics.drop('kvp_item_too_large', `${pool} item of ${xml.length} characters`);
    } else {
      const result = context.readKvpItem(xml);
      if (result.ok) items.push(result.item);
      else diagnostics.drop('kvp_item_malformed', `${pool} item: ${result.error}`);
    }
  }
  return items;
}

function guestInfoFrom(items: readonly KvpItem[], context: Context): GuestInfo | null {
  const values = new Map<string, string>();
  for (const item of items) if (GUEST_INFO_KEYS.includes(item.name) && !values.has(item.name)) values.set(item.name, item.data);
  if (values.size === 0) return null;
  const label = (key: string): string => toLabelText(values.get(key) ?? '', context.limits.maxLabelValueLength, context.diagnostics, `guest ${key}`);
  return {
    osName: label('OSName'),
    osVersion: label('OSVersion'),
    fqdn: label('FullyQualifiedDomainName'),
    integrationServicesVersion: label('IntegrationServicesVersion'),
  };
}

function componentModel(name: ComponentName, device: ComponentInstance | undefined, setting: SettingInstance | undefined): ComponentModel {
  const status = device?.operationalStatus ?? null;
  const primary = status?.[0];
  const secondary = status?.[1];
  return {
    name,
    enabled: enabledFromSettingState(setting?.enabledState ?? null),
    present: device !== undefined,
    status: device === undefined ? null : primary === undefined ? 'unknown' : componentStatusFromCode(primary),
    secondaryStatus: secondary === undefined ? null : secondaryStatusFromCode(secondary),
  };
}

/**
 * Attaches each component and setting instance to its VM's slot. A second component instance of one
 * class for one VM is dropped as a duplicate (known VM or not); several setting data for one GUID are
 * expected for checkpoints, which share no GUID with a VM, and are not counted.
 */
function attachInstances(document: ParsedDocument, slots: Map<string, Slot>, diagnostics: Diagnostics): void {
  COMPONENT_NAMES.forEach((name, c) => {
    const unknown = new Set<string>();
    for (const device of document.components.get(name) ?? []) {
      const slot = slots.get(device.vmId);
      let duplicate: boolean;
      if (slot !== undefined) {
        duplicate = slot.devices[c] !== undefined;
        if (!duplicate) slot.devices[c] = device;
      } else {
        duplicate = unknown.has(device.vmId);
        unknown.add(device.vmId);
      }
      if (duplicate) diagnostics.drop('instance_duplicate', `${name} component twice for VM ${device.vmId}`);
    }
    for (const setting of document.settings.get(name) ?? []) {
      const slot = slots.get(setting.vmId);
      if (slot !== undefined && slot.settings[c] === undefined) slot.settings[c] = setting;
    }
  });
}

/** What a Status sample does not hold, as the last Full sample had it: what setting data and KVP items make. */
function fromFullSample(
  full: VmModel | undefined,
  components: readonly ComponentModel[],
): Pick<VmModel, 'components' | 'kvpItems' | 'guest' | 'heartbeatSettings' | 'guestAddresses' | 'exportedKvpItems'> {
  return {
    components: components.map((component, c) => ({ ...component, enabled: full?.components[c]?.enabled ?? null })),
    kvpItems: full?.kvpItems ?? {},
    guest: full?.guest ?? null,
    heartbeatSettings: full?.heartbeatSettings ?? null,
    guestAddresses: full?.guestAddresses ?? [],
    exportedKvpItems: full?.exportedKvpItems ?? [],
  };
}

function heartbeatSettingsOf(setting: SettingInstance | undefined): HeartbeatSettings | null {
  const seconds = (ms: number | null | undefined): number | null => (ms === null || ms === undefined ? null : ms / 1000);
  const settings = { intervalSeconds: seconds(setting?.interval), latencySeconds: seconds(setting?.latency), errorThreshold: setting?.errorThreshold ?? null };
  return settings.intervalSeconds === null && settings.latencySeconds === null && settings.errorThreshold === null ? null : settings;
}

/** LastSuccessfulBackupTime in Unix seconds: 0 for "never" (the CIM sentinel 1601-01-01, or anything before 1970). */
function lastBackupSeconds(system: ParsedDocument['computerSystems'][number], context: Context): number | null {
  const ms = system.lastSuccessfulBackupMs;
  if (ms === null) return null;
  if (ms <= 0) return 0;
  if (context.collectedAtMs !== null && ms > context.collectedAtMs + BACKUP_TIME_SLACK_MS) {
    context.diagnostics.drop('value_invalid', `LastSuccessfulBackupTime ${new Date(ms).toISOString()} after the sample (${new Date(context.collectedAtMs).toISOString()})`);
    return null;
  }
  return ms / 1000;
}

function vmModel(id: string, system: ParsedDocument['computerSystems'][number], slot: Slot, context: Context): VmModel {
  const components = COMPONENT_NAMES.map((name, c) => componentModel(name, slot.devices[c], slot.settings[c]));
  const base = {
    id,
    name: '',
    state: vmStateFromEnabledState(system.enabledState),
    uptimeSeconds: system.onTimeInMilliseconds === null ? null : system.onTimeInMilliseconds / 1000,
    lastBackupSeconds: lastBackupSeconds(system, context),
    migrating: isMigrating(system.operationalStatus),
  };
  if (context.full !== null) {
    return { ...base, ...fromFullSample(context.full.get(id), components), name: toLabelText(system.elementName, context.limits.maxLabelValueLength, context.diagnostics, 'VM name') };
  }
  const kvpDevice = slot.devices[KVP_INDEX];
  const kvpSetting = slot.settings[KVP_INDEX];
  const kvpItems: Partial<Record<KvpPool, number>> = {};
  const pools: Array<readonly [KvpPool, readonly KvpItem[] | null]> = [];
  let guest: GuestInfo | null = null;
  let guestAddresses: VmModel['guestAddresses'] = [];
  // A pool is counted (0 when unreadable) wherever its instance exists.
  if (kvpDevice !== undefined) {
    const intrinsic = readPool(kvpDevice.guestIntrinsicItems, 'guest_intrinsic', context);
    const guestPool = readPool(kvpDevice.guestItems, 'guest', context);
    guest = guestInfoFrom(intrinsic ?? [], context);
    guestAddresses = guestAddressesFrom(intrinsic ?? [], context.limits, context.diagnostics);
    kvpItems.guest_intrinsic = intrinsic?.length ?? 0;
    kvpItems.guest = guestPool?.length ?? 0;
    pools.push(['guest_intrinsic', intrinsic], ['guest', guestPool]);
  }
  if (kvpSetting !== undefined) {
    const host = readPool(kvpSetting.hostItems, 'host', context);
    const hostOnly = readPool(kvpSetting.hostOnlyItems, 'host_only', context);
    kvpItems.host = host?.length ?? 0;
    kvpItems.host_only = hostOnly?.length ?? 0;
    pools.push(['host', host], ['host_only', hostOnly]);
  }
  return {
    ...base,
    // After the KVP pools: the first example of each drop reason is the one it always was.
    name: toLabelText(system.elementName, context.limits.maxLabelValueLength, context.diagnostics, 'VM name'),
    components,
    kvpItems,
    guest,
    heartbeatSettings: heartbeatSettingsOf(slot.settings[HEARTBEAT_INDEX]),
    guestAddresses,
    exportedKvpItems: exportedKvpItems(pools, context.kvpExport, context.limits, context.diagnostics),
  };
}

/**
 * Joins a parsed document into the host model: VMs are the computer systems named by a GUID;
 * components join them by SystemName and setting data by the GUID in InstanceID, case-insensitively.
 * Setting data of checkpoints (GUIDs that match no VM) and components of unknown VMs are ignored; a
 * second computer system with a VM's GUID is dropped as a duplicate.
 *
 * A Status document holds no setting data and no KVP items: what comes from those (enabled, the KVP
 * item counts, guest info) is taken, per VM, from `fullModel`, the model of the last Full sample of
 * the same VMs (see vmSetOf). What reading them dropped was counted when that Full sample read them.
 */
export function buildHostModel(document: ParsedDocument, diagnostics: Diagnostics, options: ModelOptions = {}): HostModel {
  const fullModel = options.fullModel ?? null;
  const limits = options.limits ?? DEFAULT_LIMITS;
  if (document.scope === 'status' && fullModel === null) throw new Error('a Status document needs the model of the last Full sample');
  const full = document.scope === 'status' && fullModel !== null ? new Map(fullModel.vms.map((vm) => [vm.id, vm])) : null;
  const context: Context = { diagnostics, limits, kvpExport: options.kvpExport ?? NO_KVP_EXPORT, collectedAtMs: document.collectedAt?.getTime() ?? null, full, readKvpItem: options.readKvpItem ?? parseKvpItem };
  const slots = new Map<string, Slot>();
  for (const system of document.computerSystems) {
    if (isGuid(system.name)) slots.set(system.name.toLowerCase(), { devices: [], settings: [], taken: false });
  }
  attachInstances(document, slots, diagnostics);

  const vms: VmModel[] = [];
  for (const system of document.computerSystems) {
    const slot = isGuid(system.name) ? slots.get(system.name.toLowerCase()) : undefined;
    if (slot === undefined) continue;
    const id = system.name.toLowerCase();
    if (slot.taken) {
      diagnostics.drop('instance_duplicate', `Msvm_ComputerSystem twice for VM ${id}`);
      continue;
    }
    slot.taken = true;
    vms.push(vmModel(id, system, slot, context));
  }
  vms.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    hostName: toLabelText(document.computerName, limits.maxLabelValueLength, diagnostics, 'host name'),
    collectedAt: document.collectedAt,
    vms,
  };
}
