import { COMPONENT_NAMES, type ComponentName } from '../document/classes';
import { Diagnostics, type DropReason } from '../document/diagnostics';
import type { KvpItem, KvpItemCache, KvpParseResult } from '../document/kvp';
import { DEFAULT_LIMITS, type Limits } from '../document/limits';
import type { ComponentInstance, ComputerSystemInstance, ParsedDocument, SettingInstance } from '../document/parse';
import type { ComponentModel, GuestInfo, HostModel, KvpPool, VmModel } from './hostModel';
import { toLabelText } from './labelText';
import { componentStatusFromCode, enabledFromSettingState, secondaryStatusFromCode, vmStateFromEnabledState } from './valueMaps';

interface Context {
  readonly kvpCache: KvpItemCache;
  readonly diagnostics: Diagnostics;
  readonly limits: Limits;
}

interface Drop {
  readonly reason: DropReason;
  readonly example: string;
  readonly count: number;
}

/** One KVP pool of one VM as a sample had it: the raw items, what each parsed to, and what was dropped. */
interface PoolMemo {
  /** Null where the pool is over the limits: it is not kept, and read again at the next sample. */
  readonly raw: ReadonlyArray<string | null> | null;
  /** Per raw item within the limit: its parse result, or null where it was dropped before parsing. */
  readonly results: ReadonlyArray<KvpParseResult | null>;
  readonly items: readonly KvpItem[];
  readonly drops: readonly Drop[];
}

/** What a sample made of one VM; the next sample reuses each part whose inputs did not change. */
interface VmMemo {
  /** The component and setting instances joined to the VM (devices, then settings, by COMPONENT_NAMES index). */
  readonly joined: ReadonlyArray<ComponentInstance | SettingInstance | undefined>;
  /** Null when too long to keep. */
  readonly elementName: string | null;
  readonly name: string;
  readonly nameDrops: readonly Drop[];
  /** The values the components were made from (componentInputs). */
  readonly componentInputs: readonly number[];
  readonly components: readonly ComponentModel[];
  readonly intrinsicPool: PoolMemo | null;
  readonly guestPool: PoolMemo | null;
  readonly hostPool: PoolMemo | null;
  readonly hostOnlyPool: PoolMemo | null;
  readonly kvpItems: Readonly<Partial<Record<KvpPool, number>>>;
  readonly guestItems: readonly KvpItem[] | null;
  readonly guest: GuestInfo | null;
  readonly guestDrops: readonly Drop[];
}

/** What the last sample's document was made of, for the fast path (see buildHostModel). */
interface DocumentMemo {
  /** The instance arrays of each component and setting class, by COMPONENT_NAMES index. */
  readonly components: ReadonlyArray<readonly ComponentInstance[] | undefined>;
  readonly settings: ReadonlyArray<readonly SettingInstance[] | undefined>;
  /** Per computer system, in document order: its Name, its VM id (null: the host), and its VM (DUPLICATE: dropped). */
  readonly names: readonly string[];
  readonly ids: ReadonlyArray<string | null>;
  readonly positions: ReadonlyArray<VmMemo | typeof DUPLICATE | null>;
  /** What joining the instances to the VMs dropped. */
  readonly attachDrops: readonly Drop[];
  /** The order that sorts the VMs by id, as indexes into the VMs in document order. */
  readonly order: readonly number[];
}

const DUPLICATE = Symbol('a second computer system for a VM');

/**
 * Remembers, per VM, the model parts of the last sample. A VM whose name, components or KVP items did
 * not change gets the very same (frozen) objects again, which is what lets the collectors reuse their
 * rendering of it; what a reused part had dropped is counted again, so diagnostics are the same with
 * and without the memo. Only the VMs of the last sample are kept.
 */
export class HostModelMemo {
  /** @internal */
  vms = new Map<string, VmMemo>();
  /** @internal */
  limits: Limits | null = null;
  /** @internal */
  document: DocumentMemo | null = null;
  /** Whether the last build took the fast path (for tests and the bench). */
  lastFast = false;

  /** The number of VMs remembered. */
  get size(): number {
    return this.vms.size;
  }
}

/** Diagnostics that also keeps what was dropped, so that a reused result can count it again. */
class RecordingDiagnostics extends Diagnostics {
  readonly drops: Drop[] = [];

  constructor(private readonly target: Diagnostics) {
    super();
  }

  override drop(reason: DropReason, example: string, count = 1): void {
    this.drops.push({ reason, example, count });
    this.target.drop(reason, example, count);
  }
}

const NO_DROPS: readonly Drop[] = Object.freeze([]);
/** The joined instances of a VM that are not kept: equal to no join (a join has 12 places). */
const NOT_JOINED: readonly undefined[] = Object.freeze([]);
const NO_ITEMS: readonly KvpItem[] = Object.freeze([]);

function replay(drops: readonly Drop[], diagnostics: Diagnostics): void {
  for (const drop of drops) diagnostics.drop(drop.reason, drop.example, drop.count);
}

function dropsOf(recorder: RecordingDiagnostics): readonly Drop[] {
  return recorder.drops.length === 0 ? NO_DROPS : recorder.drops;
}

function sameArray<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// The same test as isGuid (wire.ts) without a regular expression: it runs for every computer system.
function isGuidText(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) {
      return false;
    }
  }
  return true;
}

/**
 * Reads one KVP pool within the limits. The same raw items as in the last sample give the same result
 * (its drops counted again); otherwise an item that is the same string as at the same place in the
 * last sample keeps its parse result, and the others go through the KVP item cache.
 */
function readPool(
  raw: ReadonlyArray<string | null> | null | undefined,
  pool: KvpPool,
  context: Context,
  previous: PoolMemo | null | undefined,
): PoolMemo | null {
  if (raw === null || raw === undefined) return null;
  if (previous != null && previous.raw !== null && sameArray(raw, previous.raw)) {
    replay(previous.drops, context.diagnostics);
    return previous;
  }
  const { limits, kvpCache } = context;
  const diagnostics = new RecordingDiagnostics(context.diagnostics);
  if (raw.length > limits.maxKvpItemsPerPool) {
    diagnostics.drop('kvp_item_over_limit', `${pool} pool with ${raw.length} items`, raw.length - limits.maxKvpItemsPerPool);
  }
  const items: KvpItem[] = [];
  const results: Array<KvpParseResult | null> = [];
  const previousRaw = previous?.raw;
  const previousResults = previous?.results;
  const end = Math.min(raw.length, limits.maxKvpItemsPerPool);
  for (let i = 0; i < end; i++) {
    const xml = raw[i];
    let result: KvpParseResult | null = null;
    if (xml === null || xml === undefined) {
      diagnostics.drop('kvp_item_malformed', `${pool} item that is not a string`);
    } else if (xml.length > limits.maxKvpItemLength) {
      diagnostics.drop('kvp_item_too_large', `${pool} item of ${xml.length} characters`);
    } else {
      result = (previousRaw?.[i] === xml ? previousResults?.[i] : undefined) ?? kvpCache.parse(xml);
      if (result.ok) items.push(result.item);
      else diagnostics.drop('kvp_item_malformed', `${pool} item: ${result.error}`);
    }
    results.push(result);
  }
  // The same items as before (some raw item changed but still parses to the same): keep the previous
  // list, so that the guest info made from it is reused too.
  const sameItems = previous != null && sameArray(items, previous.items);
  // A pool over the limits is not remembered: the memo never holds more than the KVP item cache may.
  const keep = raw.length <= limits.maxKvpItemsPerPool && raw.every((xml) => xml === null || xml.length <= limits.maxKvpItemLength);
  return { raw: keep ? raw : null, results, items: sameItems ? previous.items : items, drops: dropsOf(diagnostics) };
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
 * Everything componentModel reads, as numbers (-1 for absent): four per component. Equal inputs make
 * equal components, so they are compared instead of the components being made again.
 */
function componentInputs(slot: Slot, into: number[]): void {
  for (let c = 0; c < COMPONENT_NAMES.length; c++) {
    const device = slot.devices[c];
    const status = device?.operationalStatus ?? null;
    into[4 * c] = device === undefined ? 0 : 1;
    into[4 * c + 1] = status?.[0] ?? -1;
    into[4 * c + 2] = status?.[1] ?? -1;
    into[4 * c + 3] = slot.settings[c]?.enabledState ?? -1;
  }
}

/** The instances that join one VM, by index in COMPONENT_NAMES. */
interface Slot {
  readonly devices: Array<ComponentInstance | undefined>;
  readonly settings: Array<SettingInstance | undefined>;
  taken: boolean;
}

/**
 * Attaches each component and setting instance to its VM's slot. As each (class, VM) is indexed once,
 * a second component instance for one VM is dropped as a duplicate (known VM or not); several setting
 * data for one GUID are expected for checkpoints, which share no GUID with a VM, and are not counted.
 */
function attachInstances(document: ParsedDocument, slots: Map<string, Slot>, diagnostics: Diagnostics): void {
  COMPONENT_NAMES.forEach((name, c) => {
    let unknown: Set<string> | null = null;
    for (const device of document.components.get(name) ?? []) {
      const slot = slots.get(device.vmId);
      let duplicate: boolean;
      if (slot !== undefined) {
        duplicate = slot.devices[c] !== undefined;
        if (!duplicate) slot.devices[c] = device;
      } else {
        unknown ??= new Set();
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

function frozenCounts(
  guestIntrinsic: number | undefined,
  guest: number | undefined,
  host: number | undefined,
  hostOnly: number | undefined,
): Readonly<Partial<Record<KvpPool, number>>> {
  const counts: Partial<Record<KvpPool, number>> = {};
  if (guestIntrinsic !== undefined) counts.guest_intrinsic = guestIntrinsic;
  if (guest !== undefined) counts.guest = guest;
  if (host !== undefined) counts.host = host;
  if (hostOnly !== undefined) counts.host_only = hostOnly;
  return Object.freeze(counts);
}

/**
 * The steady state: every component and setting class is the very same (frozen) array as in the last
 * sample (ClassParseCache), and the computer systems name the same VMs in the same order. Then every
 * join, KVP pool and component is as it was; only names, states and uptimes are read again, and what
 * was dropped is counted again in the same order. Returns null where that does not hold.
 */
function buildFromMemo(document: ParsedDocument, memo: HostModelMemo, diagnostics: Diagnostics, limits: Limits): VmModel[] | null {
  const previous = memo.document;
  if (previous === null) return null;
  for (let c = 0; c < COMPONENT_NAMES.length; c++) {
    const name = COMPONENT_NAMES[c]!;
    if (document.components.get(name) !== previous.components[c] || document.settings.get(name) !== previous.settings[c]) return null;
  }
  const systems = document.computerSystems;
  if (systems.length !== previous.names.length) return null;
  for (let s = 0; s < systems.length; s++) if (systems[s]!.name !== previous.names[s]) return null;

  replay(previous.attachDrops, diagnostics);
  const positions: Array<VmMemo | typeof DUPLICATE | null> = [];
  const nextVms = new Map<string, VmMemo>();
  const inDocumentOrder: VmModel[] = [];
  for (let s = 0; s < systems.length; s++) {
    const system = systems[s]!;
    const id = previous.ids[s]!;
    let vm = previous.positions[s]!;
    if (vm === null || vm === DUPLICATE) {
      if (vm === DUPLICATE) diagnostics.drop('instance_duplicate', `Msvm_ComputerSystem twice for VM ${id}`);
      positions.push(vm);
      continue;
    }
    vm = reuseVm(vm, system, diagnostics, limits);
    positions.push(vm);
    nextVms.set(id, vm);
    inDocumentOrder.push(vmModel(id, system, vm));
  }
  memo.vms = nextVms;
  memo.document = { ...previous, positions };
  return previous.order.map((k) => inDocumentOrder[k]!);
}

/**
 * A VM whose joined instances are all the same as in the last sample: everything but its name is as
 * it was. Counts again what its parts dropped, in the order reading them would, and reads the name.
 */
function reuseVm(vm: VmMemo, system: ComputerSystemInstance, diagnostics: Diagnostics, limits: Limits): VmMemo {
  if (vm.intrinsicPool !== null) replay(vm.intrinsicPool.drops, diagnostics);
  if (vm.guestPool !== null) replay(vm.guestPool.drops, diagnostics);
  if (vm.guestItems !== null) replay(vm.guestDrops, diagnostics);
  if (vm.hostPool !== null) replay(vm.hostPool.drops, diagnostics);
  if (vm.hostOnlyPool !== null) replay(vm.hostOnlyPool.drops, diagnostics);
  if (vm.elementName !== null && vm.elementName === system.elementName) {
    replay(vm.nameDrops, diagnostics);
    return vm;
  }
  const recorder = new RecordingDiagnostics(diagnostics);
  const name = toLabelText(system.elementName, limits.maxLabelValueLength, recorder, 'VM name');
  return { ...vm, elementName: keptName(system.elementName, limits), name, nameDrops: dropsOf(recorder) };
}

function vmModel(id: string, system: ComputerSystemInstance, vm: VmMemo): VmModel {
  return {
    id,
    name: vm.name,
    state: vmStateFromEnabledState(system.enabledState),
    uptimeSeconds: system.onTimeInMilliseconds === null ? null : system.onTimeInMilliseconds / 1000,
    components: vm.components,
    kvpItems: vm.kvpItems,
    guest: vm.guest,
  };
}

/** A VM name that long is cut anyway; it is not kept to be compared. */
function keptName(elementName: string, limits: Limits): string | null {
  return elementName.length <= 2 * limits.maxLabelValueLength ? elementName : null;
}

/**
 * Joins a parsed document into the host model: VMs are the computer systems named by a GUID;
 * components join them by SystemName and setting data by the GUID in InstanceID, case-insensitively.
 * Setting data of checkpoints (GUIDs that match no VM) and components of unknown VMs are ignored.
 * With a `memo` (one per running exporter), the parts of a VM that did not change since the last
 * sample are reused; the model is the same with and without it.
 */
export function buildHostModel(
  document: ParsedDocument,
  kvpCache: KvpItemCache,
  diagnostics: Diagnostics,
  limits: Limits = DEFAULT_LIMITS,
  memo?: HostModelMemo,
): HostModel {
  const context: Context = { kvpCache, diagnostics, limits };
  kvpCache.startSample();
  // What the memo holds was computed within other limits: start afresh.
  if (memo !== undefined && memo.limits !== limits) {
    memo.vms = new Map();
    memo.document = null;
    memo.limits = limits;
  }
  if (memo !== undefined) {
    const fast = buildFromMemo(document, memo, diagnostics, limits);
    memo.lastFast = fast !== null;
    if (fast !== null) {
      return { hostName: toLabelText(document.computerName, limits.maxLabelValueLength, diagnostics, 'host name'), collectedAt: document.collectedAt, vms: fast };
    }
  }
  const previousVms = memo?.vms;
  const nextVms = new Map<string, VmMemo>();
  const positions: Array<VmMemo | typeof DUPLICATE | null> = [];

  // One slot per VM GUID, then every component and setting instance attached to its VM's slot.
  const systems = document.computerSystems;
  const ids: Array<string | null> = [];
  const slots = new Map<string, Slot>();
  for (const system of systems) {
    const id = isGuidText(system.name) ? system.name.toLowerCase() : null;
    ids.push(id);
    if (id !== null && !slots.has(id)) slots.set(id, { devices: [], settings: [], taken: false });
  }
  const attachRecorder = new RecordingDiagnostics(diagnostics);
  attachInstances(document, slots, attachRecorder);

  const inputs: number[] = [];
  const vms: VmModel[] = [];
  for (let s = 0; s < systems.length; s++) {
    const id = ids[s];
    if (id === null || id === undefined) {
      positions.push(null);
      continue;
    }
    const system = systems[s]!;
    const slot = slots.get(id)!;
    if (slot.taken) {
      diagnostics.drop('instance_duplicate', `Msvm_ComputerSystem twice for VM ${id}`);
      positions.push(DUPLICATE);
      continue;
    }
    slot.taken = true;
    const previous = previousVms?.get(id);
    const joined: Array<ComponentInstance | SettingInstance | undefined> = [];
    for (let c = 0; c < COMPONENT_NAMES.length; c++) joined.push(slot.devices[c]);
    for (let c = 0; c < COMPONENT_NAMES.length; c++) joined.push(slot.settings[c]);
    if (previous !== undefined && sameArray(joined, previous.joined)) {
      // The same instances as in the last sample: the same VM, but for its name, state and uptime.
      const vmMemo = reuseVm(previous, system, diagnostics, limits);
      nextVms.set(id, vmMemo);
      positions.push(vmMemo);
      vms.push(vmModel(id, system, vmMemo));
      continue;
    }

    componentInputs(slot, inputs);
    let components: readonly ComponentModel[];
    let usedInputs: readonly number[];
    if (previous !== undefined && sameArray(inputs, previous.componentInputs)) {
      components = previous.components;
      usedInputs = previous.componentInputs;
    } else {
      components = Object.freeze(COMPONENT_NAMES.map((name, c) => Object.freeze(componentModel(name, slot.devices[c], slot.settings[c]))));
      usedInputs = [...inputs];
    }

    const kvpDevice = slot.devices[COMPONENT_NAMES.indexOf('kvp_exchange')];
    const kvpSetting = slot.settings[COMPONENT_NAMES.indexOf('kvp_exchange')];
    let intrinsicPool: PoolMemo | null = null;
    let guestPool: PoolMemo | null = null;
    let hostPool: PoolMemo | null = null;
    let hostOnlyPool: PoolMemo | null = null;
    let guestItems: readonly KvpItem[] | null = null;
    let guest: GuestInfo | null = null;
    let guestDrops: readonly Drop[] = NO_DROPS;
    if (kvpDevice !== undefined) {
      intrinsicPool = readPool(kvpDevice.guestIntrinsicItems, 'guest_intrinsic', context, previous?.intrinsicPool);
      guestPool = readPool(kvpDevice.guestItems, 'guest', context, previous?.guestPool);
      guestItems = intrinsicPool?.items ?? NO_ITEMS;
      if (previous !== undefined && previous.guestItems === guestItems) {
        guest = previous.guest;
        guestDrops = previous.guestDrops;
        replay(guestDrops, diagnostics);
      } else {
        const recorder = new RecordingDiagnostics(diagnostics);
        guest = guestInfoFrom(guestItems, { ...context, diagnostics: recorder });
        if (guest !== null) Object.freeze(guest);
        guestDrops = dropsOf(recorder);
      }
    }
    if (kvpSetting !== undefined) {
      hostPool = readPool(kvpSetting.hostItems, 'host', context, previous?.hostPool);
      hostOnlyPool = readPool(kvpSetting.hostOnlyItems, 'host_only', context, previous?.hostOnlyPool);
    }
    // A pool is counted (0 when unreadable) wherever its instance exists.
    const guestIntrinsicCount = kvpDevice === undefined ? undefined : (intrinsicPool?.items.length ?? 0);
    const guestCount = kvpDevice === undefined ? undefined : (guestPool?.items.length ?? 0);
    const hostCount = kvpSetting === undefined ? undefined : (hostPool?.items.length ?? 0);
    const hostOnlyCount = kvpSetting === undefined ? undefined : (hostOnlyPool?.items.length ?? 0);
    const previousCounts = previous?.kvpItems;
    const kvpItems =
      previousCounts !== undefined &&
      previousCounts.guest_intrinsic === guestIntrinsicCount &&
      previousCounts.guest === guestCount &&
      previousCounts.host === hostCount &&
      previousCounts.host_only === hostOnlyCount
        ? previousCounts
        : frozenCounts(guestIntrinsicCount, guestCount, hostCount, hostOnlyCount);

    // After the KVP pools, as always: the first example of each drop reason stays the same.
    let name: string;
    let nameDrops: readonly Drop[];
    if (previous !== undefined && previous.elementName !== null && previous.elementName === system.elementName) {
      name = previous.name;
      nameDrops = previous.nameDrops;
      replay(nameDrops, diagnostics);
    } else {
      const recorder = new RecordingDiagnostics(diagnostics);
      name = toLabelText(system.elementName, limits.maxLabelValueLength, recorder, 'VM name');
      nameDrops = dropsOf(recorder);
    }

    const unchanged =
      previous !== undefined &&
      previous.elementName === system.elementName &&
      previous.joined !== NOT_JOINED &&
      sameArray(previous.joined, joined) &&
      previous.components === components &&
      previous.intrinsicPool === intrinsicPool &&
      previous.guestPool === guestPool &&
      previous.hostPool === hostPool &&
      previous.hostOnlyPool === hostOnlyPool &&
      previous.kvpItems === kvpItems &&
      previous.guestItems === guestItems &&
      previous.guest === guest;
    const vmMemo: VmMemo = unchanged
      ? previous
      : {
          // Kept only when they can come again: instances handed out again are frozen (ClassParseCache).
          joined: joined.every((instance) => instance === undefined || Object.isFrozen(instance)) ? joined : NOT_JOINED,
          elementName: keptName(system.elementName, limits),
          name,
          nameDrops,
          componentInputs: usedInputs,
          components,
          intrinsicPool,
          guestPool,
          hostPool,
          hostOnlyPool,
          kvpItems,
          guestItems,
          guest,
          guestDrops,
        };
    nextVms.set(id, vmMemo);
    positions.push(vmMemo);
    vms.push(vmModel(id, system, vmMemo));
  }
  const order = vms.map((_, k) => k).sort((a, b) => {
    const x = vms[a]!.id;
    const y = vms[b]!.id;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  if (memo !== undefined) {
    memo.vms = nextVms;
    // Only class arrays that can come again (frozen: ClassParseCache) are worth keeping for the fast path.
    const stable = COMPONENT_NAMES.every((name) => Object.isFrozen(document.components.get(name)) && Object.isFrozen(document.settings.get(name)));
    memo.document = !stable ? null : {
      components: COMPONENT_NAMES.map((name) => document.components.get(name)),
      settings: COMPONENT_NAMES.map((name) => document.settings.get(name)),
      names: systems.map((system) => system.name),
      ids,
      positions,
      attachDrops: dropsOf(attachRecorder),
      order,
    };
  }

  return {
    hostName: toLabelText(document.computerName, limits.maxLabelValueLength, diagnostics, 'host name'),
    collectedAt: document.collectedAt,
    vms: order.map((k) => vms[k]!),
  };
}
