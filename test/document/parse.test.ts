import { COMPUTER_SYSTEM, HEARTBEAT } from '../../src/document/classes';
import { Diagnostics } from '../../src/document/diagnostics';
import { decodeRawSample, instancesOf, parseDocument } from '../../src/document/parse';
import { cimDatetime, readArray, uint } from '../../src/document/wire';
import { SampleError } from '../../src/contract/sample';

const HOST = { Name: 'HV01', ElementName: 'HV01', EnabledState: 2 };
const VM = '4EA7033C-356C-4EBA-9F77-1A3399CFCD72';
const doc = (classes: Record<string, unknown>): unknown => ({ schemaVersion: 1, computerName: 'HV01', classes });

function reason(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof SampleError) return `${error.reason}: ${error.message}`;
    throw error;
  }
  return undefined;
}

describe('wire values (Windows PowerShell 5.1 shapes)', () => {
  test('arrays: plain, {"value":[…],"Count":n} wrapper, unwrapped single element, null', () => {
    expect(readArray([1, 2])).toEqual([1, 2]);
    expect(readArray({ value: [1, 2], Count: 2 })).toEqual([1, 2]);
    expect(readArray(7)).toEqual([7]);
    expect(readArray({ Name: 'x' })).toEqual([{ Name: 'x' }]);
    expect(readArray(null)).toBeNull();
  });

  test('unsigned integers: numbers, uint64 as a decimal string, {"value":n}; nothing else', () => {
    expect(uint.parse(74849569)).toBe(74849569);
    expect(uint.parse('74849569')).toBe(74849569);
    expect(uint.parse({ value: 2, Value: 2 })).toBe(2);
    for (const bad of [-1, 1.5, '12a', '', '1e3', null, true, [2], Number.MAX_SAFE_INTEGER + 2, '99999999999999999']) {
      expect(uint.safeParse(bad).success).toBe(false);
    }
  });

  test('timestamps: ISO 8601 and \\/Date(ms)\\/', () => {
    expect(new Date(cimDatetime.parse('2026-11-24T10:00:00.000Z')).toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(new Date(cimDatetime.parse('/Date(1795514400000)/')).toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(cimDatetime.safeParse('yesterday').success).toBe(false);
  });
});

describe('decodeRawSample and parseDocument', () => {
  test.each([
    ['empty text', { text: '  ' }, /invalid_document: sample document is empty/],
    ['truncated JSON', { text: '{"schemaVersion":1,"classes":{' }, /invalid_document: sample document is not JSON/],
    ['not an object', { document: [1, 2] }, /not a JSON object/],
    ['another schema version', { document: { schemaVersion: 2, classes: {} } }, /unsupported schemaVersion 2/],
    ['no classes', { document: { schemaVersion: 1 } }, /no "classes" object/],
    ['no computer systems at all', { document: doc({}) }, /no Msvm_ComputerSystem instances/],
  ])('%s fails the sample with a clear reason', (_name, raw, message) => {
    expect(reason(() => parseDocument(decodeRawSample(raw as never), new Diagnostics()))).toMatch(message);
  });

  test('a document over the size limit fails before JSON.parse', () => {
    const limits = { maxDocumentBytes: 10, maxInstancesPerClass: 10, maxVmsPerHost: 10, maxKvpItemsPerPool: 10, maxKvpItemLength: 10, maxLabelValueLength: 10, maxGuestAddressesPerVm: 10 };
    expect(reason(() => decodeRawSample({ text: JSON.stringify(doc({ Msvm_ComputerSystem: [HOST] })) }, limits))).toMatch(/larger than 10 bytes/);
  });

  test('a UTF-8 byte order mark is accepted', () => {
    const parsed = parseDocument(decodeRawSample({ text: `\uFEFF${JSON.stringify(doc({ Msvm_ComputerSystem: [HOST] }))}` }), new Diagnostics());
    expect(parsed.computerName).toBe('HV01');
  });

  test('unknown classes and properties are ignored; malformed instances are dropped and counted', () => {
    const diagnostics = new Diagnostics();
    const parsed = parseDocument(
      doc({
        Msvm_ComputerSystem: [HOST, { Name: VM, ElementName: 'vm', EnabledState: 2, Extra: { deep: true } }, 'text', { Name: 5 }],
        Msvm_RdvComponent: [{ SystemName: VM }],
        Msvm_HeartbeatComponent: [{ SystemName: VM, OperationalStatus: [2, 'x'] }, { SystemName: 'HV01' }],
        Msvm_HeartbeatComponentSettingData: [
          { InstanceID: `Microsoft:${VM}\\84EAAE65-2F2E-45F5-9BB5-0E857DC8EB47`, EnabledState: 3 },
          { InstanceID: `Microsoft:${VM}\\2A34B1C2-FD73-4043-8A5B-DD2159BC743F`, EnabledState: 2 },
          { InstanceID: 'Microsoft:garbage' },
        ],
      }),
      diagnostics,
    );
    expect(instancesOf(parsed, COMPUTER_SYSTEM).map((s) => [s.Name, s.vmId])).toEqual([['HV01', null], [VM, VM.toLowerCase()]]);
    // Absent values stay absent, values that are not valid are null: both unknown.
    expect(instancesOf(parsed, HEARTBEAT.device)).toEqual([{ SystemName: VM, vmId: VM.toLowerCase(), OperationalStatus: null }]);
    expect(instancesOf(parsed, HEARTBEAT.setting)).toEqual([{ InstanceID: `Microsoft:${VM}\\84EAAE65-2F2E-45F5-9BB5-0E857DC8EB47`, vmId: VM.toLowerCase(), EnabledState: 3 }]);
    expect(diagnostics.entries()).toEqual([
      { reason: 'instance_malformed', count: 5, example: 'Msvm_ComputerSystem[2] is not an object' },
    ]);
  });

  test('the host name falls back to the non-GUID computer system when computerName is missing', () => {
    const parsed = parseDocument({ schemaVersion: 1, classes: { Msvm_ComputerSystem: [HOST] } }, new Diagnostics());
    expect(parsed.computerName).toBe('HV01');
  });

  test('instances beyond the per-class limit are dropped and counted', () => {
    const limits = { maxDocumentBytes: 1e6, maxInstancesPerClass: 2, maxVmsPerHost: 10, maxKvpItemsPerPool: 10, maxKvpItemLength: 1000, maxLabelValueLength: 10, maxGuestAddressesPerVm: 10 };
    const diagnostics = new Diagnostics();
    const parsed = parseDocument(doc({ Msvm_ComputerSystem: [HOST, HOST, HOST, HOST] }), diagnostics, limits);
    expect(instancesOf(parsed, COMPUTER_SYSTEM)).toHaveLength(2);
    expect(diagnostics.entries()[0]).toMatchObject({ reason: 'instance_over_limit', count: 2 });
  });
});
