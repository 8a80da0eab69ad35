import { Diagnostics } from '../../src/document/diagnostics';
import { parseDocument } from '../../src/document/parse';
import { buildHostModel, mergeStatus } from '../../src/model/buildHostModel';
import type { HostModel, VmModel } from '../../src/model/hostModel';
import { ALL_OK, buildDocument, guid, kvpItem } from '../sampling/support';

function modelOf(document: unknown, fullModel?: HostModel): { model: HostModel; dropped: ReturnType<Diagnostics['entries']> } {
  const diagnostics = new Diagnostics();
  const model = buildHostModel(parseDocument(document, diagnostics), diagnostics, { fullModel });
  return { model, dropped: diagnostics.entries() };
}

/** A Status document of the same host: no setting data, no KVP pools. */
function statusOf(document: Record<string, unknown>): Record<string, unknown> {
  const classes = Object.fromEntries(Object.entries(document['classes'] as Record<string, unknown>).filter(([name]) => !name.endsWith('SettingData')));
  const kvp = classes['Msvm_KvpExchangeComponent'] as Array<Record<string, unknown>>;
  classes['Msvm_KvpExchangeComponent'] = kvp.map(({ GuestIntrinsicExchangeItems: _i, GuestExchangeItems: _g, ...status }) => status);
  return { ...document, scope: 'status', classes };
}

const vm = (model: HostModel, id: string): VmModel | undefined => model.vms.find((candidate) => candidate.id === id);

describe('buildHostModel', () => {
  const full = buildDocument('HV01', [
    { guid: guid(1), components: { ...ALL_OK, vss: [2, 32775] }, intrinsic: [kvpItem('OSName', 'Ubuntu')], host: [kvpItem('Owner', 'ops', 0)] },
    { guid: guid(2), state: 3, components: {} },
  ]);

  test('joins each component by its name, whatever the order of the classes in the document', () => {
    const classes = full['classes'] as Record<string, unknown>;
    const reversed = { ...full, classes: Object.fromEntries(Object.entries(classes).reverse()) };
    expect(modelOf(reversed).model).toEqual(modelOf(full).model);
    expect(vm(modelOf(full).model, guid(1))?.components.find((c) => c.name === 'vss')).toMatchObject({ present: true, status: 'ok', secondaryStatus: 'protocol_mismatch' });
  });

  test('a second computer system or device naming one VM is dropped and counted; a second setting data is not (checkpoints)', () => {
    const classes = full['classes'] as Record<string, unknown[]>;
    const twice = { ...full, classes: Object.fromEntries(Object.entries(classes).map(([name, instances]) => [name, [...instances, ...instances]])) };
    const { model, dropped } = modelOf(twice);
    expect(model).toEqual(modelOf(full).model);
    // Computer systems: the host is no VM and not counted; VM 1's six devices are.
    expect(dropped).toEqual([{ reason: 'instance_duplicate', count: 2 + 6, example: `Msvm_ComputerSystem twice for VM ${guid(1)}` }]);
  });

  test('a Status document is merged into the last Full model: the same model, without reading setting data or KVP items', () => {
    const fullModel = modelOf(full).model;
    expect(modelOf(statusOf(full), fullModel).model).toEqual(fullModel);
    expect(() => modelOf(statusOf(full))).toThrow('a Status document needs the model of the last Full sample');
  });
});

describe('mergeStatus', () => {
  test('takes what setting data and KVP items make from the same VM in the Full model, and nothing from other VMs', () => {
    const fullModel = modelOf(full()).model;
    const status = modelOf(statusOf(full()), fullModel).model;
    const unknownVm: VmModel = { ...(vm(status, guid(1)) as VmModel), id: guid(9) };
    const merged = mergeStatus({ ...status, vms: [...status.vms, unknownVm] }, fullModel);
    expect(vm(merged, guid(1))).toEqual(vm(fullModel, guid(1)));
    expect(vm(merged, guid(9))).toMatchObject({ kvpItems: {}, guest: null, heartbeatSettings: null, guestAddresses: [], exportedKvpItems: [] });
    expect(vm(merged, guid(9))?.components.map((c) => c.enabled)).toEqual([null, null, null, null, null, null]);
  });

  function full(): Record<string, unknown> {
    return buildDocument('HV01', [{ guid: guid(1), components: ALL_OK, intrinsic: [kvpItem('OSName', 'Windows'), kvpItem('NetworkAddressIPv4', '10.0.0.1')] }]);
  }
});
