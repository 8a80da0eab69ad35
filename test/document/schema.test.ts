import Ajv2020 from 'ajv/dist/2020';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_CLASSES } from '../../src/document/classes';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';

const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schema', 'sample-document.schema.json'), 'utf8')) as {
  properties: { classes: { properties: Record<string, { oneOf: Array<{ items?: { properties?: Record<string, unknown> } }> }> } };
};
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
const fixtures = join(__dirname, '..', 'fixtures', 'documents');

describe('schema/sample-document.schema.json', () => {
  test('describes exactly the classes and properties the sources project', () => {
    const described = Object.fromEntries(
      Object.entries(schema.properties.classes.properties).map(([name, s]) => [name, Object.keys(s.oneOf[0]?.items?.properties ?? {})]),
    );
    expect(described).toEqual(DOCUMENT_CLASSES);
  });

  test.each(readdirSync(fixtures).filter((f) => f.endsWith('.json') && f !== 'state-zoo.json'))('accepts the fixture %s', (file) => {
    const valid = validate(JSON.parse(readFileSync(join(fixtures, file), 'utf8')));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  test('accepts what the simulator produces', () => {
    expect(validate(new SimulatedHost({ vms: 40, seed: 1 }).next())).toBe(true);
  });

  test('rejects the malformed instances of state-zoo, and other versions', () => {
    expect(validate(JSON.parse(readFileSync(join(fixtures, 'state-zoo.json'), 'utf8')))).toBe(false);
    expect(validate({ schemaVersion: 2, classes: { Msvm_ComputerSystem: [] } })).toBe(false);
    expect(validate({ schemaVersion: 1, classes: { Msvm_HeartbeatComponentSettingData: [{ InstanceID: 'x' }], Msvm_ComputerSystem: [] } })).toBe(false);
  });
});
