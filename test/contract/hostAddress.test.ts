import fc from 'fast-check';
import { abbreviate, InvalidHostAddressError, validateHostAddress } from '../../src/contract/hostAddress';

describe('validateHostAddress', () => {
  test.each([
    ['hv01', 'hv01'],
    ['HV-01', 'HV-01'],
    ['hv01.corp.example.com', 'hv01.corp.example.com'],
    ['hv01.corp.example.com.', 'hv01.corp.example.com'],
    ['  hv01  ', 'hv01'],
    ['10.0.0.5', '10.0.0.5'],
    ['::1', '::1'],
    ['[fe80::1]', 'fe80::1'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['2001:db8::10', '2001:db8::10'],
    ['1host', '1host'],
  ])('accepts %j as %j', (value, expected) => {
    expect(validateHostAddress(value)).toBe(expected);
  });

  test.each([
    '',
    '   ',
    'hv 01',
    "hv01'; Remove-Item C:\\ -Recurse; '",
    '$(whoami)',
    'hv01`n',
    '-hv01',
    'hv01-',
    'hv..01',
    'hv_01',
    '\\\\hv01',
    'hv01/share',
    `${'a'.repeat(64)}.example.com`,
    `${'a.'.repeat(127)}com`,
    '10.0.0.300',
    '10.0.0',
    '[hv01]',
    'fe80::1%e$th',
    'h\u00e4v01',
  ])('refuses %j', (value) => {
    expect(() => validateHostAddress(value)).toThrow(InvalidHostAddressError);
  });

  test('whatever it accepts is made only of name, address and zone characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '1', '-', '.', ':', '%', '[', ']', ' ', "'", '$', ';', 'f') }), (value) => {
        let accepted: string;
        try {
          accepted = validateHostAddress(value);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidHostAddressError);
          return;
        }
        expect(accepted).toMatch(/^[A-Za-z0-9.:%-]+$/);
      }),
    );
  });
});

describe('abbreviate', () => {
  test('keeps a short value whole and cuts a long one, saying how long it was', () => {
    expect(abbreviate('hv01')).toBe('"hv01"');
    const long = 'x'.repeat(100_000);
    expect(abbreviate(long)).toBe(`"${'x'.repeat(80)}"… (100000 characters)`);
  });

  test('an error about a 100,000-character address is one short line', () => {
    let message = '';
    try {
      validateHostAddress(`${'a'.repeat(100_000)}.example.com`);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/is not a host address/);
    expect(message.length).toBeLessThan(400);
  });
});
