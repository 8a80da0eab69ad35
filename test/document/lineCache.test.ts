import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstanceLineCache } from '../../src/document/lineCache';
import { serializeDocument } from '../../src/document/serialize';
import { decodeRawSample } from '../../src/document/parse';
import { SampleError } from '../../src/sampling/failureReasons';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import { retainedHeap } from '../helpers/memory';

const FIXTURES = join(__dirname, '..', 'fixtures', 'documents');
const fixtures = readdirSync(FIXTURES).filter((file) => file.endsWith('.json'));

/** What JSON.parse does with the text: the value, or the error message. */
function parsed(parse: (text: string) => unknown, text: string): { value?: unknown; error?: string } {
  try {
    return { value: parse(text) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const small = {
  schemaVersion: 1,
  computerName: 'HV01',
  collectedAt: '2026-11-24T10:00:00.000Z',
  classes: {
    Msvm_ComputerSystem: [
      { Name: 'HV01', ElementName: 'HV01', EnabledState: 2 },
      { Name: '4EA7033C-356C-4EBA-9F77-1A3399CFCD72', ElementName: 'web "01"', EnabledState: 2, OnTimeInMilliseconds: 1000 },
    ],
    Msvm_HeartbeatComponent: [],
    Msvm_KvpExchangeComponent: [{ SystemName: '4EA7033C-356C-4EBA-9F77-1A3399CFCD72', GuestIntrinsicExchangeItems: ['<INSTANCE>\n</INSTANCE>', null] }],
  },
};

describe('serializeDocument', () => {
  test('writes one instance per line, and is JSON that parses back to the document', () => {
    const text = serializeDocument(small);
    expect(text).toBe(
      [
        '{"schemaVersion":1,"computerName":"HV01","collectedAt":"2026-11-24T10:00:00.000Z","classes":{',
        '"Msvm_ComputerSystem":[',
        '{"Name":"HV01","ElementName":"HV01","EnabledState":2},',
        '{"Name":"4EA7033C-356C-4EBA-9F77-1A3399CFCD72","ElementName":"web \\"01\\"","EnabledState":2,"OnTimeInMilliseconds":1000}',
        '],',
        '"Msvm_HeartbeatComponent":[',
        '],',
        '"Msvm_KvpExchangeComponent":[',
        '{"SystemName":"4EA7033C-356C-4EBA-9F77-1A3399CFCD72","GuestIntrinsicExchangeItems":["<INSTANCE>\\n</INSTANCE>",null]}',
        ']',
        '}}',
        '',
      ].join('\n'),
    );
    expect(JSON.parse(text)).toEqual(small);
  });

  test.each(fixtures)('%s: the same value as the fixture', (file) => {
    const document = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Record<string, unknown>;
    expect(JSON.parse(serializeDocument(document))).toEqual(document);
  });

  test('a document without classes, or with a class that is not an array, is still the same JSON value', () => {
    expect(JSON.parse(serializeDocument({ schemaVersion: 1 }))).toEqual({ schemaVersion: 1 });
    const wrapped = { schemaVersion: 1, classes: { Msvm_ComputerSystem: { value: [{ Name: 'HV01' }], Count: 1 } } };
    expect(JSON.parse(serializeDocument(wrapped))).toEqual(wrapped);
    expect(JSON.parse(serializeDocument({ classes: {} }))).toEqual({ classes: {} });
  });
});

describe('InstanceLineCache', () => {
  const host = new SimulatedHost({ vms: 20, seed: 3, now: () => Date.UTC(2026, 10, 24) });
  const simulated = serializeDocument(host.next());

  test.each([
    ['the simulator, one instance per line', simulated],
    ['the same with \\r\\n line ends', simulated.replace(/\n/g, '\r\n')],
    ['empty classes written "Name":[] and "Name":[],', serializeDocument(small).replace('"Msvm_HeartbeatComponent":[\n],', '"Msvm_HeartbeatComponent":[],')],
    ['no classes at all', '{"schemaVersion":1,"classes":{\n}}\n'],
    ['pretty-printed JSON', JSON.stringify(small, null, 2)],
    ['single-line JSON', JSON.stringify(small)],
    ...fixtures.map((file): [string, string] => [`fixture ${file}`, readFileSync(join(FIXTURES, file), 'utf8')]),
    ...fixtures.map((file): [string, string] => [`fixture ${file}, one instance per line`, serializeDocument(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Record<string, unknown>)]),
  ])('%s: the value JSON.parse gives', (_name, text) => {
    const cache = new InstanceLineCache();
    expect(parsed((t) => cache.parse(t), text)).toEqual(parsed(JSON.parse, text));
    // And again, now from what the first parse kept.
    expect(parsed((t) => cache.parse(t), text)).toEqual(parsed(JSON.parse, text));
  });

  const lines = serializeDocument(small).split('\n');
  const edited = (edit: (lines: string[]) => void): string => {
    const copy = [...lines];
    edit(copy);
    return copy.join('\n');
  };
  test.each([
    ['a trailing comma before "]"', edited((l) => (l[3] = `${l[3]},`))],
    ['a missing comma between instances', edited((l) => (l[2] = l[2]!.slice(0, -1)))],
    ['a missing comma between classes', edited((l) => (l[4] = ']'))],
    ['a comma before "}}"', edited((l) => (l[9] = '],'))],
    ['a broken instance', edited((l) => (l[2] = '{"Name":'))],
    ['two instances on one line', edited((l) => (l[2] = `${l[2]}{"Name":"x"},`))],
    ['text after the end', `${serializeDocument(small)}x\n`],
    ['a second document', `${serializeDocument(small)}${serializeDocument(small)}`],
    ['no end', lines.slice(0, 8).join('\n')],
    ['a raw newline in a string', edited((l) => (l[3] = l[3]!.replace('web', 'w\neb')))],
    ['a stray \\r', edited((l) => (l[2] = `${l[2]}\r`))],
    ['"classes" not last in the first line', edited((l) => (l[0] = '{"classes":{},"x":{'))],
    ['"classes" inside another object', edited((l) => (l[0] = '{"a":{"classes":{'))],
    ['a "__proto__" class', edited((l) => (l[5] = '"__proto__":['))],
    ['a repeated class', edited((l) => (l[5] = '"Msvm_ComputerSystem":['))],
    ['white space around lines', edited((l) => (l[2] = ` ${l[2]!}`))],
  ])('%s: the value or the error JSON.parse gives', (_name, text) => {
    const cache = new InstanceLineCache();
    cache.parse(serializeDocument(small)); // something to reuse
    expect(parsed((t) => cache.parse(t), text)).toEqual(parsed(JSON.parse, text));
  });

  test('unchanged lines give the very same frozen objects, and an unchanged class the same array', () => {
    const cache = new InstanceLineCache();
    const first = cache.parse(simulated) as { classes: Record<string, unknown[]> };
    expect(cache.lastStats).toMatchObject({ layout: true, reused: 0 });
    const second = cache.parse(simulated) as { classes: Record<string, unknown[]> };
    expect(cache.lastStats).toMatchObject({ layout: true, parsed: 0 });
    for (const [name, instances] of Object.entries(second.classes)) {
      expect(instances).toBe(first.classes[name]);
      expect(Object.isFrozen(instances)).toBe(true);
      for (const instance of instances) expect(Object.isFrozen(instance)).toBe(true);
    }
    expect(second).not.toBe(first);
  });

  test('a changed, an added and a removed instance: only the changed and added lines are parsed', () => {
    const cache = new InstanceLineCache();
    const document = JSON.parse(simulated) as { classes: Record<string, Array<Record<string, unknown>>> };
    const before = cache.parse(simulated) as typeof document;
    const systems = document.classes['Msvm_ComputerSystem']!;
    systems[3] = { ...systems[3], OnTimeInMilliseconds: 1 };
    systems.splice(7, 1);
    systems.splice(1, 0, { Name: 'DCB2B1B5-1111-4ABC-8DEF-0123456789AB', ElementName: 'new' });
    const text = serializeDocument(document);
    const after = cache.parse(text) as typeof document;
    expect(after).toEqual(JSON.parse(text));
    expect(cache.lastStats.parsed).toBe(2);
    // The instances after the insertion are still found, although they moved.
    expect(after.classes['Msvm_ComputerSystem']![10]).toBe(before.classes['Msvm_ComputerSystem']![10]);
    expect(after.classes['Msvm_ComputerSystem']).not.toBe(before.classes['Msvm_ComputerSystem']);
    expect(after.classes['Msvm_HeartbeatComponent']).toBe(before.classes['Msvm_HeartbeatComponent']);
  });

  test('keeps only the last sample: another layout forgets everything', () => {
    const cache = new InstanceLineCache();
    cache.parse(simulated);
    expect(cache.size).toBeGreaterThan(100);
    cache.parse(JSON.stringify(small));
    expect(cache.size).toBe(0);
    expect(cache.lastStats.layout).toBe(false);
  });

  test('a line longer than the limit is parsed every time and its class array is not kept', () => {
    const long = { ...small, classes: { ...small.classes, Msvm_HeartbeatComponent: [{ SystemName: 'x', Data: 'x'.repeat(1024 * 1024 + 1) }] } };
    const text = serializeDocument(long);
    const cache = new InstanceLineCache();
    cache.parse(text);
    const again = cache.parse(text) as typeof long;
    expect(again).toEqual(long);
    expect(cache.lastStats.parsed).toBe(1);
    expect(Object.isFrozen(again.classes.Msvm_HeartbeatComponent)).toBe(false);
  });

  test('decodeRawSample with the cache: the same values and the same errors as without', () => {
    const cache = new InstanceLineCache();
    expect(decodeRawSample({ text: simulated }, undefined, cache)).toEqual(decodeRawSample({ text: simulated }));
    const broken = simulated.replace('}}\n', '}\n');
    expect(() => decodeRawSample({ text: broken }, undefined, cache)).toThrow(SampleError);
    expect(parsed((t) => decodeRawSample({ text: t }, undefined, cache), broken)).toEqual(parsed((t) => decodeRawSample({ text: t }), broken));
  });

  test('random documents and random edits between samples: always what JSON.parse gives', () => {
    // Long strings too, so that lines are long enough to be kept as digests; 'binary' strings may
    // have lone surrogates.
    const long = fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.integer({ min: 200, max: 700 })).map(([s, n]) => s.repeat(n));
    const json: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 3 }), long, fc.array(long, { maxLength: 3 }));
    const instance = fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 4 }), json);
    const documentArb = fc.record({
      schemaVersion: fc.constantFrom(1, 2),
      computerName: fc.string(),
      classes: fc.dictionary(fc.constantFrom('A', 'B', 'Msvm_ComputerSystem', 'C\n', 'é'), fc.array(instance, { maxLength: 6 }), { maxKeys: 4 }),
    });
    const edit = fc.oneof(
      fc.constant((text: string) => text),
      fc.constant((text: string) => text.replace(/\n/g, '\r\n')),
      fc.nat().map((n) => (text: string) => {
        const l = text.split('\n');
        l.splice(n % l.length, 1);
        return l.join('\n');
      }),
      fc.tuple(fc.nat(), fc.string({ maxLength: 3 })).map(([n, s]) => (text: string) => {
        const l = text.split('\n');
        l[n % l.length] += s;
        return l.join('\n');
      }),
      // One character of a line replaced, anywhere in it (a long line's digest must see it).
      fc.tuple(fc.nat(), fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })).map(([n, at, c]) => (text: string) => {
        const l = text.split('\n');
        const line = l[n % l.length]!;
        const i = line.length === 0 ? 0 : at % line.length;
        l[n % l.length] = line.slice(0, i) + c + line.slice(i + 1);
        return l.join('\n');
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(documentArb, edit), { minLength: 1, maxLength: 5 }), (samples) => {
        const cache = new InstanceLineCache();
        for (const [document, change] of samples) {
          const text = change(serializeDocument(document));
          expect(parsed((t) => cache.parse(t), text)).toEqual(parsed(JSON.parse, text));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('InstanceLineCache: long lines (kept as digests) and shared strings', () => {
  const GUIDS = Array.from({ length: 300 }, (_, i) => `4EA7033C-356C-4EBA-9F77-${String(i).padStart(12, '0')}`);
  /** A KVP item of about 600 characters, the same for every VM unless `vm` is given. */
  const item = (name: string, vm = ''): string => `<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Name" TYPE="string"><VALUE>${name}</VALUE></PROPERTY><PROPERTY NAME="Data" TYPE="string"><VALUE>${vm}${'d'.repeat(500)}</VALUE></PROPERTY></INSTANCE>`;
  const documentOf = (guids: readonly string[], edit: (guid: string, items: string[]) => void = () => undefined) => ({
    schemaVersion: 1,
    classes: {
      Msvm_KvpExchangeComponent: guids.map((guid) => {
        const items = [item('OSName'), item('OSVersion'), item('FullyQualifiedDomainName', guid)];
        edit(guid, items);
        return { SystemName: guid, GuestIntrinsicExchangeItems: items };
      }),
    },
  });
  type KvpDocument = { classes: { Msvm_KvpExchangeComponent: Array<{ GuestIntrinsicExchangeItems: string[] }> } };

  test('an unchanged long line gives the same object; one changed character anywhere is seen', () => {
    const cache = new InstanceLineCache();
    const text = serializeDocument(documentOf(GUIDS.slice(0, 3)));
    const first = cache.parse(text) as KvpDocument;
    const again = cache.parse(text) as KvpDocument;
    expect(again.classes.Msvm_KvpExchangeComponent).toBe(first.classes.Msvm_KvpExchangeComponent);
    const line = text.split('\n').find((l) => l.includes(GUIDS[1]!))!;
    expect(line.length).toBeGreaterThan(1024);
    for (const at of [line.indexOf('ddd'), Math.floor(line.length / 2), line.lastIndexOf('d')]) {
      expect(line[at]).toBe('d');
      const changed = text.replace(line, `${line.slice(0, at)}x${line.slice(at + 1)}`);
      const parsedNow = cache.parse(changed) as KvpDocument;
      expect(parsedNow).toEqual(JSON.parse(changed));
      expect(cache.lastStats).toMatchObject({ parsed: 1, reused: 2 });
      cache.parse(text);
    }
  });

  test('long lines that moved, or gained or lost their comma, are found again and reused', () => {
    const cache = new InstanceLineCache();
    const before = cache.parse(serializeDocument(documentOf(GUIDS.slice(0, 4)))) as KvpDocument;
    // The first VM removed (the others move up), the last one now last but one (it gains a comma).
    const text = serializeDocument(documentOf([...GUIDS.slice(1, 4), GUIDS[5]!]));
    const after = cache.parse(text) as KvpDocument;
    expect(after).toEqual(JSON.parse(text));
    expect(cache.lastStats).toMatchObject({ parsed: 1, reused: 3 });
    expect(after.classes.Msvm_KvpExchangeComponent[2]).toBe(before.classes.Msvm_KvpExchangeComponent[3]);
  });

  test('long lines that differ only in lone surrogates are told apart (UTF-8 would make both U+FFFD)', () => {
    const cache = new InstanceLineCache();
    // JSON.stringify escapes lone surrogates; PowerShell and a UTF-16 recording may not: raw ones here.
    const withSurrogate = (surrogate: string) =>
      serializeDocument(documentOf(GUIDS.slice(0, 2), (_guid, items) => items.push(`@${'s'.repeat(1100)}`))).replaceAll('@', surrogate);
    for (const surrogate of ['\ud800', '\udc00', '\ud800', '\udfff']) {
      const text = withSurrogate(surrogate);
      expect(text.isWellFormed()).toBe(false);
      const value = cache.parse(text) as KvpDocument;
      expect(value.classes.Msvm_KvpExchangeComponent[0]!.GuestIntrinsicExchangeItems[3]!.charCodeAt(0)).toBe(surrogate.charCodeAt(0));
    }
  });

  test('equal strings in the arrays of many instances are held once', async () => {
    // 300 VMs with 2 items in common (about 1.2 KB of text each) and one of their own.
    const cache = new InstanceLineCache();
    const heapBefore = await retainedHeap();
    let kept: unknown = cache.parse(serializeDocument(documentOf(GUIDS)));
    const heapFirst = (await retainedHeap()) - heapBefore;
    // Then a third of the VMs change their own item, twice: new strings are shared with the old ones.
    for (const round of [1, 2]) {
      kept = cache.parse(serializeDocument(documentOf(GUIDS, (guid, items) => GUIDS.indexOf(guid) % 3 === 0 && (items[2] = item('FullyQualifiedDomainName', `${round}${guid}`)))));
    }
    const heapLater = (await retainedHeap()) - heapBefore;
    expect(kept).toBeDefined();
    // Each VM's own item: 300 × ~660 characters ≈ 200 KB (one byte each). Held once per VM, the
    // common items would add 300 × 1.3 KB ≈ 390 KB more.
    const ownItem = item('FullyQualifiedDomainName', GUIDS[0]).length;
    expect(heapFirst).toBeLessThan(GUIDS.length * ownItem + 300_000);
    // The items the changed VMs no longer have may stay in the pool for a while (it is pruned once
    // it doubled); copies of the common items (100 VMs × 1.3 KB per round) may not.
    expect(heapLater - heapFirst).toBeLessThan(2 * 100 * ownItem + 60_000);
  });
});

describe('InstanceLineCache.parseInSlices', () => {
  const host = new SimulatedHost({ vms: 300, seed: 5, now: () => Date.UTC(2026, 10, 24) });
  const first = serializeDocument(host.next());
  const second = serializeDocument(host.next());

  test('the same value as parse, with pauses between slices of about a mebibyte of lines', async () => {
    const sliced = new InstanceLineCache();
    const whole = new InstanceLineCache();
    let pauses = 0;
    const pause = async (): Promise<void> => {
      pauses++;
    };
    for (const text of [first, second, first]) {
      pauses = 0;
      expect(await sliced.parseInSlices(text, pause)).toEqual(whole.parse(text));
      expect(sliced.lastStats).toEqual(whole.lastStats);
      expect(pauses).toBeGreaterThanOrEqual(Math.floor(text.length / (1024 * 1024)));
      expect(pauses).toBeGreaterThan(0);
    }
    // Not the layout: JSON.parse of the whole text, the same value and error.
    expect(await sliced.parseInSlices(JSON.stringify(small), pause)).toEqual(small);
    await expect(sliced.parseInSlices('{"a":', pause)).rejects.toThrow(SyntaxError);
  });

  test('a pause that throws ends the parse with that error, and nothing of the text is kept', async () => {
    const cache = new InstanceLineCache();
    cache.parse(first);
    const stop = new Error('aborted');
    await expect(
      cache.parseInSlices(second, async () => {
        throw stop;
      }),
    ).rejects.toMatchObject({ cause: stop });
    // Still what the first text left: every line of it is reused.
    cache.parse(first);
    expect(cache.lastStats).toMatchObject({ layout: true, parsed: 0 });
  });
});

describe('InstanceLineCache: what the shared strings hold stays bounded', () => {
  test('a guest that writes new large KVP values at every sample does not make the cache grow', async () => {
    const cache = new InstanceLineCache();
    const text = (round: number): string =>
      serializeDocument({
        schemaVersion: 1,
        classes: {
          Msvm_KvpExchangeComponent: [
            // 8 items of 60 000 characters, new at every sample (under the 1 MiB line limit).
            { SystemName: 'A', GuestExchangeItems: Array.from({ length: 8 }, (_, i) => `${round}-${i}-${'v'.repeat(60_000)}`) },
          ],
        },
      });
    for (let round = 0; round < 5; round++) cache.parse(text(round));
    const early = await retainedHeap();
    for (let round = 5; round < 60; round++) cache.parse(text(round));
    const late = await retainedHeap();
    // One sample holds 8 × 60 KB = 480 KB; without the bound on characters the pool would keep every
    // value seen (55 samples × 480 KB = 26 MB) until it held 1024 strings.
    expect(late - early).toBeLessThan(4 * 1024 * 1024);
  });
});

