import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_CLASSES, STATUS_CLASSES } from '../../../src/document/classes';
import { defaultCollectScriptPath } from '../../../src/sources/powershell/powershellSource';
import { REPO_ROOT, describeWithPwsh, pwshPath } from './pwshHarness';

/**
 * Static checks of the shipped collect.ps1: that Windows PowerShell 5.1 can run it, and that it
 * selects exactly DOCUMENT_CLASSES (Full scope) and STATUS_CLASSES (Status scope). The text checks run
 * everywhere; the parser checks need pwsh.
 */

const COLLECT_SCRIPT = defaultCollectScriptPath();
const INSPECTOR = join(REPO_ROOT, 'test/fixtures/powershell/Inspect-Script.ps1');
const PS7_ONLY_SAMPLE = join(REPO_ROOT, 'test/fixtures/powershell/ps7-only-syntax.ps1');

interface InspectionReport {
  path: string;
  parseErrors: Array<{ line: number; message: string }>;
  violations: Array<{ kind: string; line: number; text: string }>;
  classTable: Record<string, string[]> | null;
  statusClassTable: Record<string, string[]> | null;
  getCimInstanceCount: number;
}

describe('collect.ps1 text', () => {
  const bytes = readFileSync(COLLECT_SCRIPT);

  test('is the file the build ships (src/sources/powershell/collect.ps1)', () => {
    expect(COLLECT_SCRIPT).toBe(join(REPO_ROOT, 'src/sources/powershell/collect.ps1'));
    const copyAssets = readFileSync(join(REPO_ROOT, 'scripts/copy-assets.js'), 'utf8');
    expect(copyAssets).toContain("'src/sources/powershell/collect.ps1', 'dist/sources/powershell/collect.ps1'");
  });

  test('is pure ASCII, because Windows PowerShell 5.1 reads a BOM-less script in the ANSI code page', () => {
    const nonAscii = [...bytes.entries()].filter(([, byte]) => byte > 0x7e || (byte < 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09));
    expect(nonAscii.map(([offset]) => offset)).toEqual([]);
  });

  /** A plain-text reading of one of the script's tables, so that drift is caught even where pwsh is absent. */
  function tableText(variable: string): Array<[string, string[]]> {
    const text = bytes.toString('ascii');
    const start = text.indexOf(`${variable} = [ordered]@{`);
    expect(start).toBeGreaterThanOrEqual(0);
    const table = text.slice(start, text.indexOf('\n}', start));
    return [...table.matchAll(/'(Msvm_\w+)'\s*=\s*@\(([^)]*)\)/g)].map(([, className, list]) => [
      className ?? '',
      [...(list ?? '').matchAll(/'(\w+)'/g)].map(([, property]) => property ?? ''),
    ]);
  }

  test("its Full table lists DOCUMENT_CLASSES' classes and properties, in order (text form)", () => {
    expect(tableText('$script:HyperVIcClasses')).toEqual(Object.entries(DOCUMENT_CLASSES).map(([className, properties]) => [className, [...properties]]));
  });

  test("its Status table lists STATUS_CLASSES' classes and properties, in order (text form)", () => {
    expect(tableText('$script:HyperVIcStatusClasses')).toEqual(Object.entries(STATUS_CLASSES).map(([className, properties]) => [className, [...properties]]));
  });
});

describeWithPwsh("collect.ps1 under PowerShell's own parser", () => {
  let reports: InspectionReport[];

  beforeAll(() => {
    const output = execFileSync(pwshPath(), ['-NoProfile', '-NonInteractive', '-File', INSPECTOR, COLLECT_SCRIPT, PS7_ONLY_SAMPLE], {
      encoding: 'utf8',
      env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' },
      timeout: 30_000,
    });
    reports = JSON.parse(output) as InspectionReport[];
  });

  const report = (path: string): InspectionReport => {
    const found = reports.find((candidate) => candidate.path === path);
    if (found === undefined) throw new Error(`no report for ${path}`);
    return found;
  };

  test('parses without errors', () => {
    expect(report(COLLECT_SCRIPT).parseErrors).toEqual([]);
  });

  test('uses no PowerShell-7-only syntax or parameters', () => {
    expect(report(COLLECT_SCRIPT).violations).toEqual([]);
  });

  test('the inspector does find every PowerShell-7-only construct (negative control)', () => {
    const kinds = new Set(report(PS7_ONLY_SAMPLE).violations.map((violation) => violation.kind));
    expect([...kinds].sort()).toEqual(
      [
        'token:QuestionQuestion',
        'token:QuestionQuestionEquals',
        'token:QuestionMark',
        'token:AndAnd',
        'token:OrOr',
        'token:QuestionDot',
        'token:QuestionLBracket',
        'null-coalescing',
        'null-coalescing-assignment',
        'ternary',
        'pipeline-chain',
        'null-conditional-member',
        'null-conditional-index',
        'parameter:AsArray',
        'parameter:EnumsAsStrings',
        'parameter:EscapeHandling',
        'splatted-parameter:AsArray',
        'parameter:AsHashtable',
        'parameter:ConvertFrom-Json -Depth',
        'parameter:Parallel',
        'clean-block',
      ].sort(),
    );
  });

  test('selects exactly the DOCUMENT_CLASSES properties for every class, in order (Full)', () => {
    expect(report(COLLECT_SCRIPT).classTable).toEqual(Object.fromEntries(Object.entries(DOCUMENT_CLASSES).map(([name, properties]) => [name, [...properties]])));
    expect(Object.keys(report(COLLECT_SCRIPT).classTable ?? {})).toEqual(Object.keys(DOCUMENT_CLASSES));
  });

  test('selects exactly the STATUS_CLASSES properties for every class, in order (Status)', () => {
    expect(report(COLLECT_SCRIPT).statusClassTable).toEqual(Object.fromEntries(Object.entries(STATUS_CLASSES).map(([name, properties]) => [name, [...properties]])));
    expect(Object.keys(report(COLLECT_SCRIPT).statusClassTable ?? {})).toEqual(Object.keys(STATUS_CLASSES));
  });

  test('holds a single Get-CimInstance command (one query per class from the tables, and the cluster query, through one helper)', () => {
    expect(report(COLLECT_SCRIPT).getCimInstanceCount).toBe(1);
  });
});
