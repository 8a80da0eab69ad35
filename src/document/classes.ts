/**
 * The CIM classes of root/virtualization/v2 that a sample document carries, and the properties each
 * source projects. This list is the contract between the sources (collect.ps1 selects exactly these
 * properties) and the parser; a test keeps collect.ps1 in step with it.
 */

export const COMPONENT_NAMES = [
  'heartbeat',
  'kvp_exchange',
  'shutdown',
  'time_sync',
  'vss',
  'guest_service_interface',
] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

export interface ComponentClass {
  readonly component: ComponentName;
  /** The integration component's GUID: the suffix of setting-data InstanceIDs (wmi.md §3, §6). */
  readonly guid: string;
  readonly deviceClass: string;
  readonly settingClass: string;
}

/** Source: MicrosoftDocs win32 HyperV_v2 class pages and real InstanceIDs (wmi.md §3). */
export const COMPONENT_CLASSES: readonly ComponentClass[] = [
  {
    component: 'heartbeat',
    guid: '84eaae65-2f2e-45f5-9bb5-0e857dc8eb47',
    deviceClass: 'Msvm_HeartbeatComponent',
    settingClass: 'Msvm_HeartbeatComponentSettingData',
  },
  {
    component: 'kvp_exchange',
    guid: '2a34b1c2-fd73-4043-8a5b-dd2159bc743f',
    deviceClass: 'Msvm_KvpExchangeComponent',
    settingClass: 'Msvm_KvpExchangeComponentSettingData',
  },
  {
    component: 'shutdown',
    guid: '9f8233ac-be49-4c79-8ee3-e7e1985b2077',
    deviceClass: 'Msvm_ShutdownComponent',
    settingClass: 'Msvm_ShutdownComponentSettingData',
  },
  {
    component: 'time_sync',
    guid: '2497f4de-e9fa-4204-80e4-4b75c46419c0',
    deviceClass: 'Msvm_TimeSyncComponent',
    settingClass: 'Msvm_TimeSyncComponentSettingData',
  },
  {
    component: 'vss',
    guid: '5ced1297-4598-4915-a5fc-ad21bb4d02a4',
    deviceClass: 'Msvm_VssComponent',
    settingClass: 'Msvm_VssComponentSettingData',
  },
  {
    component: 'guest_service_interface',
    guid: '6c09bb55-d683-4da0-8931-c9bf705f6480',
    deviceClass: 'Msvm_GuestServiceInterfaceComponent',
    settingClass: 'Msvm_GuestServiceInterfaceComponentSettingData',
  },
];

export const COMPUTER_SYSTEM_CLASS = 'Msvm_ComputerSystem';

const COMPONENT_PROPERTIES = ['SystemName', 'DeviceID', 'EnabledState', 'OperationalStatus'];
const SETTING_PROPERTIES = ['InstanceID', 'EnabledState'];
const COMPUTER_SYSTEM_PROPERTIES = ['Name', 'ElementName', 'EnabledState', 'HealthState', 'OperationalStatus', 'OnTimeInMilliseconds', 'LastSuccessfulBackupTime'];

/** What a sample holds: `full`, every class below; `status`, only what changes from second to second. */
export const SAMPLE_SCOPES = ['status', 'full'] as const;
export type SampleScope = (typeof SAMPLE_SCOPES)[number];

/**
 * Class name → the CIM properties a Full sample selects, in the order collect.ps1 selects them:
 * computer systems, then each component's device class and setting-data class.
 */
export const DOCUMENT_CLASSES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  [COMPUTER_SYSTEM_CLASS]: COMPUTER_SYSTEM_PROPERTIES,
  ...Object.fromEntries(
    COMPONENT_CLASSES.flatMap((c) => [
      [c.deviceClass, c.component === 'kvp_exchange' ? [...COMPONENT_PROPERTIES, 'GuestIntrinsicExchangeItems', 'GuestExchangeItems'] : COMPONENT_PROPERTIES],
      [
        c.settingClass,
        c.component === 'kvp_exchange'
          ? [...SETTING_PROPERTIES, 'HostExchangeItems', 'HostOnlyItems']
          : c.component === 'heartbeat'
            ? [...SETTING_PROPERTIES, 'Interval', 'Latency', 'ErrorThreshold']
            : SETTING_PROPERTIES,
      ],
    ]),
  ),
});

/**
 * Class name → the properties a Status sample selects: the computer systems whole and each device
 * class's status, without setting data or KVP items (those come from the last Full sample).
 */
export const STATUS_CLASSES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  [COMPUTER_SYSTEM_CLASS]: COMPUTER_SYSTEM_PROPERTIES,
  ...Object.fromEntries(COMPONENT_CLASSES.map((c) => [c.deviceClass, COMPONENT_PROPERTIES])),
});

export const SCHEMA_VERSION = 1;
