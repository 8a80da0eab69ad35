import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_CLASSES } from '../../src/document/classes';
import { ClassParseCache } from '../../src/document/classReuse';
import { Diagnostics } from '../../src/document/diagnostics';
import { DEFAULT_LIMITS } from '../../src/document/limits';
import { InstanceLineCache } from '../../src/document/lineCache';
import { parseDocument } from '../../src/document/parse';
import { serializeDocument } from '../../src/document/serialize';

const FIXTURES = join(__dirname, '..', 'fixtures', 'documents');
const fixtures = readdirSync(FIXTURES).filter((file) => file.endsWith('.json'));
const VM = '4EA7033C-356C-4EBA-9F77-1A3399CFCD72';

function outcome(parse: (diagnostics: Diagnostics) => unknown): { value?: unknown; error?: string; dropped: unknown } {
  const diagnostics = new Diagnostics();
  try {
    return { value: parse(diagnostics), dropped: diagnostics.entries() };
  } catch (error) {
    return { error: (error as Error).message, dropped: diagnostics.entries() };
  }
}

/** Documents with something for every drop reason parseDocument has, in several classes. */
const troubled = {
  schemaVersion: 1,
  computerName: 'HV01',
  classes: {
    Msvm_ComputerSystem: [{ Name: 'HV01' }, { ElementName: 'no name' }, 7, { Name: VM, ElementName: 'vm' }],
    Msvm_HeartbeatComponent: [{ SystemName: 'not a guid' }, { SystemName: VM, EnabledState: 2, OperationalStatus: [2, 2] }],
    Msvm_HeartbeatComponentSettingData: [{ InstanceID: `Microsoft:${VM}\\84EAAE65-2F2E-45F5-9BB5-0E857DC8EB47`, EnabledState: 2 }, { InstanceID: 'Microsoft:x' }],
    Msvm_KvpExchangeComponent: [{ SystemName: VM, GuestIntrinsicExchangeItems: ['<INSTANCE/>', 5] }],
    Msvm_VssComponent: { value: [{ SystemName: VM, OperationalStatus: 2 }], Count: 1 },
  },
};

describe('ClassParseCache', () => {
  test.each([...fixtures.map((file) => [file, JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'))] as const), ['troubled', troubled] as const])(
    '%s through the line cache: what parseDocument gives, diagnostics included, sample after sample',
    (_name, document) => {
      const text = serializeDocument(document as Record<string, unknown>);
      const lines = new InstanceLineCache();
      const cache = new ClassParseCache();
      for (let sample = 0; sample < 3; sample++) {
        const value = lines.parse(text);
        expect(outcome((d) => cache.parse(value, d))).toEqual(outcome((d) => parseDocument(JSON.parse(text), d)));
      }
      // From the second sample on, every class array is the same one: nothing is parsed again (a class
      // that is not an array, as Windows PowerShell 5.1 may write one, is parsed at every sample).
      const arrays = Object.entries((document as { classes: Record<string, unknown> }).classes).filter(
        ([name, instances]) => name !== 'Msvm_ComputerSystem' && name in DOCUMENT_CLASSES && Array.isArray(instances),
      ).length;
      expect(cache.lastReused).toBe(arrays);
    },
  );

  test('a class that changed is parsed again; the others are reused, and limits are applied per class', () => {
    const limits = { ...DEFAULT_LIMITS, maxInstancesPerClass: 1 };
    const lines = new InstanceLineCache();
    const cache = new ClassParseCache();
    const first = serializeDocument(troubled);
    cache.parse(lines.parse(first), new Diagnostics(), limits);
    const changed = { ...troubled, classes: { ...troubled.classes, Msvm_HeartbeatComponent: [{ SystemName: VM, EnabledState: 3 }] } };
    const text = serializeDocument(changed);
    expect(outcome((d) => cache.parse(lines.parse(text), d, limits))).toEqual(outcome((d) => parseDocument(JSON.parse(text), d, limits)));
    expect(cache.lastReused).toBe(2); // of the four classes: the heartbeat class changed, the VSS class is not an array
  });

  test('documents that are not from the line cache go through parseDocument whole', () => {
    const cache = new ClassParseCache();
    for (const document of [troubled, JSON.parse(JSON.stringify(troubled)), { schemaVersion: 1 }, [1], null, { schemaVersion: 1, classes: {} }]) {
      expect(outcome((d) => cache.parse(document, d))).toEqual(outcome((d) => parseDocument(document, d)));
      expect(cache.lastReused).toBe(0);
    }
  });

  test('errors of the whole document are the errors parseDocument throws', () => {
    const lines = new InstanceLineCache();
    const cache = new ClassParseCache();
    for (const document of [
      { schemaVersion: 2, classes: { Msvm_ComputerSystem: [{ Name: 'HV01' }] } },
      { schemaVersion: 1, classes: { Msvm_HeartbeatComponent: [{ SystemName: VM }] } },
      { schemaVersion: 1, classes: { Msvm_ComputerSystem: null, Msvm_VssComponent: [] } },
    ]) {
      const text = serializeDocument(document);
      expect(outcome((d) => cache.parse(lines.parse(text), d))).toEqual(outcome((d) => parseDocument(JSON.parse(text), d)));
    }
  });
});
