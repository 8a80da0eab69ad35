import { z } from 'zod';
import { cimDatetime, guid, instanceIdOf, kvpPool, lenient, uint, uint16Array } from './wire';

/**
 * The CIM classes of root/virtualization/v2 that a sample document carries: each class, the properties
 * the sources select and how each value is read, declared once, here. Everything else follows from this
 * table: collect.ps1 queries exactly these classes and properties (the PowerShell source hands it the
 * table when it loads the script), the parser reads them, schema/sample-document.schema.json is
 * generated from them, and the simulator writes them. docs/adding-a-wmi-class.md shows how to add one.
 */

export const NAMESPACE = 'root/virtualization/v2';
export const SCHEMA_VERSION = 1;

export const COMPONENT_NAMES = ['heartbeat', 'kvp_exchange', 'shutdown', 'time_sync', 'vss', 'guest_service_interface'] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/**
 * How an instance names its VM, which is also its key property: `Name`, a computer system's own (a VM's
 * GUID, or the host's computer name); `SystemName`, the GUID of a device's VM; `InstanceID`,
 * `Microsoft:<VM GUID>\<suffix>` of setting data (one per VM and one per checkpoint).
 */
export type Join = 'Name' | 'SystemName' | 'InstanceID';

export interface CimClass<Shape extends z.ZodRawShape = z.ZodRawShape> {
  readonly name: string;
  readonly description: string;
  /** The key property: an instance whose key is not valid is dropped (instance_malformed). */
  readonly key: Join;
  /** The properties the sources select, in that order, and how each value is read: a value that is not valid is read as null (unknown). */
  readonly instance: z.ZodObject<Shape>;
  /** The properties a Status sample selects; none: the class is in Full samples only. */
  readonly status: readonly string[];
  /** Properties whose value, when there but not valid, is counted (value_invalid) instead of silently unknown. */
  readonly counted: readonly string[];
}

interface Declaration<Shape extends z.ZodRawShape> extends Omit<CimClass<Shape>, 'instance' | 'status' | 'counted'> {
  readonly properties: Shape;
  readonly status?: 'all' | readonly (keyof Shape & string)[];
  readonly counted?: readonly (keyof Shape & string)[];
}

function cimClass<const Shape extends z.ZodRawShape>(declaration: Declaration<Shape>): CimClass<Shape> {
  const { properties, status, counted, ...rest } = declaration;
  const instance = z.object(properties).meta({ id: declaration.name, description: declaration.description });
  return { ...rest, instance, status: status === 'all' ? Object.keys(properties) : (status ?? []), counted: counted ?? [] };
}

export const COMPUTER_SYSTEM = cimClass({
  name: 'Msvm_ComputerSystem',
  description: 'The host and every VM. Dropped (instance_malformed) if it has no Name.',
  key: 'Name',
  properties: {
    Name: z.string().min(1).describe("A VM's GUID (upper case on real hosts), or the host's computer name: the one whose Name is not a GUID is the host."),
    ElementName: lenient(z.string()).describe('Display name of the VM (not unique), or the host name.'),
    EnabledState: lenient(uint).describe('2 running, 3 off, 4 stopping, 6 saved, 9 paused, 10 starting, 327xx transitions (valueMaps.ts).'),
    HealthState: lenient(uint).describe('5 OK, 20 major failure, 25 critical failure.'),
    OperationalStatus: lenient(uint16Array).describe('The VM\'s operational status codes: [0] the primary one (2 OK); 32774 anywhere: migrating.'),
    OnTimeInMilliseconds: lenient(uint).describe('uint64: milliseconds since the VM was turned on, paused time excluded; 0 when off, null for the host.'),
    LastSuccessfulBackupTime: lenient(cimDatetime).describe(
      'When the VM was last backed up; 1601-01-01T00:00:00Z (the CIM "never") if it never was; null for the host. A value that is not a #/$defs/cimDatetime is left out and counted (value_invalid).',
    ),
  },
  status: 'all',
  counted: ['LastSuccessfulBackupTime'],
});

const DEVICE = {
  SystemName: guid.describe('GUID of the VM the component belongs to (joined case-insensitively).'),
  DeviceID: z.unknown().optional().describe('Microsoft:<component GUID> on a real host; kept for reference only and not read, so any value is accepted.'),
  EnabledState: lenient(uint).describe('2 enabled.'),
  OperationalStatus: lenient(uint16Array).describe(
    '[0] the primary status: 2 OK, 3 degraded, 6 error, 7 non-recoverable error, 12 no contact, 13 lost communication, 15 paused; optional [1] the secondary: 32775 protocol mismatch, and for the heartbeat the application health (2 OK, 32782 critical, 32783 communication timed out, 32784 communication failed).',
  ),
};

/** One integration component (wmi.md §3): its device class, one instance per VM that runs or is paused, and its setting data. */
function component<const Device extends z.ZodRawShape = {}, const Setting extends z.ZodRawShape = {}>(
  name: ComponentName,
  title: string,
  /** The component's GUID: the suffix of its setting data's InstanceIDs (wmi.md §3, §6). */
  guid: string,
  classes: { readonly device: string; readonly setting: string },
  extra: { readonly device?: Device; readonly setting?: Setting } = {},
) {
  const device = cimClass({
    name: classes.device,
    description: `${title}: one instance per VM that is running or paused. Dropped (instance_malformed) if its SystemName is not a GUID.`,
    key: 'SystemName',
    properties: { ...DEVICE, ...(extra.device as Device) },
    status: Object.keys(DEVICE) as Array<keyof typeof DEVICE>,
  });
  const setting = cimClass({
    name: classes.setting,
    description: `${title}: one instance per VM whatever its state, and one per checkpoint (ignored: its GUID is no VM's). Dropped (instance_malformed) if its InstanceID is not Microsoft:<GUID>\\${guid.toUpperCase()}.`,
    key: 'InstanceID',
    properties: {
      InstanceID: instanceIdOf(guid).describe(`Microsoft:<VM GUID>\\${guid.toUpperCase()}, in any letter case.`),
      EnabledState: lenient(uint).describe('2 enabled, 3 disabled: whether the integration service is enabled in the VM\'s settings.'),
      ...(extra.setting as Setting),
    },
  });
  return { component: name, guid, deviceClass: device.name, settingClass: setting.name, device, setting };
}

/** Source: MicrosoftDocs win32 HyperV_v2 class pages and real InstanceIDs (wmi.md §3). */
export const HEARTBEAT = component(
  'heartbeat',
  'Heartbeat',
  '84eaae65-2f2e-45f5-9bb5-0e857dc8eb47',
  { device: 'Msvm_HeartbeatComponent', setting: 'Msvm_HeartbeatComponentSettingData' },
  {
    setting: {
      Interval: lenient(uint).describe('uint32: milliseconds between two heartbeat pings of the host (default 2000). Null or absent on older hosts.'),
      Latency: lenient(uint).describe('uint32: milliseconds after which a ping without an answer counts as dropped (default 1000).'),
      ErrorThreshold: lenient(uint).describe('uint32: dropped pings in a row after which the heartbeat reads Lost Communication (default 2).'),
    },
  },
);
export const KVP_EXCHANGE = component(
  'kvp_exchange',
  'Key-value pair exchange',
  '2a34b1c2-fd73-4043-8a5b-dd2159bc743f',
  { device: 'Msvm_KvpExchangeComponent', setting: 'Msvm_KvpExchangeComponentSettingData' },
  {
    device: {
      GuestIntrinsicExchangeItems: lenient(kvpPool).describe('The "guest_intrinsic" pool: what the guest\'s integration services report (OSName, FullyQualifiedDomainName, ...). Null without a KVP daemon.'),
      GuestExchangeItems: lenient(kvpPool).describe('The "guest" pool: what processes in the guest wrote.'),
    },
    setting: {
      HostExchangeItems: lenient(kvpPool).describe('The "host" pool: what the host gave the guest.'),
      HostOnlyItems: lenient(kvpPool).describe('The "host_only" pool: what the host keeps for itself.'),
    },
  },
);
const SHUTDOWN = component('shutdown', 'Shutdown', '9f8233ac-be49-4c79-8ee3-e7e1985b2077', { device: 'Msvm_ShutdownComponent', setting: 'Msvm_ShutdownComponentSettingData' });
const TIME_SYNC = component('time_sync', 'Time synchronization', '2497f4de-e9fa-4204-80e4-4b75c46419c0', {
  device: 'Msvm_TimeSyncComponent',
  setting: 'Msvm_TimeSyncComponentSettingData',
});
const VSS = component('vss', 'Backup (volume shadow copy)', '5ced1297-4598-4915-a5fc-ad21bb4d02a4', { device: 'Msvm_VssComponent', setting: 'Msvm_VssComponentSettingData' });
const GUEST_SERVICE_INTERFACE = component('guest_service_interface', 'Guest service interface', '6c09bb55-d683-4da0-8931-c9bf705f6480', {
  device: 'Msvm_GuestServiceInterfaceComponent',
  setting: 'Msvm_GuestServiceInterfaceComponentSettingData',
});

/** The integration components, in COMPONENT_NAMES order. */
export const COMPONENTS = [HEARTBEAT, KVP_EXCHANGE, SHUTDOWN, TIME_SYNC, VSS, GUEST_SERVICE_INTERFACE] as const;
export type ComponentClasses = (typeof COMPONENTS)[number];
/** The same rows under the name the tests and the bench know them by. */
export const COMPONENT_CLASSES: readonly ComponentClasses[] = COMPONENTS;

/** Every class, in the order collect.ps1 queries them and writes them into the document. */
export const CLASSES: readonly CimClass[] = [COMPUTER_SYSTEM, ...COMPONENTS.flatMap((c): CimClass[] => [c.device, c.setting])];

export const COMPUTER_SYSTEM_CLASS = COMPUTER_SYSTEM.name;

/** Class name → the properties a Full sample selects, in order. */
export const DOCUMENT_CLASSES: Readonly<Record<string, readonly string[]>> = Object.freeze(Object.fromEntries(CLASSES.map((c) => [c.name, Object.keys(c.instance.shape)])));

/** Class name → the properties a Status sample selects: what changes from second to second (setting data and KVP items come from the last Full sample). */
export const STATUS_CLASSES: Readonly<Record<string, readonly string[]>> = Object.freeze(
  Object.fromEntries(CLASSES.filter((c) => c.status.length > 0).map((c) => [c.name, c.status])),
);

/**
 * What collect.ps1 queries, per scope: one Get-CimInstance per class, with exactly these properties.
 * `host`: the class whose instances include the host, named by the one whose `host` property is not a
 * GUID; a query of it that returns nothing fails the sample (the account may not see the namespace).
 */
export const COLLECT_QUERIES = Object.freeze({
  namespace: NAMESPACE,
  full: CLASSES.map((c) => queryOf(c, Object.keys(c.instance.shape))),
  status: CLASSES.filter((c) => c.status.length > 0).map((c) => queryOf(c, c.status)),
});

function queryOf(c: CimClass, properties: readonly string[]): { class: string; properties: readonly string[]; host?: string } {
  return c.key === 'Name' ? { class: c.name, properties, host: c.key } : { class: c.name, properties };
}
