import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_CLASSES, STATUS_CLASSES } from '../../../src/document/classes';
import { buildQueriesCommand } from '../../../src/sources/powershell/session';
import {
  FIXTURE_DOCUMENTS,
  PwshShell,
  REPO_ROOT,
  STAND_IN_MODULE,
  StandInWorkspace,
  describeWithPwsh,
  powerShellLiteral,
  withDateTimesAsInstants,
  generatedHost,
  type SampleDocument,
} from './pwshHarness';

/**
 * collect.ps1's functions called directly in one pwsh process (stand-in CIM cmdlets imported, the
 * script dot-sourced and handed its classes as the PowerShell source hands them, buildQueriesCommand):
 * the Full and Status scopes, the -OutFile protocol, the number of CIM queries,
 * the CIM session cache, Get-HyperVIcClusterNode. The process runs in a time zone with an offset
 * (America/New_York), so that CIM datetimes are local times as on a real host.
 */

const COLLECT_SCRIPT = join(REPO_ROOT, 'src/sources/powershell/collect.ps1');
const ISO_UTC_MILLISECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PRINTABLE_ASCII_LINE = /^[\u0020-\u007e]+$/;


function fixturePath(name: string): string {
  return join(FIXTURE_DOCUMENTS, name);
}

function readFixture(name: string): SampleDocument {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as SampleDocument;
}

/** What a sample of `scope` must hold for a host whose Full document is `full`. */
function expectedDocument(full: SampleDocument, scope: 'full' | 'status'): SampleDocument {
  const table = scope === 'full' ? DOCUMENT_CLASSES : STATUS_CLASSES;
  const classes = Object.fromEntries(
    Object.entries(table).map(([className, properties]) => [
      className,
      (full.classes[className] ?? []).map((row) => Object.fromEntries(properties.map((property) => [property, row[property] ?? null]))),
    ]),
  );
  return withDateTimesAsInstants({ ...full, scope, classes });
}

describeWithPwsh('collect.ps1 called directly: scopes, -OutFile, CIM sessions, cluster nodes', () => {
  const workspace = new StandInWorkspace();
  let shell: PwshShell | undefined;

  beforeAll(async () => {
    shell = await PwshShell.start({
      modules: [STAND_IN_MODULE],
      scripts: [COLLECT_SCRIPT],
      env: { HYPERV_IC_STANDIN_CONTROL: workspace.controlPath, TZ: 'America/New_York' },
    });
    expect(await shell.run(buildQueriesCommand())).toBe('');
  }, 60_000);

  afterAll(async () => {
    await shell?.close();
    workspace.remove();
  });

  /** Runs one line in the suite's pwsh; the answer must be a single line. */
  async function run(command: string): Promise<string> {
    if (shell === undefined) throw new Error('pwsh did not start');
    return shell.run(command);
  }

  async function runLine(command: string): Promise<string> {
    const answer = await run(command);
    expect(answer.split('\n')).toHaveLength(1);
    expect(answer).toMatch(PRINTABLE_ASCII_LINE);
    return answer;
  }

  function serve(fixture: string, extra: Parameters<StandInWorkspace['control']>[0] = {}): void {
    workspace.control({ fixture, fault: 'none', ...extra });
    workspace.clearCalls();
  }

  function cimQueries(): Array<ReturnType<StandInWorkspace['calls']>[number]> {
    return workspace.calls().filter((call) => call.command === 'Get-CimInstance');
  }

  /** A sample written with -OutFile: checks the one-line answer and the file, returns the file's text. */
  async function sampleToFile(parameters: string, outFile: string): Promise<string> {
    const ack = JSON.parse(await runLine(`Get-HyperVIcSample ${parameters} -OutFile ${powerShellLiteral(outFile)}`)) as Record<string, unknown>;
    expect(Object.keys(ack)).toEqual(['outFile', 'length']);
    expect(ack.outFile).toBe(outFile);
    const bytes = readFileSync(outFile);
    expect([...bytes.subarray(0, 3)]).not.toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(Buffer.from(text, 'utf8').equals(bytes)).toBe(true); // valid UTF-8 throughout
    expect(ack.length).toBe(text.length);
    return text;
  }

  test('Full with -OutFile writes the fixture to a UTF-8 file without a BOM, non-ASCII text intact, and answers one line', async () => {
    for (const name of ['mixed-states.json', 'linux-guests.zh-CN.json']) {
      serve(fixturePath(name));
      // A non-ASCII path: the answer escapes it like every other answer on stdout.
      const outFile = join(workspace.dir, `sample-Pr\u00fcfung-${name}`);
      const text = await sampleToFile('-Scope Full', outFile);
      const document = JSON.parse(text) as SampleDocument;
      expect(withDateTimesAsInstants(document)).toEqual({ ...expectedDocument(readFixture(name), 'full'), collectedAt: expect.stringMatching(ISO_UTC_MILLISECONDS) });
      expect(Object.keys(document.classes)).toEqual(Object.keys(DOCUMENT_CLASSES));
      for (const [className, rows] of Object.entries(document.classes)) {
        for (const row of rows) expect(Object.keys(row)).toEqual(DOCUMENT_CLASSES[className]);
      }
      // The layout: a header line, then one line per class, and "}}".
      const lines = text.split('\n');
      expect(lines[0]).toMatch(/^\{"schemaVersion":1,"scope":"full","computerName":".*","collectedAt":"[^"]+","classes":\{$/);
      expect(lines.at(-1)).toBe('}}');
      expect(lines.slice(1, -1).map((line) => /^"(Msvm_\w+)":\[/.exec(line)?.[1])).toEqual(Object.keys(DOCUMENT_CLASSES));
    }
    // The file is UTF-8, not escaped: the Chinese host name is there as it is.
    const zh = readFileSync(join(workspace.dir, 'sample-Pr\u00fcfung-linux-guests.zh-CN.json'), 'utf8');
    expect(zh).toContain('"ElementName":"\u5bbf\u4e3b\u8ba1\u7b97\u673a\u7cfb\u7edf"');
    expect(zh).not.toContain('\\u5bbf');
  });

  test('without -OutFile the document goes to stdout, ASCII only: non-ASCII text as \\u escapes', async () => {
    const name = 'linux-guests.zh-CN.json';
    serve(fixturePath(name));
    const text = await run('Get-HyperVIcSample');
    expect(text).toMatch(/^[\u0020-\u007e\n]+$/);
    expect(text).toContain('"ElementName":"\\u5bbf\\u4e3b\\u8ba1\\u7b97\\u673a\\u7cfb\\u7edf"');
    expect(withDateTimesAsInstants(JSON.parse(text))).toEqual({ ...expectedDocument(readFixture(name), 'full'), collectedAt: expect.stringMatching(ISO_UTC_MILLISECONDS) });
  });

  test('a CIM datetime is passed through as ConvertTo-Json writes it: local time with its offset (PowerShell 7)', async () => {
    serve(fixturePath('mixed-states.json'));
    const document = JSON.parse(await sampleToFile('-Scope Status', join(workspace.dir, 'datetimes.json'))) as SampleDocument;
    const backups = Object.fromEntries((document.classes.Msvm_ComputerSystem ?? []).map((row) => [row.Name, row.LastSuccessfulBackupTime]));
    expect(backups['HV01']).toBeNull();
    expect(backups['140E4DD2-2537-40DF-A4AD-75E20FC79D24']).toBe('2025-01-14T18:00:00-05:00');
    expect(backups['A1576C71-F505-4D1B-9B78-2CFD971B0F31']).toBe('2025-01-14T17:15:30.123-05:00');
    // "Never": 1601-01-01T00:00:00Z, which New York's local mean time makes a date in 1600.
    expect(Date.parse(String(backups['B549384C-77F0-4A0C-9E2B-5A3D6C7E8F90']))).toBe(Date.parse('1601-01-01T00:00:00Z'));
  });

  test('Status returns exactly STATUS_CLASSES, with "scope":"status", on stdout and with -OutFile', async () => {
    for (const name of ['mixed-states.json', 'linux-guests.zh-CN.json']) {
      serve(fixturePath(name));
      const stdout = await run('Get-HyperVIcSample -Scope Status');
      expect(stdout).toMatch(/^[\u0020-\u007e\n]+$/);
      const fromFile = await sampleToFile('-Scope Status', join(workspace.dir, `status-${name}`));
      for (const text of [stdout, fromFile]) {
        const document = JSON.parse(text) as SampleDocument;
        expect(text.startsWith('{"schemaVersion":1,"scope":"status",')).toBe(true);
        expect(withDateTimesAsInstants(document)).toEqual({ ...expectedDocument(readFixture(name), 'status'), collectedAt: expect.stringMatching(ISO_UTC_MILLISECONDS) });
        expect(Object.keys(document.classes)).toEqual(Object.keys(STATUS_CLASSES));
        for (const [className, rows] of Object.entries(document.classes)) {
          for (const row of rows) expect(Object.keys(row)).toEqual(STATUS_CLASSES[className]);
        }
      }
    }
  });

  test('one-element and empty classes are arrays in both scopes and both modes', async () => {
    for (const scope of ['Full', 'Status'] as const) {
      serve(fixturePath('single-vm.json'));
      for (const text of [await run(`Get-HyperVIcSample -Scope ${scope}`), await sampleToFile(`-Scope ${scope}`, join(workspace.dir, `one-${scope}.json`))]) {
        const document = JSON.parse(text) as SampleDocument;
        for (const rows of Object.values(document.classes)) expect(Array.isArray(rows)).toBe(true);
        expect(document.classes.Msvm_HeartbeatComponent).toHaveLength(1);
        expect(document.classes.Msvm_HeartbeatComponent?.[0]?.OperationalStatus).toEqual([2]);
        if (scope === 'Full') expect(document.classes.Msvm_KvpExchangeComponent?.[0]?.GuestIntrinsicExchangeItems).toHaveLength(1);
      }
      serve(fixturePath('host-only.json'));
      for (const text of [await run(`Get-HyperVIcSample -Scope ${scope}`), await sampleToFile(`-Scope ${scope}`, join(workspace.dir, `empty-${scope}.json`))]) {
        const document = JSON.parse(text) as SampleDocument;
        expect(document.classes.Msvm_ComputerSystem).toHaveLength(1);
        for (const [className, rows] of Object.entries(document.classes)) {
          if (className !== 'Msvm_ComputerSystem') expect(rows).toEqual([]);
        }
      }
    }
  });

  test('one Get-CimInstance per class (13 for Full and 7 for Status today), at 1 and at 64 VMs', async () => {
    const counts: Record<string, number[]> = { Full: [], Status: [] };
    for (const vmCount of [1, 64]) {
      const host = generatedHost(vmCount);
      const path = workspace.writeDocument(`generated-${vmCount}.json`, host);
      for (const scope of ['Full', 'Status'] as const) {
        const table = scope === 'Full' ? DOCUMENT_CLASSES : STATUS_CLASSES;
        serve(path);
        const document = JSON.parse(await sampleToFile(`-Scope ${scope}`, join(workspace.dir, `generated-${vmCount}-${scope}.out.json`))) as SampleDocument;
        expect(withDateTimesAsInstants(document)).toEqual({
          ...expectedDocument(host, scope === 'Full' ? 'full' : 'status'),
          collectedAt: expect.stringMatching(ISO_UTC_MILLISECONDS),
        });
        const queries = cimQueries();
        expect(queries.map((query) => query.ClassName)).toEqual(Object.keys(table));
        for (const query of queries) {
          expect(query.Namespace).toBe('root/virtualization/v2');
          expect(query.Property).toEqual(table[query.ClassName ?? '']);
        }
        counts[scope]?.push(queries.length);
      }
    }
    const [full, status] = [Object.keys(DOCUMENT_CLASSES).length, Object.keys(STATUS_CLASSES).length];
    expect(counts).toEqual({ Full: [full, full], Status: [status, status] });
  }, 30_000);

  test('a failure answers one error line and leaves no file behind, not even one of an earlier sample', async () => {
    const outFile = join(workspace.dir, 'failing.json');
    const cases: Array<{ control: Parameters<StandInWorkspace['control']>[0]; scope: string; kind: string; errorId?: RegExp }> = [
      { control: { fault: 'access_denied' }, scope: 'Full', kind: 'exception', errorId: /0x80041003/ },
      { control: { fault: 'namespace_missing', faultClass: 'Msvm_VssComponent' }, scope: 'Status', kind: 'exception', errorId: /0x8004100e/ },
      { control: { fault: 'empty' }, scope: 'Full', kind: 'no_computer_system' },
      { control: {}, scope: 'Bogus', kind: 'invalid_argument' },
    ];
    for (const failure of cases) {
      writeFileSync(outFile, 'a file of an earlier sample', 'utf8');
      serve(fixturePath('mixed-states.json'), failure.control);
      const answer = JSON.parse(await runLine(`Get-HyperVIcSample -Scope ${failure.scope} -OutFile ${powerShellLiteral(outFile)}`)) as {
        error?: Record<string, unknown>;
      };
      expect(answer.error?.kind).toBe(failure.kind);
      if (failure.errorId !== undefined) expect(String(answer.error?.fullyQualifiedErrorId)).toMatch(failure.errorId);
      expect(existsSync(outFile)).toBe(false);
    }
  });

  test('without its classes (Set-HyperVIcQueries not called) a sample fails with one error line and queries nothing', async () => {
    serve(fixturePath('single-vm.json'));
    const line = '$saved = $script:HyperVIcQueries; $script:HyperVIcQueries = $null; Get-HyperVIcSample -Scope Full; $script:HyperVIcQueries = $saved';
    const answer = JSON.parse(await runLine(line)) as { error?: Record<string, unknown> };
    expect(answer.error).toMatchObject({ kind: 'invalid_argument', message: expect.stringContaining('Set-HyperVIcQueries') });
    expect(cimQueries()).toEqual([]);
  });

  test('-OperationTimeoutSec is passed to every Get-CimInstance when above 0, and not at all otherwise', async () => {
    serve(fixturePath('single-vm.json'));
    await sampleToFile('-Scope Status -OperationTimeoutSec 17', join(workspace.dir, 'timeout.json'));
    expect(cimQueries().map((query) => query.OperationTimeoutSec)).toEqual(Object.keys(STATUS_CLASSES).map(() => 17));
    workspace.clearCalls();
    await sampleToFile('-Scope Status', join(workspace.dir, 'timeout.json'));
    expect(cimQueries().map((query) => query.OperationTimeoutSec)).toEqual(Object.keys(STATUS_CLASSES).map(() => null));
  });

  test('two computer names get two cached CIM sessions; a failure drops only its own; they can be removed one by one or all', async () => {
    const hosts = { 'hv-a.example.com': fixturePath('mixed-states.json'), 'hv-b.example.com': fixturePath('linux-guests.zh-CN.json') };
    const sessionCalls = (): Array<[string, unknown]> =>
      workspace
        .calls()
        .filter((call) => call.command !== 'Get-CimInstance')
        .map((call) => [call.command, call.ComputerName]);
    const computerNameOf = async (computerName: string): Promise<string> => {
      const text = await sampleToFile(`-Scope Status -ComputerName ${powerShellLiteral(computerName)}`, join(workspace.dir, 'remote.json'));
      const queries = cimQueries();
      expect(queries.slice(-Object.keys(STATUS_CLASSES).length).every((query) => query.CimSession === computerName)).toBe(true);
      return (JSON.parse(text) as SampleDocument).computerName;
    };

    serve(fixturePath('single-vm.json'), { hosts });
    expect(await computerNameOf('hv-a.example.com')).toBe('HV01');
    expect(await computerNameOf('hv-b.example.com')).toBe('WIN-667A0LKMU6R');
    expect(await computerNameOf('hv-a.example.com')).toBe('HV01');
    expect(await computerNameOf('hv-b.example.com')).toBe('WIN-667A0LKMU6R');
    expect(sessionCalls()).toEqual([
      ['New-CimSession', ['hv-a.example.com']],
      ['New-CimSession', ['hv-b.example.com']],
    ]);

    // A failure on hv-b drops hv-b's session only.
    serve(fixturePath('single-vm.json'), { hosts, fault: 'access_denied' });
    const failed = JSON.parse(await runLine("Get-HyperVIcSample -Scope Status -ComputerName 'hv-b.example.com'")) as { error?: Record<string, unknown> };
    expect(failed.error?.vmmsStatus).toBeNull(); // never the local vmms for a remote host
    expect(sessionCalls()).toEqual([['Remove-CimSession', 'hv-b.example.com']]);
    serve(fixturePath('single-vm.json'), { hosts });
    expect(await computerNameOf('hv-a.example.com')).toBe('HV01');
    expect(await computerNameOf('hv-b.example.com')).toBe('WIN-667A0LKMU6R');
    expect(sessionCalls()).toEqual([['New-CimSession', ['hv-b.example.com']]]);

    // One by one (names are not case-sensitive), then all.
    workspace.clearCalls();
    expect(await run("Remove-HyperVIcCimSession -ComputerName 'HV-A.example.com'")).toBe('');
    expect(sessionCalls()).toEqual([['Remove-CimSession', 'hv-a.example.com']]);
    workspace.clearCalls();
    expect(await computerNameOf('hv-a.example.com')).toBe('HV01');
    expect(await run('Remove-HyperVIcCimSession')).toBe('');
    expect(sessionCalls()).toEqual([
      ['New-CimSession', ['hv-a.example.com']],
      ['Remove-CimSession', 'hv-b.example.com'],
      ['Remove-CimSession', 'hv-a.example.com'],
    ]);
  });

  test('Get-HyperVIcClusterNode: one MSCluster_Node query, one line, always an array, State as the class delivers it (uint32)', async () => {
    const nodes = [
      { Name: 'HV01', State: 0 },
      { Name: 'HV02', State: -1 },
      { Name: 'HV03', State: 2 },
      { Name: 'Kn\u00f6tchen', State: 3 },
    ];
    serve(fixturePath('single-vm.json'), { clusterNodes: nodes });
    // The stand-in delivers -1 as the uint32 a real host does; the script passes it on, clusterNodes.ts reads it.
    expect(JSON.parse(await runLine('Get-HyperVIcClusterNode'))).toEqual({ nodes: nodes.map((node) => (node.State === -1 ? { ...node, State: 4294967295 } : node)) });
    expect(workspace.calls().map(({ command, Namespace, ClassName, Property, CimSession, OperationTimeoutSec }) => ({ command, Namespace, ClassName, Property, CimSession, OperationTimeoutSec }))).toEqual([
      { command: 'Get-CimInstance', Namespace: 'root/MSCluster', ClassName: 'MSCluster_Node', Property: ['Name', 'State'], CimSession: null, OperationTimeoutSec: null },
    ]);

    serve(fixturePath('single-vm.json'), { clusterNodes: [{ Name: 'HV01', State: 1 }] });
    expect(await runLine("Get-HyperVIcClusterNode -ComputerName 'hv-c.example.com' -OperationTimeoutSec 5")).toBe('{"nodes":[{"Name":"HV01","State":1}]}');
    expect(workspace.calls().map((call) => [call.command, call.CimSession ?? call.ComputerName, call.OperationTimeoutSec ?? null])).toEqual([
      ['New-CimSession', ['hv-c.example.com'], null],
      ['Get-CimInstance', 'hv-c.example.com', 5],
    ]);

    serve(fixturePath('single-vm.json'));
    expect(await runLine('Get-HyperVIcClusterNode')).toBe('{"nodes":[]}');

    serve(fixturePath('single-vm.json'), { clusterNodes: nodes, fault: 'namespace_missing', faultClass: 'MSCluster_Node' });
    const failed = JSON.parse(await runLine("Get-HyperVIcClusterNode -ComputerName 'hv-c.example.com'")) as { error?: Record<string, unknown> };
    expect(failed.error).toMatchObject({ kind: 'exception', stage: 'MSCluster_Node', vmmsStatus: null });
    expect(String(failed.error?.fullyQualifiedErrorId)).toMatch(/0x8004100e/);
    expect(workspace.calls().map((call) => call.command)).toEqual(['Get-CimInstance', 'Remove-CimSession']);
  });

  // Runs last: it changes the type data of the suite's pwsh.
  test("with Windows PowerShell 5.1's ETS Count alias on System.Array, the output is the same (no PSObject-wrapped arrays)", async () => {
    const withoutDate = (text: string): string => text.replace(/"collectedAt":"[^"]+"/, '');
    serve(fixturePath('mixed-states.json'), { clusterNodes: [{ Name: 'HV01', State: 0 }] });
    const before = [await run('Get-HyperVIcSample -Scope Full'), await run('Get-HyperVIcSample -Scope Status'), await run('Get-HyperVIcClusterNode')];
    // In 5.1, types.ps1xml gives System.Array a Count alias, and ConvertTo-Json writes an array that
    // sits in a PSObject as {"value":[...],"Count":n}; this brings that alias into PowerShell 7.
    await run('Update-TypeData -TypeName System.Array -MemberType AliasProperty -MemberName Count -Value Length -Force');
    expect(await run('ConvertTo-Json -Compress -InputObject @{ a = (Write-Output -NoEnumerate @(1, 2)) }')).toBe('{"a":{"value":[1,2],"Count":2}}');
    const after = [await run('Get-HyperVIcSample -Scope Full'), await run('Get-HyperVIcSample -Scope Status'), await run('Get-HyperVIcClusterNode')];
    expect(after.map(withoutDate)).toEqual(before.map(withoutDate));
  });

  test('nothing was written to stderr', () => {
    expect(shell?.stderr).toBe('');
  });
});
