import type { ComponentName } from '../../document/classes';
import type { GuestOs } from './kvpItems';

/** What one simulated VM looks like at one tick (one sample). */
export interface VmBehaviour {
  /** Msvm_ComputerSystem.EnabledState. */
  readonly enabledState: number;
  /** OperationalStatus per component while components exist (running, paused, starting); null when off or saved. */
  readonly statuses: Readonly<Record<ComponentName, readonly number[]>> | null;
  readonly disabled: readonly ComponentName[];
}

export interface Archetype {
  readonly kind: string;
  readonly os: GuestOs;
  at(tick: number): VmBehaviour;
}

const HEALTHY: Record<ComponentName, readonly number[]> = {
  heartbeat: [2, 2],
  kvp_exchange: [2],
  shutdown: [2],
  time_sync: [2],
  vss: [2],
  guest_service_interface: [2],
};
// Guest Service Interface is disabled by default and still reports OK (wmi.md §3.2, §4).
const DEFAULT_DISABLED: readonly ComponentName[] = ['guest_service_interface'];

const running = (overrides: Partial<Record<ComponentName, readonly number[]>> = {}, disabled = DEFAULT_DISABLED): VmBehaviour => ({
  enabledState: 2,
  statuses: { ...HEALTHY, ...overrides },
  disabled,
});
const withoutComponents = (enabledState: number): VmBehaviour => ({ enabledState, statuses: null, disabled: DEFAULT_DISABLED });
const constant = (kind: string, os: GuestOs, behaviour: VmBehaviour): Archetype => ({ kind, os, at: () => behaviour });

const ALL_LOST: Partial<Record<ComponentName, readonly number[]>> = {
  heartbeat: [13],
  kvp_exchange: [13],
  shutdown: [13],
  time_sync: [13],
  vss: [13],
};

/**
 * The first twelve VMs cover every state the exporter reports; the rest of a larger host is mostly
 * healthy, as real hosts are. Ticks advance once per sample (15 s by default).
 */
export const SHOWCASE: readonly Archetype[] = [
  constant('windows_healthy', 'windows_server_2022', running()),
  // Linux guests report a one-element heartbeat and a VSS protocol mismatch (wmi.md §3.1, §3.2).
  constant('linux_guest', 'ubuntu_24_04', running({ heartbeat: [2], vss: [2, 32775] })),
  constant('off', 'windows_server_2022', withoutComponents(3)),
  constant('heartbeat_lost', 'windows_server_2019', running(ALL_LOST)),
  constant('time_sync_disabled', 'windows_server_2022', running({}, ['guest_service_interface', 'time_sync'])),
  constant('paused', 'windows_server_2022', { enabledState: 9, statuses: { ...HEALTHY, heartbeat: [15] }, disabled: DEFAULT_DISABLED }),
  constant('saved', 'windows_server_2019', withoutComponents(6)),
  {
    // Loses its heartbeat for 4 minutes out of every 10 (at the default interval), then recovers.
    kind: 'heartbeat_flapping',
    os: 'windows_server_2022',
    at: (tick) => (tick % 40 >= 20 && tick % 40 < 36 ? running(ALL_LOST) : running()),
  },
  {
    // Off, then starting, then running without contact while the guest boots, then healthy; every 15 minutes.
    kind: 'booting',
    os: 'ubuntu_24_04',
    at: (tick) => {
      const phase = tick % 60;
      if (phase < 10) return withoutComponents(3);
      const noContact = { heartbeat: [12], kvp_exchange: [12], shutdown: [12], time_sync: [12], vss: [12], guest_service_interface: [12] };
      if (phase === 10) return { ...running(noContact), enabledState: 10 };
      if (phase < 14) return running(noContact);
      return running({ heartbeat: [2], vss: [2, 32775] });
    },
  },
  constant('application_critical', 'windows_server_2022', running({ heartbeat: [2, 32782] })),
  // Same display name as the first VM: names are not unique, vm_id is the identity.
  constant('duplicate_name', 'windows_server_2019', running()),
  constant('heartbeat_disabled', 'windows_server_2019', running({ heartbeat: [12] }, ['guest_service_interface', 'heartbeat'])),
];

export const SHOWCASE_NAMES: readonly string[] = [
  'web01',
  'app-linux01',
  'build-off01',
  'sql01',
  'dc01',
  'test-paused01',
  'archive-saved01',
  'file01',
  'ci-runner01',
  'exchange01',
  'web01',
  'jump01',
];

const FILLER: readonly Archetype[] = [
  constant('windows_healthy', 'windows_server_2022', running()),
  constant('windows_healthy', 'windows_server_2019', running()),
  constant('linux_guest', 'ubuntu_24_04', running({ heartbeat: [2], vss: [2, 32775] })),
  constant('off', 'windows_server_2022', withoutComponents(3)),
];

/** Weights of the filler archetypes for VMs beyond the showcase: mostly healthy Windows, some Linux, a few off. */
export function fillerArchetype(random: () => number): Archetype {
  const r = random();
  const index = r < 0.5 ? 0 : r < 0.7 ? 1 : r < 0.9 ? 2 : 3;
  return FILLER[index] ?? FILLER[0]!;
}
