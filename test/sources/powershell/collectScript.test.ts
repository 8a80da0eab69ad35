import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECT_QUERIES, DOCUMENT_CLASSES, STATUS_CLASSES } from '../../../src/document/classes';
import { defaultCollectScriptPath } from '../../../src/sources/powershell/powershellSource';
import { buildInitCommand, buildQueriesCommand } from '../../../src/sources/powershell/session';
import { REPO_ROOT, describeWithPwsh, pwshPath } from './pwshHarness';

/**
 * Static checks of the shipped collect.ps1: that Windows PowerShell 5.1 can run it, that it names no
 * class (the classes come from src/document/classes.ts, handed over when a process starts), and that
 * what it is handed is DOCUMENT_CLASSES (Full scope) and STATUS_CLASSES (Status scope). The text checks
 * run everywhere; the parser checks need pwsh. collectScope.pwsh.test.ts runs it and counts the queries.
 */

const COLLECT_SCRIPT = defaultCollectScriptPath();
const INSPECTOR = join(REPO_ROOT, 'test/fixtures/powershell/Inspect-Script.ps1');
const PS7_ONLY_SAMPLE = join(REPO_ROOT, 'test/fixtures/powershell/ps7-only-syntax.ps1');

interface InspectionReport {
  path: string;
  parseErrors: Array<{ line: number; message: string }>;
  violations: Array<{ kind: string; line: number; text: string }>;
  classNames: string[];
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

  test('names no class of root/virtualization/v2, not even in a comment: they come from src/document/classes.ts', () => {
    expect(bytes.toString('ascii')).not.toMatch(/Msvm_/);
  });
});

describe('the classes collect.ps1 is handed (COLLECT_QUERIES)', () => {
  test("are DOCUMENT_CLASSES for a Full sample and STATUS_CLASSES for a Status one, with their properties in order", () => {
    const table = (queries: ReadonlyArray<{ class: string; properties: readonly string[] }>): Array<[string, string[]]> => queries.map((q) => [q.class, [...q.properties]]);
    expect(table(COLLECT_QUERIES.full)).toEqual(Object.entries(DOCUMENT_CLASSES).map(([name, properties]) => [name, [...properties]]));
    expect(table(COLLECT_QUERIES.status)).toEqual(Object.entries(STATUS_CLASSES).map(([name, properties]) => [name, [...properties]]));
    expect(COLLECT_QUERIES.namespace).toBe('root/virtualization/v2');
    // Only the computer systems name the host; their query returning nothing fails the sample.
    expect([...COLLECT_QUERIES.full, ...COLLECT_QUERIES.status].filter((q) => 'host' in q).map((q) => [q.class, q.host])).toEqual([
      ['Msvm_ComputerSystem', 'Name'],
      ['Msvm_ComputerSystem', 'Name'],
    ]);
  });

  test('travel as one single-quoted JSON literal, after the script is loaded and before the start-up answer', () => {
    const command = buildQueriesCommand();
    const literal = /^Set-HyperVIcQueries -Json '([^']*)'$/.exec(command)?.[1];
    expect(JSON.parse(literal ?? 'null')).toEqual(JSON.parse(JSON.stringify(COLLECT_QUERIES)));
    expect(command).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
    const init = buildInitCommand('/opt/collect.ps1', []).split('; ');
    expect(init.slice(-3)).toEqual([". '/opt/collect.ps1'", command, 'Get-HyperVIcSessionInfo']);
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

  test('names one CIM class only: the failover cluster\'s MSCluster_Node, which is no part of a sample', () => {
    expect(report(COLLECT_SCRIPT).classNames).toEqual(['MSCluster_Node']);
    // The inspector does see class names (negative control).
    expect(report(PS7_ONLY_SAMPLE).classNames).toEqual(['Msvm_ComputerSystem']);
  });

  test('holds a single Get-CimInstance command (one query per class from the tables, and the cluster query, through one helper)', () => {
    expect(report(COLLECT_SCRIPT).getCimInstanceCount).toBe(1);
  });
});
