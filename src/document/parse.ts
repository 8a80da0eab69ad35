import { SampleError, type RawSample, type SampleScope } from '../contract/sample';
import { COMPONENT_CLASSES, COMPUTER_SYSTEM_CLASS, SCHEMA_VERSION, type ComponentName } from './classes';
import { type Diagnostics, preview } from './diagnostics';
import { DEFAULT_LIMITS, type Limits } from './limits';
import { isGuid, isRecord, readArray, readDateTime, readString, readStringArray, readTimestamp, readUnsigned, readUnsignedArray } from './wire';

const HEARTBEAT_GUID = COMPONENT_CLASSES.find((c) => c.component === 'heartbeat')!.guid;

/** One Msvm_ComputerSystem: the host (Name is its computer name) or a VM (Name is its GUID). */
export interface ComputerSystemInstance {
  readonly name: string;
  readonly elementName: string;
  readonly enabledState: number | null;
  readonly healthState: number | null;
  readonly operationalStatus: readonly number[] | null;
  readonly onTimeInMilliseconds: number | null;
  /** LastSuccessfulBackupTime in Unix milliseconds (1601-01-01, "never", is negative); null when absent or unreadable. */
  readonly lastSuccessfulBackupMs: number | null;
}

/** One integration-component device; it exists only while its VM runs or is paused. */
export interface ComponentInstance {
  /** Lower-case VM GUID from SystemName. */
  readonly vmId: string;
  readonly enabledState: number | null;
  readonly operationalStatus: readonly number[] | null;
  /** KVP component only: raw embedded instances, null entries where an element was not a string. */
  readonly guestIntrinsicItems?: ReadonlyArray<string | null> | null;
  readonly guestItems?: ReadonlyArray<string | null> | null;
}

/** One integration-component setting data; it exists whatever the VM's state (and for checkpoints). */
export interface SettingInstance {
  /** Lower-case GUID of the VM (or checkpoint) from InstanceID. */
  readonly vmId: string;
  readonly enabledState: number | null;
  /** Heartbeat setting data only: milliseconds between pings, before a ping counts as dropped, and dropped pings before the guest counts as lost. */
  readonly interval?: number | null;
  readonly latency?: number | null;
  readonly errorThreshold?: number | null;
  readonly hostItems?: ReadonlyArray<string | null> | null;
  readonly hostOnlyItems?: ReadonlyArray<string | null> | null;
}

export interface ParsedDocument {
  /** What the source wrote: `status` documents are completed from the last Full one before parsing. */
  readonly scope: SampleScope;
  readonly computerName: string;
  readonly collectedAt: Date | null;
  readonly computerSystems: readonly ComputerSystemInstance[];
  readonly components: ReadonlyMap<ComponentName, readonly ComponentInstance[]>;
  readonly settings: ReadonlyMap<ComponentName, readonly SettingInstance[]>;
}

function invalid(message: string): SampleError {
  return new SampleError('invalid_document', message);
}

/** JSON text or an already-built value → the document value, with the size bound applied to text. */
export function decodeRawSample(raw: RawSample, limits: Limits = DEFAULT_LIMITS): unknown {
  if (!('text' in raw)) return raw.document;
  const text = raw.text;
  if (text.length > limits.maxDocumentBytes) throw invalid(`sample document is larger than ${limits.maxDocumentBytes} bytes`);
  const withoutMark = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (withoutMark.trim() === '') throw invalid('sample document is empty');
  try {
    return JSON.parse(withoutMark) as unknown;
  } catch (error) {
    throw invalid(`sample document is not JSON: ${(error as Error).message}`);
  }
}

function instancesOf(
  classes: Record<string, unknown>,
  className: string,
  limits: Limits,
  diagnostics: Diagnostics,
): Array<Record<string, unknown>> {
  const value = classes[className];
  if (value === undefined || value === null) return [];
  const items = readArray(value);
  if (items === null) return [];
  if (items.length > limits.maxInstancesPerClass) {
    diagnostics.drop('instance_over_limit', `${className}: ${items.length} instances`, items.length - limits.maxInstancesPerClass);
  }
  const records: Array<Record<string, unknown>> = [];
  const end = Math.min(items.length, limits.maxInstancesPerClass);
  for (let i = 0; i < end; i++) {
    const item = items[i];
    if (isRecord(item)) records.push(item);
    else diagnostics.drop('instance_malformed', `${className}[${i}] is not an object`);
  }
  return records;
}

/**
 * Which computer systems to read: all but the VMs (named by a GUID) beyond maxVmsPerHost, which are
 * dropped and counted. Those with the lowest GUIDs are read, whatever order the host listed them in.
 */
function vmsWithinLimit(records: ReadonlyArray<Record<string, unknown>>, limits: Limits, diagnostics: Diagnostics): (index: number) => boolean {
  const maxVms = limits.maxVmsPerHost;
  const ids = records.map((record) => {
    const name = readString(record['Name']);
    return name !== null && isGuid(name) ? name.toLowerCase() : null;
  });
  const vms: number[] = [];
  ids.forEach((id, i) => {
    if (id !== null) vms.push(i);
  });
  if (vms.length <= maxVms) return () => true;
  diagnostics.drop('vm_over_limit', `${COMPUTER_SYSTEM_CLASS}: ${vms.length} VMs, the ${maxVms} with the lowest GUIDs read`, vms.length - maxVms);
  const byId = (a: number, b: number): number => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : a - b);
  const read = new Set(vms.sort(byId).slice(0, maxVms));
  return (i) => ids[i] === null || read.has(i);
}

function parseComputerSystem(record: Record<string, unknown>, diagnostics: Diagnostics): ComputerSystemInstance | null {
  const name = readString(record['Name']);
  if (name === null || name === '') {
    diagnostics.drop('instance_malformed', `${COMPUTER_SYSTEM_CLASS} without a Name`);
    return null;
  }
  const backup = record['LastSuccessfulBackupTime'];
  const lastSuccessfulBackupMs = readDateTime(backup);
  if (lastSuccessfulBackupMs === null && backup !== undefined && backup !== null) {
    diagnostics.drop('value_invalid', `LastSuccessfulBackupTime ${preview(backup)} of ${preview(name)}`);
  }
  return {
    name,
    elementName: readString(record['ElementName']) ?? '',
    enabledState: readUnsigned(record['EnabledState']),
    healthState: readUnsigned(record['HealthState']),
    operationalStatus: readUnsignedArray(record['OperationalStatus']),
    onTimeInMilliseconds: readUnsigned(record['OnTimeInMilliseconds']),
    lastSuccessfulBackupMs,
  };
}

function parseComponent(
  record: Record<string, unknown>,
  className: string,
  isKvp: boolean,
  diagnostics: Diagnostics,
): ComponentInstance | null {
  const systemName = readString(record['SystemName']);
  if (systemName === null || !isGuid(systemName)) {
    diagnostics.drop('instance_malformed', `${className} with SystemName ${preview(record['SystemName'])}`);
    return null;
  }
  const base = {
    vmId: systemName.toLowerCase(),
    enabledState: readUnsigned(record['EnabledState']),
    operationalStatus: readUnsignedArray(record['OperationalStatus']),
  };
  if (!isKvp) return base;
  return {
    ...base,
    guestIntrinsicItems: readStringArray(record['GuestIntrinsicExchangeItems']),
    guestItems: readStringArray(record['GuestExchangeItems']),
  };
}

// Microsoft:<VM GUID>\<component GUID> (wmi.md §4, §6); the component GUID must be the class's own.
const SETTING_INSTANCE_ID = /^Microsoft:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

function parseSetting(
  record: Record<string, unknown>,
  className: string,
  componentGuid: string,
  isKvp: boolean,
  diagnostics: Diagnostics,
): SettingInstance | null {
  const instanceId = readString(record['InstanceID']);
  const match = instanceId === null ? null : SETTING_INSTANCE_ID.exec(instanceId);
  if (match?.[1] === undefined || match[2]?.toLowerCase() !== componentGuid) {
    diagnostics.drop('instance_malformed', `${className} with InstanceID ${preview(record['InstanceID'])}`);
    return null;
  }
  const base = { vmId: match[1].toLowerCase(), enabledState: readUnsigned(record['EnabledState']) };
  if (componentGuid === HEARTBEAT_GUID) {
    return { ...base, interval: readUnsigned(record['Interval']), latency: readUnsigned(record['Latency']), errorThreshold: readUnsigned(record['ErrorThreshold']) };
  }
  if (!isKvp) return base;
  return {
    ...base,
    hostItems: readStringArray(record['HostExchangeItems']),
    hostOnlyItems: readStringArray(record['HostOnlyItems']),
  };
}

/** The document's `scope`: absent means a Full document (replay files, the simulator, older recordings). */
export function scopeOf(document: Record<string, unknown>): SampleScope {
  const scope = document['scope'];
  if (scope === undefined || scope === null || scope === 'full') return 'full';
  if (scope === 'status') return 'status';
  throw invalid(`unknown scope ${preview(scope)} (expected "full" or "status")`);
}

/**
 * Validates a sample document and projects it to typed instances. A document that is not a sample
 * document at all throws SampleError('invalid_document'); a malformed instance is dropped and recorded
 * in `diagnostics`; unknown classes and properties are ignored.
 */
export function parseDocument(value: unknown, diagnostics: Diagnostics, limits: Limits = DEFAULT_LIMITS): ParsedDocument {
  if (!isRecord(value)) throw invalid('sample document is not a JSON object');
  const schemaVersion = value['schemaVersion'];
  if (schemaVersion !== SCHEMA_VERSION) {
    throw invalid(`unsupported schemaVersion ${JSON.stringify(schemaVersion)} (this exporter reads ${SCHEMA_VERSION})`);
  }
  const classes = value['classes'];
  if (!isRecord(classes)) throw invalid('sample document has no "classes" object');
  if (readArray(classes[COMPUTER_SYSTEM_CLASS]) === null) {
    throw invalid(`sample document has no ${COMPUTER_SYSTEM_CLASS} instances (not even the host)`);
  }

  const computerSystems: ComputerSystemInstance[] = [];
  const records = instancesOf(classes, COMPUTER_SYSTEM_CLASS, limits, diagnostics);
  const kept = vmsWithinLimit(records, limits, diagnostics);
  records.forEach((record, i) => {
    if (!kept(i)) return;
    const instance = parseComputerSystem(record, diagnostics);
    if (instance !== null) computerSystems.push(instance);
  });

  const components = new Map<ComponentName, ComponentInstance[]>();
  const settings = new Map<ComponentName, SettingInstance[]>();
  for (const componentClass of COMPONENT_CLASSES) {
    const isKvp = componentClass.component === 'kvp_exchange';
    const devices: ComponentInstance[] = [];
    for (const record of instancesOf(classes, componentClass.deviceClass, limits, diagnostics)) {
      const instance = parseComponent(record, componentClass.deviceClass, isKvp, diagnostics);
      if (instance !== null) devices.push(instance);
    }
    components.set(componentClass.component, devices);

    const settingData: SettingInstance[] = [];
    for (const record of instancesOf(classes, componentClass.settingClass, limits, diagnostics)) {
      const instance = parseSetting(record, componentClass.settingClass, componentClass.guid, isKvp, diagnostics);
      if (instance !== null) settingData.push(instance);
    }
    settings.set(componentClass.component, settingData);
  }

  const host = computerSystems.find((system) => !isGuid(system.name));
  const computerName = readString(value['computerName']) ?? host?.name ?? '';
  return {
    scope: scopeOf(value),
    computerName,
    collectedAt: readTimestamp(value['collectedAt']),
    computerSystems,
    components,
    settings,
  };
}
