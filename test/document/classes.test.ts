import { CLASSES, COLLECT_QUERIES, COMPONENT_NAMES, COMPONENTS, COMPUTER_SYSTEM, DOCUMENT_CLASSES, STATUS_CLASSES } from '../../src/document/classes';

/** The class table (src/document/classes.ts) is the one declaration everything else follows: it must be consistent in itself. */
describe('the class table', () => {
  test('lists each class once, the computer systems first, then each component\'s device and setting data in COMPONENT_NAMES order', () => {
    const names = CLASSES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(CLASSES[0]).toBe(COMPUTER_SYSTEM);
    expect(COMPONENTS.map((c) => c.component)).toEqual([...COMPONENT_NAMES]);
    expect(names.slice(1, 1 + 2 * COMPONENTS.length)).toEqual(COMPONENTS.flatMap((c) => [c.deviceClass, c.settingClass]));
  });

  test('each class selects its key, and its Status and counted properties are among those it selects', () => {
    for (const cimClass of CLASSES) {
      const properties = Object.keys(cimClass.instance.shape);
      expect({ name: cimClass.name, key: properties.includes(cimClass.key) }).toEqual({ name: cimClass.name, key: true });
      expect(cimClass.status.filter((p) => !properties.includes(p))).toEqual([]);
      expect(cimClass.counted.filter((p) => !properties.includes(p))).toEqual([]);
    }
  });

  test('is what the sources select: 13 classes in a Full sample, 7 in a Status one (the computer systems and the six devices)', () => {
    expect(Object.keys(DOCUMENT_CLASSES)).toHaveLength(13);
    expect(Object.keys(STATUS_CLASSES)).toEqual([COMPUTER_SYSTEM.name, ...COMPONENTS.map((c) => c.deviceClass)]);
    expect(COLLECT_QUERIES.full.map((q) => q.class)).toEqual(Object.keys(DOCUMENT_CLASSES));
    // A Status sample selects no KVP pool and no setting data.
    expect(STATUS_CLASSES['Msvm_KvpExchangeComponent']).toEqual(['SystemName', 'DeviceID', 'EnabledState', 'OperationalStatus']);
  });

  test('a setting data\'s key takes its own component\'s GUID only, in any letter case', () => {
    const vm = '7CCA7664-5E1D-4B8F-9A3C-2D1E0F9A8B7C';
    for (const c of COMPONENTS) {
      const key = c.setting.instance.shape.InstanceID;
      expect(key.safeParse(`Microsoft:${vm}\\${c.guid.toUpperCase()}`).success).toBe(true);
      expect(key.safeParse(`mIcRoSoFt:${vm.toLowerCase()}\\${c.guid}`).success).toBe(true);
      for (const other of COMPONENTS.filter((o) => o !== c)) expect(key.safeParse(`Microsoft:${vm}\\${other.guid}`).success).toBe(false);
      expect(key.safeParse(`Microsoft:${vm}\\${c.guid}\\0`).success).toBe(false);
    }
  });
});
