/**
 * WMI codes → the states this exporter exposes. Each map cites where its codes are documented; any
 * code not listed maps to "other"/"unknown", never to an error (wmi.md §2, §3.1, §3.2).
 */

export const VM_STATES = ['running', 'off', 'saved', 'paused', 'starting', 'stopping', 'saving', 'pausing', 'resuming', 'other'] as const;
export type VmState = (typeof VM_STATES)[number];

/**
 * Msvm_ComputerSystem.EnabledState. Current v2 values from the Hyper-V PowerShell VMState enum and
 * microsoft/wmi VirtualMachineState (2 Running, 3 Off, 4 Stopping, 6 Saved, 9 Paused, 10 Starting,
 * 327xx transitions); legacy v1 values 32768 Paused, 32769 Suspended(saved), 32770 Starting,
 * 32774 Stopping (learn.microsoft.com msvm-computersystem, MSCS VmState).
 */
const VM_STATE_BY_CODE: ReadonlyMap<number, VmState> = new Map<number, VmState>([
  [2, 'running'],
  [3, 'off'],
  [4, 'stopping'],
  [6, 'saved'],
  [9, 'paused'],
  [10, 'starting'],
  [32768, 'paused'],
  [32769, 'saved'],
  [32770, 'starting'],
  [32773, 'saving'],
  [32774, 'stopping'],
  [32776, 'pausing'],
  [32777, 'resuming'],
  [32779, 'saved'], // FastSaved
  [32780, 'saving'], // FastSaving
  [32781, 'stopping'], // ForceShutdown
]);

export function vmStateFromEnabledState(code: number | null): VmState {
  return (code === null ? undefined : VM_STATE_BY_CODE.get(code)) ?? 'other';
}

export const COMPONENT_STATUSES = [
  'ok',
  'degraded',
  'error',
  'non_recoverable_error',
  'no_contact',
  'lost_communication',
  'paused',
  'unknown',
] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];

/**
 * OperationalStatus[0] of the integration components (learn.microsoft.com msvm-heartbeatcomponent,
 * msvm-kvpexchangecomponent, …): 2 OK, 3 Degraded, 7 Non-Recoverable Error, 12 No Contact,
 * 13 Lost Communication, 15 Paused (heartbeat). 6 Error is not in the v2 heartbeat page but is in
 * Msvm_SummaryInformation.Heartbeat and the PowerShell VMIntegrationComponentOperationalStatus enum.
 */
const COMPONENT_STATUS_BY_CODE: ReadonlyMap<number, ComponentStatus> = new Map<number, ComponentStatus>([
  [2, 'ok'],
  [3, 'degraded'],
  [6, 'error'],
  [7, 'non_recoverable_error'],
  [12, 'no_contact'],
  [13, 'lost_communication'],
  [15, 'paused'],
]);

export function componentStatusFromCode(code: number): ComponentStatus {
  return COMPONENT_STATUS_BY_CODE.get(code) ?? 'unknown';
}

/** The guest answers: OK, or Degraded (a compatible, older protocol was negotiated). */
export function isAnswering(status: ComponentStatus): boolean {
  return status === 'ok' || status === 'degraded';
}

export const SECONDARY_STATUSES = [
  'ok',
  'critical',
  'protocol_mismatch',
  'communication_timed_out',
  'communication_failed',
  'unknown',
] as const;
export type SecondaryStatus = (typeof SECONDARY_STATUSES)[number];

/**
 * OperationalStatus[1]: for the heartbeat the coalesced application health (2 OK, 32782 Application
 * Critical, 32783 Communication Timed Out, 32784 Communication Failed); for every component 32775
 * Protocol Mismatch, which Microsoft calls expected and safe to ignore for older guests (KB 4014894).
 */
const SECONDARY_STATUS_BY_CODE: ReadonlyMap<number, SecondaryStatus> = new Map<number, SecondaryStatus>([
  [2, 'ok'],
  [32775, 'protocol_mismatch'],
  [32782, 'critical'],
  [32783, 'communication_timed_out'],
  [32784, 'communication_failed'],
]);

export function secondaryStatusFromCode(code: number): SecondaryStatus {
  return SECONDARY_STATUS_BY_CODE.get(code) ?? 'unknown';
}

/**
 * Msvm_ComputerSystem.OperationalStatus[1] 32774: "Migrating" (learn.microsoft.com msvm-computersystem;
 * wmi.md §2). Any element is looked at, in case a host writes it first.
 */
const MIGRATING = 32774;

export function isMigrating(operationalStatus: readonly number[] | null): boolean {
  return operationalStatus?.includes(MIGRATING) === true;
}

/** Setting data EnabledState: 2 Enabled, 3 Disabled (learn.microsoft.com msvm-*componentsettingdata). */
export function enabledFromSettingState(code: number | null): boolean | null {
  if (code === 2) return true;
  if (code === 3) return false;
  return null;
}
