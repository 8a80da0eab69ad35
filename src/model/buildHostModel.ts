import { COMPONENT_NAMES, type ComponentName } from '../document/classes';
import type { Diagnostics } from '../document/diagnostics';
import type { KvpItem, KvpItemCache } from '../document/kvp';
import { DEFAULT_LIMITS, type Limits } from '../document/limits';
import type { ComponentInstance, ParsedDocument, SettingInstance } from '../document/parse';
import { isGuid } from '../document/wire';
import type { ComponentModel, GuestInfo, HostModel, KvpPool, VmModel } from './hostModel';
import { toLabelText } from './labelText';
import { componentStatusFromCode, enabledFromSettingState, secondaryStatusFromCode, vmStateFromEnabledState } from './valueMaps';

interface Context {
  readonly kvpCache: KvpItemCache;
  readonly diagnostics: Diagnostics;
  readonly limits: Limits;
}

/** Indexes instances by VM GUID; a second instance for the same VM is dropped as a duplicate. */
function byVm<T extends { vmId: string }>(instances: readonly T[], what: string, diagnostics: Diagnostics | null): Map<string, T> {
  const index = new Map<string, T>();
  for (const instance of instances) {
    if (!index.has(instance.vmId)) index.set(instance.vmId, instance);
    else diagnostics?.drop('instance_duplicate', `${what} twice for VM ${instance.vmId}`);
  }
  return index;
}

/** Reads one KVP pool within the limits; returns the valid items. */
function readPool(raw: ReadonlyArray<string | null> | null | undefined, pool: KvpPool, context: Context): KvpItem[] {
  if (raw === null || raw === undefined) return [];
  const { limits, diagnostics, kvpCache } = context;
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
      const result = kvpCache.parse(xml);
      if (result.ok) items.push(result.item);
      else diagnostics.drop('kvp_item_malformed', `${pool} item: ${result.error}`);
    }
  }
  return items;
}

function guestInfoFrom(items: readonly KvpItem[], context: Context): GuestInfo | null {
  const wanted = ['OSName', 'OSVersion', 'FullyQualifiedDomainName', 'IntegrationServicesVersion'];
  const values = new Map<string, string>();
  for (const item of items) if (wanted.includes(item.name) && !values.has(item.name)) values.set(item.name, item.data);
  if (values.size === 0) return null;
  const label = (key: string): string =>
    toLabelText(values.get(key) ?? '', context.limits.maxLabelValueLength, context.diagnostics, `guest ${key}`);
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
 * Joins a parsed document into the host model: VMs are the computer systems named by a GUID;
 * components join them by SystemName and setting data by the GUID in InstanceID, case-insensitively.
 * Setting data of checkpoints (GUIDs that match no VM) and components of unknown VMs are ignored.
 */
export function buildHostModel(
  document: ParsedDocument,
  kvpCache: KvpItemCache,
  diagnostics: Diagnostics,
  limits: Limits = DEFAULT_LIMITS,
): HostModel {
  const context: Context = { kvpCache, diagnostics, limits };
  kvpCache.startSample();

  const devices = new Map<ComponentName, Map<string, ComponentInstance>>();
  const settings = new Map<ComponentName, Map<string, SettingInstance>>();
  for (const name of COMPONENT_NAMES) {
    devices.set(name, byVm(document.components.get(name) ?? [], `${name} component`, diagnostics));
    // Several setting data per GUID are expected only for checkpoints, which share no GUID with a VM.
    settings.set(name, byVm(document.settings.get(name) ?? [], `${name} setting data`, null));
  }

  const vms: VmModel[] = [];
  const seen = new Set<string>();
  for (const system of document.computerSystems) {
    if (!isGuid(system.name)) continue;
    const id = system.name.toLowerCase();
    if (seen.has(id)) {
      diagnostics.drop('instance_duplicate', `Msvm_ComputerSystem twice for VM ${id}`);
      continue;
    }
    seen.add(id);

    const components = COMPONENT_NAMES.map((name) => componentModel(name, devices.get(name)?.get(id), settings.get(name)?.get(id)));
    const kvpDevice = devices.get('kvp_exchange')?.get(id);
    const kvpSetting = settings.get('kvp_exchange')?.get(id);
    const kvpItems: Partial<Record<KvpPool, number>> = {};
    let guest: GuestInfo | null = null;
    if (kvpDevice !== undefined) {
      const intrinsic = readPool(kvpDevice.guestIntrinsicItems, 'guest_intrinsic', context);
      kvpItems.guest_intrinsic = intrinsic.length;
      kvpItems.guest = readPool(kvpDevice.guestItems, 'guest', context).length;
      guest = guestInfoFrom(intrinsic, context);
    }
    if (kvpSetting !== undefined) {
      kvpItems.host = readPool(kvpSetting.hostItems, 'host', context).length;
      kvpItems.host_only = readPool(kvpSetting.hostOnlyItems, 'host_only', context).length;
    }

    vms.push({
      id,
      name: toLabelText(system.elementName, limits.maxLabelValueLength, diagnostics, 'VM name'),
      state: vmStateFromEnabledState(system.enabledState),
      uptimeSeconds: system.onTimeInMilliseconds === null ? null : system.onTimeInMilliseconds / 1000,
      components,
      kvpItems,
      guest,
    });
  }
  vms.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  return {
    hostName: toLabelText(document.computerName, limits.maxLabelValueLength, diagnostics, 'host name'),
    collectedAt: document.collectedAt,
    vms,
  };
}
