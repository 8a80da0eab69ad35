import { COMPONENT_NAMES, type ComponentName } from '../../src/document/classes';
import type { ComponentModel, VmModel } from '../../src/model/hostModel';
import { BACKUP_MAX_AGE_SECONDS, BOOT_GRACE_SECONDS, vmProblems } from '../../src/server/vmProblems';

/** The rules by which the landing page calls a VM a problem (src/server/vmProblems.ts, docs/landing-page.md). */

const NOW = Date.UTC(2026, 10, 24, 12) / 1000;

/** A healthy running Windows VM as Hyper-V reports it (guest service interface disabled by default), with changes. */
function vm(changes: Partial<VmModel> = {}, components: Partial<Record<ComponentName, Partial<ComponentModel>>> = {}): VmModel {
  return {
    id: '0f3c1d0e-1111-4222-8333-444455556666',
    name: 'vm1',
    state: 'running',
    uptimeSeconds: 86_400,
    components: COMPONENT_NAMES.map((name) => ({
      name,
      enabled: name !== 'guest_service_interface',
      present: true,
      status: 'ok',
      secondaryStatus: name === 'heartbeat' ? 'ok' : null,
      ...components[name],
    })),
    kvpItems: {},
    guest: null,
    heartbeatSettings: null,
    lastBackupSeconds: NOW - 3600,
    migrating: false,
    guestAddresses: [],
    exportedKvpItems: [],
    ...changes,
  };
}

const texts = (v: VmModel): string[] => vmProblems(v, NOW).map((p) => p.text);
const codes = (v: VmModel): string[] => vmProblems(v, NOW).map((p) => `${p.severity}:${p.code}`);

describe('which VMs the landing page calls problems', () => {
  test('a healthy running VM, with the guest service interface disabled as Hyper-V ships it, has none', () => {
    expect(vmProblems(vm(), NOW)).toEqual([]);
  });

  test('a lost heartbeat is critical and hides what the other components say (the guest is gone)', () => {
    const lost = vm({}, { heartbeat: { status: 'lost_communication', secondaryStatus: null }, kvp_exchange: { status: 'lost_communication' }, vss: { status: 'lost_communication', secondaryStatus: 'protocol_mismatch' } });
    expect(codes(lost)).toEqual(['critical:heartbeat_lost']);
    expect(texts(lost)).toEqual(['heartbeat lost']);
    expect(texts(vm({}, { heartbeat: { status: 'non_recoverable_error' } }))).toEqual(['heartbeat lost (non-recoverable error)']);
    expect(texts(vm({}, { heartbeat: { status: 'error' } }))).toEqual(['heartbeat lost (error)']);
  });

  test('no contact is forgiven while a VM boots (the alerts\u2019 10 minutes), and a problem after', () => {
    const booting = { heartbeat: { status: 'no_contact' as const, secondaryStatus: null }, shutdown: { status: 'no_contact' as const } };
    expect(vmProblems(vm({ uptimeSeconds: BOOT_GRACE_SECONDS - 1 }, booting), NOW)).toEqual([]);
    expect(vmProblems(vm({ uptimeSeconds: null }, booting), NOW)).toEqual([]);
    expect(codes(vm({ uptimeSeconds: BOOT_GRACE_SECONDS }, booting))).toEqual(['warning:heartbeat:no_contact', 'warning:not_answering:no_contact']);
    expect(texts(vm({ uptimeSeconds: BOOT_GRACE_SECONDS }, booting))).toEqual(['heartbeat: no contact', 'shutdown: no contact']);
  });

  test('application health: critical is a warning; a guest that cannot report it is info', () => {
    expect(codes(vm({}, { heartbeat: { secondaryStatus: 'critical' } }))).toEqual(['warning:application_critical']);
    expect(texts(vm({}, { heartbeat: { secondaryStatus: 'critical' } }))).toEqual(['application critical']);
    expect(texts(vm({}, { heartbeat: { secondaryStatus: 'communication_failed' } }))).toEqual(['application health: communication failed']);
  });

  test('components that do not answer, or speak an older protocol, are named together, one problem per kind', () => {
    const v = vm({}, { kvp_exchange: { status: 'lost_communication' }, vss: { status: 'lost_communication', secondaryStatus: 'protocol_mismatch' }, time_sync: { secondaryStatus: 'protocol_mismatch' } });
    expect(texts(v)).toEqual(['KVP exchange, VSS: lost communication', 'time sync, VSS: protocol mismatch']);
    expect(vmProblems(v, NOW).map((p) => p.components)).toEqual([
      ['kvp_exchange', 'vss'],
      ['time_sync', 'vss'],
    ]);
    // Degraded means the guest answers with a compatible, older protocol: no problem of its own.
    expect(vmProblems(vm({}, { shutdown: { status: 'degraded' } }), NOW)).toEqual([]);
  });

  test('disabled components are info for every VM, whatever its state; the guest service interface is not one', () => {
    const disabled = { time_sync: { enabled: false }, heartbeat: { enabled: false, status: 'no_contact' as const }, guest_service_interface: { enabled: false } };
    expect(texts(vm({}, disabled))).toEqual(['heartbeat, time sync disabled']);
    expect(texts(vm({ state: 'off', uptimeSeconds: 0 }, { time_sync: { enabled: false, present: false, status: null } }))).toEqual(['time sync disabled']);
    // Enabled, the guest service interface is judged like the others.
    expect(texts(vm({}, { guest_service_interface: { enabled: true, status: 'lost_communication' } }))).toEqual(['guest service interface: lost communication']);
  });

  test('runtime problems only for a running VM that is not migrating', () => {
    const lost = { heartbeat: { status: 'lost_communication' as const } };
    expect(vmProblems(vm({ state: 'paused' }, { heartbeat: { status: 'paused' } }), NOW)).toEqual([]);
    expect(vmProblems(vm({ state: 'saved' }, lost), NOW)).toEqual([]);
    expect(vmProblems(vm({ migrating: true }, lost), NOW)).toEqual([]);
    expect(codes(vm({}, lost))).toEqual(['critical:heartbeat_lost']);
  });

  test(`no backup: never, or more than ${BACKUP_MAX_AGE_SECONDS / 86_400} days ago; not reported is no problem`, () => {
    expect(texts(vm({ lastBackupSeconds: 0 }))).toEqual(['never backed up']);
    expect(texts(vm({ lastBackupSeconds: NOW - BACKUP_MAX_AGE_SECONDS }))).toEqual([]);
    expect(texts(vm({ lastBackupSeconds: NOW - BACKUP_MAX_AGE_SECONDS - 1 }))).toEqual(['last backup 7 days ago']);
    expect(texts(vm({ lastBackupSeconds: NOW - 13.5 * 86_400 }))).toEqual(['last backup 13 days ago']);
    expect(texts(vm({ lastBackupSeconds: null }))).toEqual([]);
    expect(texts(vm({ state: 'off', uptimeSeconds: 0, lastBackupSeconds: 0 }))).toEqual(['never backed up']);
  });

  test('worst first: critical, then warning, then info', () => {
    const v = vm({ lastBackupSeconds: 0 }, { heartbeat: { status: 'lost_communication' }, time_sync: { enabled: false } });
    expect(codes(v)).toEqual(['critical:heartbeat_lost', 'warning:backup_never', 'info:disabled']);
  });
});
