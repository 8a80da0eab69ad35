import fc from 'fast-check';
import { powerShellStringExpression, quotePowerShellString } from '../../../src/sources/powershell/quoting';
import { defaultCollectScriptPath } from '../../../src/sources/powershell/powershellSource';
import { PowerShellSession } from '../../../src/sources/powershell/session';
import { describeWithPwsh, pwshPath } from './pwshHarness';

/**
 * The quoting functions, checked by PowerShell itself: each value is sent through the same
 * node-powershell session the exporter uses, and must come back as exactly the same string. A value
 * that escaped its quotes would run as code and come back different (or not at all).
 */

const TRICKY_VALUES = [
  'hv01.corp.example.com',
  "it's",
  "'; Write-Output 'injected'; '",
  '\u2019; Write-Output injected; \u2018',
  '\u201A\u201B',
  '$(Write-Output injected)',
  '$env:PATH',
  '`$x` and `n',
  '"double" quotes',
  '# not a comment',
  '@(1,2) | % { $_ }',
  'C:\\Users\\J\u00fcrgen\\collect.ps1',
  '\u5bbf\u4e3b\u8ba1\u7b97\u673a\u7cfb\u7edf',
  'tab\tand\nnewline',
  '',
];

describeWithPwsh('quoting, read back by PowerShell', () => {
  let session: PowerShellSession;

  beforeAll(async () => {
    // Started exactly as the source starts it (UTF-8 output, collect.ps1 loaded).
    session = PowerShellSession.spawn({ executable: pwshPath(), killGraceMs: 2_000 });
    await session.load(defaultCollectScriptPath(), [], AbortSignal.timeout(15_000));
  });

  afterAll(async () => {
    await session.dispose();
  });

  async function roundTrip(expressions: string[]): Promise<unknown> {
    const raw = await session.invoke(`ConvertTo-Json -Compress -InputObject @(${expressions.join(', ')})`, AbortSignal.timeout(15_000));
    return JSON.parse(raw);
  }

  test('powerShellStringExpression values evaluate to themselves', async () => {
    expect(await roundTrip(TRICKY_VALUES.map(powerShellStringExpression))).toEqual(TRICKY_VALUES);
  });

  test('quotePowerShellString values evaluate to themselves', async () => {
    const quotable = TRICKY_VALUES.filter((value) => !/[\u0000-\u001f]/.test(value));
    expect(await roundTrip(quotable.map(quotePowerShellString))).toEqual(quotable);
  });

  test('random strings made of quoting-relevant characters evaluate to themselves', async () => {
    const values = fc.sample(
      fc.string({ unit: fc.constantFrom("'", '\u2018', '\u2019', '\u201A', '\u201B', '"', '$', '(', ')', '`', ';', ' ', 'a', '\u00fc'), maxLength: 12 }),
      { numRuns: 200, seed: 20250115 },
    );
    expect(await roundTrip(values.map(quotePowerShellString))).toEqual(values);
  });
});
