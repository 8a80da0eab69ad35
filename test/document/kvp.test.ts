import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKvpItem } from '../../src/document/kvp';

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
