import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KvpItemReader, parseKvpItem } from '../../src/document/kvp';

const samples = join(__dirname, '..', '..', '..', 'shared', 'samples');
const item = (name: string, data: string, source = 2): string =>
  `<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Caption" PROPAGATED="true" TYPE="string"></PROPERTY><PROPERTY NAME="Data" TYPE="string"><VALUE>${data}</VALUE></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>${name}</VALUE></PROPERTY><PROPERTY NAME="Source" TYPE="uint16"><VALUE>${source}</VALUE></PROPERTY></INSTANCE>`;

describe('parseKvpItem', () => {
  test('reads the pretty-printed instance from Microsoft docs', () => {
    const xml = readFileSync(join(samples, 'kvp-dataitem-fqdn.msdocs.xml'), 'utf8');
    expect(parseKvpItem(xml)).toEqual({ ok: true, item: { name: 'FullyQualifiedDomainName', data: 'AUTOBVT-4OVYXAB', source: 2 } });
  });

  test('reads the tab-indented host-sflow instance with a leading space', () => {
    const xml = readFileSync(join(samples, 'kvp-dataitem-osversion.host-sflow.xml'), 'utf8');
    expect(parseKvpItem(xml)).toEqual({ ok: true, item: { name: 'OSVersion', data: '6.2.8064', source: 2 } });
  });

  test('reads the single-line form and decodes predefined entities and character references', () => {
    expect(parseKvpItem(item('OSName', 'A &amp; B &lt;x&gt; &#x41;&#66;'))).toEqual({
      ok: true,
      item: { name: 'OSName', data: 'A & B <x> AB', source: 2 },
    });
  });

  test('an empty VALUE and a PROPERTY without VALUE both read as an empty value', () => {
    const noValue =
      '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Data" TYPE="string"></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>CSDVersion</VALUE></PROPERTY></INSTANCE>';
    expect(parseKvpItem(item('CSDVersion', ''))).toMatchObject({ ok: true, item: { data: '' } });
    expect(parseKvpItem(noValue)).toEqual({ ok: true, item: { name: 'CSDVersion', data: '', source: null } });
  });

  test.each([
    ['a DOCTYPE with an internal entity (billion laughs)', '<!DOCTYPE i [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + item('x', '&b;')],
    ['an external entity', '<!DOCTYPE i [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + item('x', '&e;')],
    ['an undeclared entity', item('x', '&nbsp;')],
    ['another class', '<INSTANCE CLASSNAME="Msvm_Other"><PROPERTY NAME="Name"><VALUE>x</VALUE></PROPERTY></INSTANCE>'],
    ['a truncated instance', item('x', 'y').slice(0, 60)],
    ['no Name', '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Data"><VALUE>d</VALUE></PROPERTY></INSTANCE>'],
    ['deep nesting', '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem">' + '<a>'.repeat(50) + '</a>'.repeat(50) + '</INSTANCE>'],
    ['not XML', '{"Name":"x"}'],
    ['two roots', item('x', 'y') + item('z', 'w')],
  ])('rejects %s', (_case, xml) => {
    const result = parseKvpItem(xml);
    expect(result.ok).toBe(false);
  });
});

describe('KvpItemReader', () => {
  const good = item('OSName', 'Windows Server 2022');
  const other = item('OSVersion', '10.0.20348');
  const bad = '<INSTANCE CLASSNAME="Msvm_Other"></INSTANCE>';

  test('reads as parseKvpItem does, broken items included', () => {
    const reader = new KvpItemReader();
    reader.begin();
    for (const xml of [good, other, bad, '<!DOCTYPE x [<!ENTITY a "b">]><x/>']) expect(reader.read(xml)).toEqual(parseKvpItem(xml));
  });

  test('the next sample gets the same result for the same item; what a sample did not read is forgotten', () => {
    const reader = new KvpItemReader();
    reader.begin();
    const first = reader.read(good);
    const firstOther = reader.read(other);
    reader.begin();
    expect(reader.read(good)).toBe(first);
    reader.begin();
    // `other` was not read by the sample before: it is parsed anew (an equal, not the same, result).
    const again = reader.read(other);
    expect(again).toEqual(firstOther);
    expect(again).not.toBe(firstOther);
  });

  test('a sample that read nothing (no KVP at all) keeps the items of the one before', () => {
    const reader = new KvpItemReader();
    reader.begin();
    const first = reader.read(good);
    reader.begin();
    reader.begin();
    expect(reader.read(good)).toBe(first);
  });
});
