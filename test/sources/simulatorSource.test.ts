import { Diagnostics } from '../../src/document/diagnostics';
import { parseDocument } from '../../src/document/parse';
import { buildHostModel } from '../../src/model/buildHostModel';
import type { HostModel } from '../../src/model/hostModel';
import { VM_STATES } from '../../src/model/valueMaps';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import { createSimulatorSource } from '../../src/sources/simulatorSource';

function models(host: SimulatedHost, count: number): HostModel[] {
  return Array.from({ length: count }, () => {
    const diagnostics = new Diagnostics();
    const model = buildHostModel(parseDocument(host.next(), diagnostics), diagnostics);
    expect(diagnostics.isEmpty).toBe(true);
    return model;
  });
}

describe('simulator', () => {
  test('its document goes through the same parser and covers every state the issue names', () => {
    const [model] = models(new SimulatedHost({ vms: 12, seed: 1, now: () => 1e12 }), 1);
    const vms = model!.vms;
    expect(vms).toHaveLength(12);
    const states = new Set(vms.map((vm) => vm.state));
    for (const state of ['running', 'off', 'saved', 'paused']) expect(states).toContain(state);
    const heartbeat = (status: string) => vms.filter((vm) => vm.components[0]?.status === status);
    expect(heartbeat('lost_communication').length).toBeGreaterThanOrEqual(1);
    expect(heartbeat('paused')).toHaveLength(1);
    // A Linux guest with a one-element heartbeat: no application health.
    expect(vms.some((vm) => vm.guest?.osName === 'Ubuntu' && vm.components[0]?.status === 'ok' && vm.components[0].secondaryStatus === null)).toBe(true);
    expect(vms.some((vm) => vm.components.find((c) => c.name === 'time_sync')?.enabled === false)).toBe(true);
    expect(vms.some((vm) => vm.components.some((c) => c.secondaryStatus === 'protocol_mismatch'))).toBe(true);
    expect(vms.some((vm) => vm.components[0]?.secondaryStatus === 'critical')).toBe(true);
    // Display names are not unique.
    expect(new Set(vms.map((vm) => vm.name)).size).toBeLessThan(vms.length);
    expect(new Set(vms.map((vm) => vm.id)).size).toBe(vms.length);
  });

  test('changes over time: a heartbeat is lost and comes back, a VM starts', () => {
    const timeline = models(new SimulatedHost({ vms: 12, seed: 1, now: () => 1e12 }), 80);
    const flapping = timeline.map((m) => m.vms.find((vm) => vm.name === 'file01')?.components[0]?.status);
    expect(flapping.slice(0, 20).every((s) => s === 'ok')).toBe(true);
    expect(flapping.slice(20, 36).every((s) => s === 'lost_communication')).toBe(true);
    expect(flapping[36]).toBe('ok');
    const booting = timeline.map((m) => m.vms.find((vm) => vm.name === 'ci-runner01')?.state);
    expect(booting.slice(0, 10).every((s) => s === 'off')).toBe(true);
    expect(booting[10]).toBe('starting');
    expect(booting[14]).toBe('running');
  });

  test('same seed, same host; another seed, other VM ids', () => {
    const a = JSON.stringify(new SimulatedHost({ vms: 20, seed: 3, now: () => 0 }).next());
    const b = JSON.stringify(new SimulatedHost({ vms: 20, seed: 3, now: () => 0 }).next());
    const c = JSON.stringify(new SimulatedHost({ vms: 20, seed: 4, now: () => 0 }).next());
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  test('scales to 1024 VMs with realistic KVP content', () => {
    const [model] = models(new SimulatedHost({ vms: 1024, seed: 1, now: () => 1e12 }), 1);
    expect(model!.vms).toHaveLength(1024);
    const running = model!.vms.filter((vm) => vm.state === 'running');
    expect(running.length).toBeGreaterThan(700);
    const intrinsic = running.map((vm) => vm.kvpItems.guest_intrinsic ?? 0);
    expect(intrinsic.reduce((a, b) => a + b, 0) / running.length).toBeGreaterThan(14);
    expect(new Set(VM_STATES).size).toBe(10);
  });

  test('the source hands over the document object', async () => {
    const source = createSimulatorSource({ vms: 3, seed: 1 });
    const raw = await source.sample('full', new AbortController().signal);
    expect('document' in raw && (raw.document as { schemaVersion: number }).schemaVersion).toBe(1);
    await source.close();
  });
});
