import type { ComponentName } from '../document/classes';
import type { ComponentModel, VmModel } from '../model/hostModel';
import { isAnswering, type ComponentStatus } from '../model/valueMaps';

/**
 * What is wrong with a VM, as the landing page names it. Judged from the typed model's codes only
 * (never from a host's localized status text), and in step with prometheus/alerts.yml: runtime
 * problems only for a running VM that is not migrating, no_contact forgiven for the first 10 minutes
 * of uptime, and a lost heartbeat hides the other components' statuses (Alertmanager's inhibition
 * does the same). Settings and backups are judged for every VM. docs/landing-page.md lists them all.
 */

/** critical: the guest is gone; warning: needs attention today; info: worth a look (sometimes deliberate). */
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface VmProblem {
  /**
   * Stable and machine-readable: `heartbeat_lost`, `heartbeat:<status>`, `application_critical`,
   * `application_health:<status>`, `not_answering:<status>`, `protocol_mismatch`, `disabled`,
   * `backup_never`, `backup_old`.
   */
  readonly code: string;
  readonly severity: Severity;
  /** The components a component problem is about (one problem names them all), in COMPONENT_NAMES order. */
  readonly components: readonly ComponentName[];
  /** The words the page shows: fixed English derived from the code and components. */
  readonly text: string;
}

/** A VM without a backup for longer than this has the problem `backup_old` (never backed up: `backup_never`). */
export const BACKUP_MAX_AGE_SECONDS = 7 * 86_400;

/** Uptime below which a running VM's components may still be at no_contact (the alerts' boot grace). */
export const BOOT_GRACE_SECONDS = 600;

const COMPONENT_WORDS: Readonly<Record<ComponentName, string>> = {
  heartbeat: 'heartbeat',
  kvp_exchange: 'KVP exchange',
  shutdown: 'shutdown',
  time_sync: 'time sync',
  vss: 'VSS',
  guest_service_interface: 'guest service interface',
};

const STATUS_WORDS: Readonly<Record<ComponentStatus, string>> = {
  ok: 'ok',
  degraded: 'degraded',
  error: 'error',
  non_recoverable_error: 'non-recoverable error',
  no_contact: 'no contact',
  lost_communication: 'lost communication',
  paused: 'paused',
  unknown: 'unknown status',
};

/** Heartbeat statuses that mean the guest no longer answers (HyperVVMHeartbeatLost). */
const HEARTBEAT_LOST: ReadonlySet<ComponentStatus> = new Set<ComponentStatus>(['lost_communication', 'error', 'non_recoverable_error']);

/** Hyper-V disables the guest service interface by default: disabled, it is no problem. */
const DISABLED_BY_DEFAULT: ReadonlySet<ComponentName> = new Set<ComponentName>(['guest_service_interface']);

function heartbeatProblems(heartbeat: ComponentModel, uptimeSeconds: number | null): VmProblem[] {
  const status = heartbeat.status;
  if (status === null || isAnswering(status)) return [];
  if (HEARTBEAT_LOST.has(status)) return [{ code: 'heartbeat_lost', severity: 'critical', components: ['heartbeat'], text: status === 'lost_communication' ? 'heartbeat lost' : `heartbeat lost (${STATUS_WORDS[status]})` }];
  if (status === 'no_contact' && (uptimeSeconds ?? 0) < BOOT_GRACE_SECONDS) return [];
  return [{ code: `heartbeat:${status}`, severity: 'warning', components: ['heartbeat'], text: `heartbeat: ${STATUS_WORDS[status]}` }];
}

function applicationProblems(heartbeat: ComponentModel): VmProblem[] {
  switch (heartbeat.secondaryStatus) {
    case 'critical':
      return [{ code: 'application_critical', severity: 'warning', components: [], text: 'application critical' }];
    case 'communication_timed_out':
      return [{ code: 'application_health:communication_timed_out', severity: 'info', components: [], text: 'application health: communication timed out' }];
    case 'communication_failed':
      return [{ code: 'application_health:communication_failed', severity: 'info', components: [], text: 'application health: communication failed' }];
    default:
      return [];
  }
}

function backupProblems(lastBackupSeconds: number | null, nowSeconds: number): VmProblem | null {
  if (lastBackupSeconds === null) return null;
  if (lastBackupSeconds === 0) return { code: 'backup_never', severity: 'warning', components: [], text: 'never backed up' };
  const age = nowSeconds - lastBackupSeconds;
  if (age <= BACKUP_MAX_AGE_SECONDS) return null;
  return { code: 'backup_old', severity: 'warning', components: [], text: `last backup ${Math.floor(age / 86_400)} days ago` };
}

/** Component problems of one kind, each naming every component it concerns: `KVP exchange, VSS: protocol mismatch`. */
class ComponentProblems {
  private readonly byCode = new Map<string, { severity: Severity; components: ComponentName[]; words: (names: string) => string }>();

  add(code: string, severity: Severity, component: ComponentName, words: (names: string) => string): void {
    const entry = this.byCode.get(code);
    if (entry === undefined) this.byCode.set(code, { severity, components: [component], words });
    else entry.components.push(component);
  }

  problems(): VmProblem[] {
    return [...this.byCode].map(([code, { severity, components, words }]) => ({ code, severity, components, text: words(components.map((c) => COMPONENT_WORDS[c]).join(', ')) }));
  }
}

const NONE: readonly VmProblem[] = [];

/** The VM's problems, worst first; empty when there is nothing to look at. */
export function vmProblems(vm: VmModel, nowSeconds: number): readonly VmProblem[] {
  let problems: VmProblem[] | null = null;
  const heartbeat = vm.components.find((c) => c.name === 'heartbeat');
  const judgeRuntime = vm.state === 'running' && !vm.migrating;
  let guestGone = false;
  if (judgeRuntime && heartbeat !== undefined && heartbeat.enabled !== false) {
    const found = heartbeatProblems(heartbeat, vm.uptimeSeconds);
    guestGone = found.some((p) => p.code === 'heartbeat_lost');
    const application = guestGone ? [] : applicationProblems(heartbeat);
    if (found.length + application.length > 0) problems = [...found, ...application];
  }
  let byKind: ComponentProblems | null = null;
  for (const component of vm.components) {
    if (component.enabled === false) {
      if (!DISABLED_BY_DEFAULT.has(component.name)) (byKind ??= new ComponentProblems()).add('disabled', 'info', component.name, (names) => `${names} disabled`);
      continue;
    }
    if (!judgeRuntime || guestGone) continue;
    const status = component.status;
    if (component.name !== 'heartbeat' && status !== null && !isAnswering(status) && !(status === 'no_contact' && (vm.uptimeSeconds ?? 0) < BOOT_GRACE_SECONDS)) {
      (byKind ??= new ComponentProblems()).add(`not_answering:${status}`, 'warning', component.name, (names) => `${names}: ${STATUS_WORDS[status]}`);
    }
    if (component.secondaryStatus === 'protocol_mismatch') (byKind ??= new ComponentProblems()).add('protocol_mismatch', 'info', component.name, (names) => `${names}: protocol mismatch`);
  }
  if (byKind !== null) (problems ??= []).push(...byKind.problems());
  const backup = backupProblems(vm.lastBackupSeconds, nowSeconds);
  if (backup !== null) (problems ??= []).push(backup);
  if (problems === null) return NONE;
  // Stable: within a severity, the order above (heartbeat, application, components, backup).
  return problems.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
}
