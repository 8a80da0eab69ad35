import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_CLASSES } from '../../../src/document/classes';
import { createPowerShellSource } from '../../../src/sources/powershell/powershellSource';
import type { SampleSource } from '../../../src/contract/sample';
import type { RawSample } from '../../../src/contract/sample';
import {
  FIXTURE_DOCUMENTS,
  STAND_IN_MODULE,
  StandInWorkspace,
  capturingLogger,
  describeWithPwsh,
  executablesUnderTest,
  withDateTimesAsInstants,
  generatedHost,
  type SampleDocument,
} from './pwshHarness';

/**
 * The shipped collect.ps1, run by the real node-powershell session in a real pwsh, against stand-in
 * CIM cmdlets that serve each fixture with the CIM types of a real host. What comes out must be the
 * fixture again: arrays stay arrays (empty and one-element ones too), numbers numbers, nulls null,
 * non-ASCII text intact, unselected properties gone. CIM datetimes are compared as instants
 * (withDateTimesAsInstants): ConvertTo-Json writes them with the local offset (7) or as \/Date(ms)\/ (5.1).
 */


/** A fixture as collect.ps1 writes it back: every class of DOCUMENT_CLASSES, in order, those it lacks empty. */
function readFixture(name: string): SampleDocument {
  const fixture = JSON.parse(readFileSync(join(FIXTURE_DOCUMENTS, name), 'utf8')) as SampleDocument;
  return { ...fixture, classes: Object.fromEntries(Object.keys(DOCUMENT_CLASSES).map((className) => [className, fixture.classes[className] ?? []])) };
}

function textOf(sample: RawSample): string {
  if (!('text' in sample)) throw new Error('the PowerShell source must return the JSON text');
  return sample.text;
}

const ISO_UTC_MILLISECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describeWithPwsh('collect.ps1 through a real PowerShell session (golden fixtures)', () => {
  describe.each(executablesUnderTest())('$label', ({ path: executable }) => {
    goldenSuite(executable);
  });
});

function goldenSuite(executable: string): void {
  const workspace = new StandInWorkspace();
  let source: SampleSource;

  beforeAll(() => {
    process.env.HYPERV_IC_STANDIN_CONTROL = workspace.controlPath;
    source = createPowerShellSource({
      executable,
      recycleAfterSamples: 1000,
      logger: capturingLogger().logger,
      preloadModules: [STAND_IN_MODULE],
    });
  });

  afterAll(async () => {
    await source.close();
    workspace.remove();
  });

  async function sampleFixtureText(path: string): Promise<string> {
    workspace.control({ fixture: path, fault: 'none' });
    workspace.clearCalls();
    return textOf(await source.sample('full', AbortSignal.timeout(30_000)));
  }

  async function sampleFixture(path: string): Promise<SampleDocument> {
    return JSON.parse(await sampleFixtureText(path)) as SampleDocument;
  }

  const fixtureNames = readdirSync(FIXTURE_DOCUMENTS).filter((name) => name.endsWith('.json'));

  test('there are fixtures to run', () => {
    expect(fixtureNames).toEqual(expect.arrayContaining(['mixed-states.json', 'single-vm.json', 'linux-guests.zh-CN.json', 'host-only.json']));
  });

  test.each(fixtureNames)('%s comes back unchanged', async (name) => {
    const fixture = readFixture(name);
    const before = Date.now();
    const emitted = await sampleFixture(join(FIXTURE_DOCUMENTS, name));

    expect(withDateTimesAsInstants(emitted)).toEqual({ ...withDateTimesAsInstants(fixture), collectedAt: expect.stringMatching(ISO_UTC_MILLISECONDS) });
    // Key order is part of "exactly these properties, in this order" (and keeps the output diffable).
    for (const [className, rows] of Object.entries(emitted.classes)) {
      for (const row of rows) expect(Object.keys(row)).toEqual(DOCUMENT_CLASSES[className]);
    }
    expect(Object.keys(emitted.classes)).toEqual(Object.keys(DOCUMENT_CLASSES));
    const collectedAt = Date.parse(emitted.collectedAt);
    expect(collectedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(collectedAt).toBeLessThanOrEqual(Date.now() + 1000);
  });

  test('non-ASCII names arrive intact (as \\u escapes on stdout, as UTF-8 in an -OutFile file)', async () => {
    // Which of the two depends on how the source asks; collectScope.pwsh.test.ts checks both modes.
    const text = await sampleFixtureText(join(FIXTURE_DOCUMENTS, 'linux-guests.zh-CN.json'));
    if (/^[\u0020-\u007e\n]*$/.test(text)) expect(text).toContain('\\u5bbf\\u4e3b\\u8ba1\\u7b97\\u673a\\u7cfb\\u7edf');
    else expect(text).toContain('\u5bbf\u4e3b\u8ba1\u7b97\u673a\u7cfb\u7edf');
    expect((JSON.parse(text) as SampleDocument).classes.Msvm_ComputerSystem?.map((row) => row.ElementName)).toContain('\u5bbf\u4e3b\u8ba1\u7b97\u673a\u7cfb\u7edf');
  });

  test('one class per line, each written by one ConvertTo-Json call', async () => {
    const text = await sampleFixtureText(join(FIXTURE_DOCUMENTS, 'linux-guests.zh-CN.json'));
    const [head, ...lines] = text.split('\n');
    expect(head).toMatch(/^\{"schemaVersion":1,.*"classes":\{$/);
    expect(lines.pop()).toBe('}}');
    expect(lines.map((line) => /^"(Msvm_\w+)":\[/.exec(line)?.[1])).toEqual(Object.keys(DOCUMENT_CLASSES));
    for (const line of lines) expect(Array.isArray(JSON.parse(line.slice(line.indexOf(':') + 1).replace(/,$/, '')))).toBe(true);
  });

  test('one-element arrays stay arrays at every level (single-VM host)', async () => {
    const emitted = await sampleFixture(join(FIXTURE_DOCUMENTS, 'single-vm.json'));
    const heartbeats = emitted.classes.Msvm_HeartbeatComponent;
    expect(Array.isArray(heartbeats)).toBe(true);
    expect(heartbeats).toHaveLength(1);
    expect(heartbeats?.[0]?.OperationalStatus).toEqual([2]);
    expect(emitted.classes.Msvm_KvpExchangeComponent?.[0]?.GuestIntrinsicExchangeItems).toHaveLength(1);
  });

  test('a host without VMs has empty arrays, not nulls or missing classes', async () => {
    const emitted = await sampleFixture(join(FIXTURE_DOCUMENTS, 'host-only.json'));
    expect(emitted.classes.Msvm_ComputerSystem).toHaveLength(1);
    for (const className of Object.keys(DOCUMENT_CLASSES).filter((name) => name !== 'Msvm_ComputerSystem')) {
      expect(emitted.classes[className]).toEqual([]);
    }
  });

  test('each class is queried once, in root/virtualization/v2, with exactly its DOCUMENT_CLASSES properties', async () => {
    await sampleFixture(join(FIXTURE_DOCUMENTS, 'mixed-states.json'));
    const queries = workspace.calls().filter((call) => call.command === 'Get-CimInstance');
    expect(queries.map((call) => call.ClassName)).toEqual(Object.keys(DOCUMENT_CLASSES));
    for (const query of queries) {
      expect(query.Namespace).toBe('root/virtualization/v2');
      expect(query.Property).toEqual(DOCUMENT_CLASSES[query.ClassName ?? '']);
      expect(query.CimSession).toBeNull();
    }
    // A healthy local sample asks nothing else (no service lookup, no CIM session).
    expect(workspace.calls().filter((call) => call.command !== 'Get-CimInstance')).toEqual([]);
  });

  test('the number of CIM queries per sample is the same for 1 and for 1024 VMs', async () => {
    const counts: number[] = [];
    for (const vmCount of [1, 1024]) {
      const document = generatedHost(vmCount);
      const emitted = await sampleFixture(workspace.writeDocument(`generated-${vmCount}.json`, document));
      expect(emitted.classes.Msvm_ComputerSystem).toHaveLength(vmCount + 1);
      expect(withDateTimesAsInstants(emitted)).toEqual({ ...withDateTimesAsInstants(document), collectedAt: expect.stringMatching(ISO_UTC_MILLISECONDS) });
      counts.push(workspace.calls().filter((call) => call.command === 'Get-CimInstance').length);
    }
    expect(counts).toEqual([Object.keys(DOCUMENT_CLASSES).length, Object.keys(DOCUMENT_CLASSES).length]);
  }, 60_000);
}
