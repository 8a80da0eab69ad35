import { CLASSES, COMPONENTS, COMPUTER_SYSTEM, DOCUMENT_CLASSES, SCHEMA_VERSION } from '../../document/classes';
import { fillerArchetype, SHOWCASE, SHOWCASE_NAMES, type Archetype } from './behaviours';
import { guestItems, intrinsicItems, kvpItemXml } from './kvpItems';
import { randomGuid, seededRandom } from './random';

interface SimulatedVm {
  readonly guid: string;
  readonly name: string;
  readonly archetype: Archetype;
  readonly intrinsicItems: readonly string[];
  readonly guestItems: readonly string[];
  /** How long ago the last successful backup was, in ms; null: never backed up. */
  readonly backupAgeMs: number | null;
  /** Uptime the VM already had when the simulation started, in ms. */
  readonly initialUptimeMs: number;
  /** Clock time at which the VM's uptime would have been 0; null while off. */
  onSince: number | null;
  /** Per component of COMPONENTS, its values that never change, by CIM property name (its device and setting data each take theirs). */
  readonly componentValues: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

/** The CIM datetime of "never": 1601-01-01, as PowerShell 7 writes it. */
const NEVER = '1601-01-01T00:00:00.0000000Z';

export interface SimulatedHostOptions {
  readonly vms: number;
  readonly seed: number;
  readonly computerName?: string;
  readonly now?: () => number;
}

/**
 * A Hyper-V host made up from the real shapes of wmi.md: it produces the same sample document a real
 * host's collection script produces, so the simulator's output goes through the same parser.
 */
export class SimulatedHost {
  private readonly vms: SimulatedVm[] = [];
  private readonly computerName: string;
  private readonly now: () => number;
  private tick = 0;

  constructor(options: SimulatedHostOptions) {
    const random = seededRandom(options.seed);
    this.computerName = options.computerName ?? 'HV-SIM01';
    this.now = options.now ?? Date.now;
    for (let i = 0; i < options.vms; i++) {
      const archetype = SHOWCASE[i] ?? fillerArchetype(random);
      const name = SHOWCASE_NAMES[i] ?? `vm${String(i).padStart(4, '0')}`;
      const ipv4 = `10.${20 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
      const ipv6 = `2001:db8:20::${i.toString(16)}`;
      const guid = randomGuid(random);
      // Msvm_HeartbeatComponentSettingData's timing; none on some VMs, as older hosts leave it.
      const heartbeatSettings = i % 10 === 6 ? null : { Interval: 2000, Latency: 1000, ErrorThreshold: 2 };
      const hostItems = i % 3 === 0 ? [kvpItemXml('Environment', i % 2 === 0 ? 'production' : 'test', 0)] : [];
      this.vms.push({
        guid,
        name,
        archetype,
        intrinsicItems: intrinsicItems(archetype.os, name, ipv4, ipv6),
        guestItems: guestItems(archetype.os, i),
        // Most VMs were backed up within the day, some not for weeks, some never.
        backupAgeMs: i % 5 === 4 ? null : i % 5 === 3 ? (10 + (i % 20)) * 86_400_000 : ((i % 24) + 1) * 3_600_000,
        initialUptimeMs: Math.floor((1 + random() * 720) * 3_600_000),
        onSince: null,
        componentValues: COMPONENTS.map((c) => ({
          SystemName: guid,
          DeviceID: `Microsoft:${c.guid.toUpperCase()}`,
          InstanceID: `Microsoft:${guid}\\${c.guid.toUpperCase()}`,
          HostExchangeItems: hostItems,
          HostOnlyItems: [],
          ...heartbeatSettings,
        })),
      });
    }
  }

  /**
   * The next sample document; each call advances the simulation by one tick. Its classes are those of
   * CLASSES, in that order, each instance with exactly the properties its class declares (null where
   * the simulator has no value for one), as collect.ps1 writes them; a class the simulator makes no
   * instances of is empty.
   */
  next(): Record<string, unknown> {
    const now = this.now();
    const tick = this.tick++;
    const rows: Record<string, Array<Record<string, unknown>>> = Object.fromEntries(CLASSES.map((c) => [c.name, []]));
    rows[COMPUTER_SYSTEM.name]!.push(
      rowOf(COMPUTER_SYSTEM.name, { Name: this.computerName, ElementName: this.computerName, EnabledState: 2, HealthState: 5, OperationalStatus: [2] }),
    );

    for (const vm of this.vms) {
      const behaviour = vm.archetype.at(tick);
      const hasComponents = behaviour.statuses !== null;
      if (!hasComponents) vm.onSince = null;
      else if (vm.onSince === null) vm.onSince = tick === 0 ? now - vm.initialUptimeMs : now;
      const paused = behaviour.enabledState === 9;
      // A paused VM's uptime excludes the pause: it stays at what it had.
      const uptimeMs = vm.onSince === null ? 0 : paused ? vm.initialUptimeMs : now - vm.onSince;
      rows[COMPUTER_SYSTEM.name]!.push(
        rowOf(COMPUTER_SYSTEM.name, {
          Name: vm.guid,
          ElementName: vm.name,
          EnabledState: behaviour.enabledState,
          HealthState: 5,
          OperationalStatus: [2],
          OnTimeInMilliseconds: uptimeMs,
          LastSuccessfulBackupTime: vm.backupAgeMs === null ? NEVER : new Date(now - vm.backupAgeMs).toISOString(),
        }),
      );
      COMPONENTS.forEach((c, index) => {
        const status = behaviour.statuses?.[c.component];
        // A guest that is not answering has not refreshed its intrinsic items since it stopped.
        const answering = status?.[0] !== 12;
        // What changes from tick to tick; the rest of the component's values were made with the VM.
        const changing = { OperationalStatus: status, GuestIntrinsicExchangeItems: answering ? vm.intrinsicItems : [], GuestExchangeItems: answering ? vm.guestItems : [] };
        const fixed = vm.componentValues[index]!;
        rows[c.setting.name]!.push(rowOf(c.setting.name, changing, fixed, behaviour.disabled.includes(c.component) ? 3 : 2));
        if (status !== undefined) rows[c.device.name]!.push(rowOf(c.device.name, changing, fixed, 2));
      });
    }
    return { schemaVersion: SCHEMA_VERSION, computerName: this.computerName, collectedAt: new Date(now).toISOString(), classes: rows };
  }
}

/**
 * An instance of `className` with exactly the properties its class declares, in order: from `values`,
 * else from `fixed`, else null; `enabledState`, when given, is its EnabledState.
 */
function rowOf(className: string, values: Readonly<Record<string, unknown>>, fixed: Readonly<Record<string, unknown>> = {}, enabledState?: number): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const property of DOCUMENT_CLASSES[className] ?? []) row[property] = (property === 'EnabledState' ? enabledState : undefined) ?? values[property] ?? fixed[property] ?? null;
  return row;
}
