import { CLASSES, COMPONENTS, COMPUTER_SYSTEM, HEARTBEAT, KVP_EXCHANGE, type CimClass, type ComponentClasses, type ComponentName } from '../document/classes';
import type { Diagnostics } from '../document/diagnostics';
import { parseKvpItem, type KvpItem, type KvpParseResult } from '../document/kvp';
import { DEFAULT_LIMITS, type Limits } from '../document/limits';
import { instancesOf, type Instance, type ParsedDocument } from '../document/parse';
import { guestAddressesFrom } from './guestAddresses';
import type { ComponentModel, GuestInfo, HeartbeatSettings, HostModel, KvpPool, VmModel } from './hostModel';
import { exportedKvpItems, NO_KVP_EXPORT, type KvpExport } from './kvpExport';
import { toLabelText } from './labelText';
import { componentStatusFromCode, enabledFromSettingState, isMigrating, secondaryStatusFromCode, vmStateFromEnabledState } from './valueMaps';

export interface ModelOptions {
  readonly limits?: Limits;
  /** Which KVP items become series of their own (default: none). */
  readonly kvpExport?: KvpExport;
  /** For a Status document: the model of the last Full sample of the same VMs, which it is merged into (mergeStatus). */
  readonly fullModel?: HostModel | null;
  /** How an embedded KVP item is read (default parseKvpItem; the sample step passes one that reuses the last Full sample's parses). */
  readonly readKvpItem?: (xml: string) => KvpParseResult;
}

interface Context {
  readonly diagnostics: Diagnostics;
  readonly limits: Limits;
  readonly kvpExport: KvpExport;
  /** When the sample was taken (Unix ms), to tell a backup time in the future; null when unknown. */
  readonly collectedAtMs: number | null;
  readonly readKvpItem: (xml: string) => KvpParseResult;
  /** False for a Status document: its KVP items, if it has any, are not read (they come from the last Full sample). */
  readonly readsKvp: boolean;
}

type System = Instance<typeof COMPUTER_SYSTEM>;
type Device = Instance<ComponentClasses['device']>;
type Setting = Instance<ComponentClasses['setting']>;

/** The instance of a class that names the VM (the first one), if any. */
type Find = <C extends CimClass>(cimClass: C, vmId: string) => Instance<C> | undefined;

/**
 * Instances by the VM they name, the first of each; a second one is counted as a duplicate where
 * `duplicate` names what it is.
 */
function byVm(instances: readonly Instance[], diagnostics: Diagnostics, duplicate?: string): Map<string, Instance> {
  const found = new Map<string, Instance>();
  for (const instance of instances) {
    if (instance.vmId === null) continue;
    if (!found.has(instance.vmId)) found.set(instance.vmId, instance);
    else if (duplicate !== undefined) diagnostics.drop('instance_duplicate', `${duplicate} twice for VM ${instance.vmId}`);
  }
  return found;
}

/**
 * The document joined by VM GUID, class by class: computer systems by Name, devices by SystemName,
 * setting data by the GUID in their InstanceID (those of checkpoints name no VM and are never looked
 * up, nor are devices of unknown VMs). A second computer system or device naming a VM is dropped as a
 * duplicate; several setting data for one GUID are expected (checkpoints) and not counted.
 */
function join(document: ParsedDocument, diagnostics: Diagnostics): { readonly vmIds: readonly string[]; readonly find: Find } {
  const byClass = new Map(CLASSES.map((c) => [c.name, byVm(instancesOf(document, c), diagnostics, c.key === 'InstanceID' ? undefined : c.name)]));
  return {
    vmIds: [...(byClass.get(COMPUTER_SYSTEM.name)?.keys() ?? [])],
    find: <C extends CimClass>(cimClass: C, vmId: string) => byClass.get(cimClass.name)?.get(vmId) as Instance<C> | undefined,
  };
}

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
  for (const xml of raw.slice(0, limits.maxKvpItemsPerPool)) {
    if (xml === null) {
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

/** What the KVP pools make of a VM. A pool is counted (0 when unreadable) wherever its instance exists. */
function kvpOf(
  device: Instance<typeof KVP_EXCHANGE.device> | undefined,
  setting: Instance<typeof KVP_EXCHANGE.setting> | undefined,
  context: Context,
): Pick<VmModel, 'kvpItems' | 'guest' | 'guestAddresses' | 'exportedKvpItems'> {
  if (!context.readsKvp) return { kvpItems: {}, guest: null, guestAddresses: [], exportedKvpItems: [] };
  const pools: Array<readonly [KvpPool, KvpItem[] | null]> = [];
  if (device !== undefined) pools.push(['guest_intrinsic', readPool(device.GuestIntrinsicExchangeItems, 'guest_intrinsic', context)], ['guest', readPool(device.GuestExchangeItems, 'guest', context)]);
  if (setting !== undefined) pools.push(['host', readPool(setting.HostExchangeItems, 'host', context)], ['host_only', readPool(setting.HostOnlyItems, 'host_only', context)]);
  const intrinsic = device === undefined ? null : (pools[0]?.[1] ?? []);
  return {
    kvpItems: Object.fromEntries(pools.map(([pool, items]) => [pool, items?.length ?? 0])),
    guest: intrinsic === null ? null : guestInfoFrom(intrinsic, context),
    guestAddresses: intrinsic === null ? [] : guestAddressesFrom(intrinsic, context.limits, context.diagnostics),
    exportedKvpItems: exportedKvpItems(pools, context.kvpExport, context.limits, context.diagnostics),
  };
}

function componentModel(name: ComponentName, device: Device | undefined, setting: Setting | undefined): ComponentModel {
  const status = device?.OperationalStatus ?? null;
  const primary = status?.[0];
  const secondary = status?.[1];
  return {
    name,
    enabled: enabledFromSettingState(setting?.EnabledState ?? null),
    present: device !== undefined,
    status: device === undefined ? null : primary === undefined ? 'unknown' : componentStatusFromCode(primary),
    secondaryStatus: secondary === undefined ? null : secondaryStatusFromCode(secondary),
  };
}

function heartbeatSettingsOf(setting: Instance<typeof HEARTBEAT.setting> | undefined): HeartbeatSettings | null {
  const seconds = (ms: number | null | undefined): number | null => (ms === null || ms === undefined ? null : ms / 1000);
  const settings = { intervalSeconds: seconds(setting?.Interval), latencySeconds: seconds(setting?.Latency), errorThreshold: setting?.ErrorThreshold ?? null };
  return settings.intervalSeconds === null && settings.latencySeconds === null && settings.errorThreshold === null ? null : settings;
}

/** LastSuccessfulBackupTime in Unix seconds: 0 for "never" (the CIM sentinel 1601-01-01, or anything before 1970). */
function lastBackupSeconds(system: System, context: Context): number | null {
  const ms = system.LastSuccessfulBackupTime ?? null;
  if (ms === null) return null;
  if (ms <= 0) return 0;
  if (context.collectedAtMs !== null && ms > context.collectedAtMs + BACKUP_TIME_SLACK_MS) {
    context.diagnostics.drop('value_invalid', `LastSuccessfulBackupTime ${new Date(ms).toISOString()} after the sample (${new Date(context.collectedAtMs).toISOString()})`);
    return null;
  }
  return ms / 1000;
}

function vmModel(id: string, find: Find, context: Context): VmModel {
  const system = find(COMPUTER_SYSTEM, id) as System;
  return {
    id,
    name: toLabelText(system.ElementName ?? '', context.limits.maxLabelValueLength, context.diagnostics, 'VM name'),
    state: vmStateFromEnabledState(system.EnabledState ?? null),
    uptimeSeconds: system.OnTimeInMilliseconds === null || system.OnTimeInMilliseconds === undefined ? null : system.OnTimeInMilliseconds / 1000,
    lastBackupSeconds: lastBackupSeconds(system, context),
    migrating: isMigrating(system.OperationalStatus ?? null),
    // Each component by its name, from its own device and setting-data classes.
    components: COMPONENTS.map((c) => componentModel(c.component, find(c.device, id), find(c.setting, id))),
    heartbeatSettings: heartbeatSettingsOf(find(HEARTBEAT.setting, id)),
    ...kvpOf(find(KVP_EXCHANGE.device, id), find(KVP_EXCHANGE.setting, id), context),
  };
}

/**
 * A Status sample's model merged into the last Full sample's: a Status document holds no setting data
 * and no KVP items, so what those make (whether each component is enabled, the KVP counts, guest info
 * and addresses, heartbeat settings, exported KVP items) is the same VM's in the Full model; a VM the
 * Full model lacks has none of it. The sampler takes a Full sample instead when the VMs changed.
 */
export function mergeStatus(status: HostModel, full: HostModel): HostModel {
  const before = new Map(full.vms.map((vm) => [vm.id, vm]));
  const merged = (vm: VmModel, last: VmModel | undefined): VmModel => ({
    ...vm,
    components: vm.components.map((component) => ({ ...component, enabled: last?.components.find((c) => c.name === component.name)?.enabled ?? null })),
    kvpItems: last?.kvpItems ?? {},
    guest: last?.guest ?? null,
    heartbeatSettings: last?.heartbeatSettings ?? null,
    guestAddresses: last?.guestAddresses ?? [],
    exportedKvpItems: last?.exportedKvpItems ?? [],
  });
  return { ...status, vms: status.vms.map((vm) => merged(vm, before.get(vm.id))) };
}

/**
 * A parsed document → the host model. VMs are the computer systems named by a GUID; every other
 * instance joins its VM by the GUID it names (see join). A Status document is then
 * merged into `fullModel`, the last Full sample's model of the same VMs (mergeStatus; the sampler takes a Full sample when the VMs differ);
 * its KVP items, if it has any, are not read.
 */
export function buildHostModel(document: ParsedDocument, diagnostics: Diagnostics, options: ModelOptions = {}): HostModel {
  const lastFull = document.scope === 'status' ? (options.fullModel ?? null) : null;
  if (document.scope === 'status' && lastFull === null) throw new Error('a Status document needs the model of the last Full sample');
  const limits = options.limits ?? DEFAULT_LIMITS;
  const context: Context = {
    diagnostics,
    limits,
    kvpExport: options.kvpExport ?? NO_KVP_EXPORT,
    collectedAtMs: document.collectedAt?.getTime() ?? null,
    readKvpItem: options.readKvpItem ?? parseKvpItem,
    readsKvp: lastFull === null,
  };
  const { vmIds, find } = join(document, diagnostics);
  const model: HostModel = {
    hostName: toLabelText(document.computerName, limits.maxLabelValueLength, diagnostics, 'host name'),
    collectedAt: document.collectedAt,
    vms: vmIds.map((id) => vmModel(id, find, context)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  };
  return lastFull === null ? model : mergeStatus(model, lastFull);
}
