import fc from 'fast-check';
import { powerShellStringExpression, quotePowerShellString } from '../../../src/sources/powershell/quoting';

/** Node-side checks of how values become PowerShell text; quoting.pwsh.test.ts replays them in pwsh. */

const SINGLE_QUOTES = ["'", '\u2018', '\u2019', '\u201A', '\u201B'];

/** Undoes quotePowerShellString the way PowerShell's tokenizer reads a single-quoted string. */
function readSingleQuoted(literal: string): string {
  expect(SINGLE_QUOTES).toContain(literal[0]);
  let value = '';
  let index = 1;
  for (;;) {
    const character = literal[index];
    if (character === undefined) throw new Error(`unterminated literal ${literal}`);
    if (SINGLE_QUOTES.includes(character)) {
      const next = literal[index + 1];
      if (next !== undefined && SINGLE_QUOTES.includes(next)) {
        value += character;
        index += 2;
        continue;
      }
      // The literal must end exactly here: anything after it would be PowerShell code.
      expect(index).toBe(literal.length - 1);
      return value;
    }
    value += character;
    index += 1;
  }
}

describe('quotePowerShellString', () => {
  test.each([
    ['hv01', "'hv01'"],
    ["it's", "'it''s'"],
    ['$(Remove-Item C:\\ -Recurse)', "'$(Remove-Item C:\\ -Recurse)'"],
    ['`n and "double"', "'`n and \"double\"'"],
    ['\u2019; exit; \u2018', "'\u2019\u2019; exit; \u2018\u2018'"],
    ['', "''"],
  ])('%j becomes %s', (value, literal) => {
    expect(quotePowerShellString(value)).toBe(literal);
  });

  test.each(['line\nbreak', 'carriage\rreturn', 'nul\u0000', 'next\u0085line', 'sep\u2028arator'])('refuses %j, which would split the one-line command', (value) => {
    expect(() => quotePowerShellString(value)).toThrow(/control or line-break/);
  });

  test('any string without control characters reads back as itself, and nothing follows the literal', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ' ', '$', '(', ')', '`', '"', ';', '\\', ...SINGLE_QUOTES, '\u00e4', '\u5bbf') }),
        (value) => {
          expect(readSingleQuoted(quotePowerShellString(value))).toBe(value);
        },
      ),
    );
  });
});

describe('powerShellStringExpression', () => {
  test('printable ASCII becomes a plain quoted literal', () => {
    expect(powerShellStringExpression("C:\\Program Files\\it's\\collect.ps1")).toBe("'C:\\Program Files\\it''s\\collect.ps1'");
  });

  test.each(['C:\\Users\\J\u00fcrgen\\collect.ps1', '/opt/\u5bbf\u4e3b/collect.ps1', 'tab\there', "new\nline's"])(
    '%j travels as base64 (stdin may not be UTF-8), decoding to itself',
    (value) => {
      const expression = powerShellStringExpression(value);
      expect(expression).toMatch(/^\(\[System\.Text\.Encoding\]::UTF8\.GetString\(\[System\.Convert\]::FromBase64String\('[A-Za-z0-9+/=]*'\)\)\)$/);
      const base64 = /'([A-Za-z0-9+/=]*)'/.exec(expression)?.[1] ?? '';
      expect(Buffer.from(base64, 'base64').toString('utf8')).toBe(value);
    },
  );
});
