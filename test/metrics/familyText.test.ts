import type { MetricFamily } from '../../src/metrics/exposition';
import { FamilyText, linePrefix, sampleLine, textOf } from '../../src/metrics/familyText';
import { VmFragmentCache } from '../../src/metrics/vmFragmentCache';

const a: MetricFamily = { name: 'a_total', help: 'A, with a \\ backslash\nand a newline.', type: 'counter' };
const b: MetricFamily = { name: 'b', help: 'B.', type: 'gauge' };
const c: MetricFamily = { name: 'c', help: 'C: never sampled.', type: 'gauge' };

describe('FamilyText', () => {
  test('renders the text format exactly, sample by sample or from rendered lines', () => {
    const samples: Array<[MetricFamily, string, number]> = [
      [b, 'x="1"', 1],
      [a, '', 2.5],
      [b, 'x="2"', NaN],
      [a, 'y="é"', Infinity],
      [b, '', -Infinity],
      [a, 'z="q"', 1e21],
    ];
    const text = new FamilyText();
    const lines = new FamilyText();
    for (const [family, labels, value] of samples) {
      text.sample(family, labels, value);
      lines.lines(family, sampleLine(family, labels, value));
      lines.lines(family, '');
    }
    // Families in the order asked for, samples in the order given, HELP escaped, c (no samples) left out.
    const expected = [
      '# HELP a_total A, with a \\\\ backslash\\nand a newline.',
      '# TYPE a_total counter',
      'a_total 2.5',
      'a_total{y="é"} +Inf',
      'a_total{z="q"} 1e+21',
      '# HELP b B.',
      '# TYPE b gauge',
      'b{x="1"} 1',
      'b{x="2"} NaN',
      'b -Inf',
      '',
    ].join('\n');
    expect(textOf(text.render([a, b, c]))).toBe(expected);
    expect(textOf(lines.render([a, b, c]))).toBe(expected);
    expect(text.render([a, b, c]).map((family) => family.name)).toEqual(['a_total', 'b']);
    expect(`${linePrefix(b, 'x="1"')}1\n`).toBe(sampleLine(b, 'x="1"', 1));
    expect(`${linePrefix(b, '')}1\n`).toBe(sampleLine(b, '', 1));
  });
});

describe('FamilyText pieces', () => {
  test('lines are handed over as they came, under the same header string at every render', () => {
    const line = sampleLine(b, 'x="1"', 1);
    const render = (): readonly string[] => {
      const text = new FamilyText();
      text.lines(b, line);
      text.lines(b, line);
      return text.render([b])[0]!.pieces;
    };
    const first = render();
    const second = render();
    expect(first).toHaveLength(3);
    // The very same strings: what lets an unchanged family be recognised without reading it.
    first.forEach((piece, i) => expect(Object.is(piece, second[i])).toBe(true));
    expect(first[1]).toBe(line);
  });
});

describe('VmFragmentCache', () => {
  test('hands back what was set for the very same inputs, in the next render only', () => {
    const cache = new VmFragmentCache();
    const components = Object.freeze([Object.freeze({ status: 'ok' })]);
    cache.startRender();
    expect(cache.get('vm1', ['labels', components])).toBeUndefined();
    cache.set('vm1', ['labels', components], ['x']);
    cache.endRender();
    cache.startRender();
    expect(cache.get('vm1', ['labels', components])).toEqual(['x']);
    expect(cache.get('vm1', ['other labels', components])).toBeUndefined();
    expect(cache.get('vm1', ['labels', Object.freeze([...components])])).toBeUndefined();
    cache.endRender();
    // Used in that render: still there in the next one; not used: gone.
    cache.startRender();
    expect(cache.get('vm1', ['labels', components])).toEqual(['x']);
    cache.endRender();
    cache.startRender();
    cache.endRender();
    cache.startRender();
    expect(cache.get('vm1', ['labels', components])).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('never keeps a rendering made from an object that is not frozen (it could change unseen)', () => {
    const cache = new VmFragmentCache();
    const mutable = { status: 'ok' };
    cache.startRender();
    cache.set('vm1', ['labels', mutable], ['x']);
    cache.endRender();
    cache.startRender();
    expect(cache.get('vm1', ['labels', mutable])).toBeUndefined();
  });
});
