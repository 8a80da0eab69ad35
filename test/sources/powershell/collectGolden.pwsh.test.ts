import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_CLASSES } from '../../../src/document/classes';
import { createPowerShellSource } from '../../../src/sources/powershell/powershellSource';
import type { SampleSource } from '../../../src/sources/source';
import type { RawSample } from '../../../src/sources/source';
import { FIXTURE_DOCUMENTS, STAND_IN_MODULE, StandInWorkspace, capturingLogger, describeWithPwsh, executablesUnderTest } from './pwshHarness';

/**
 * The shipped collect.ps1, run by the real node-powershell session in a real pwsh, against stand-in
 * CIM cmdlets that serve each fixture with the CIM types of a real host. What comes out must be the
 * fixture again: arrays stay arrays (empty and one-element ones too), numbers numbers, nulls null,
 * non-ASCII text intact, unselected properties gone.
 */

interface SampleDocument {
  schemaVersion: number;
  computerName: string;
  collectedAt: string;
  classes: Record<string, Array<Record<string, unknown>>>;
}

function readFixture(name: string): SampleDocument {
  return JSON.parse(readFileSync(join(FIXTURE_DOCUMENTS, name), 'utf8')) as SampleDocument;
}

function textOf(sample: RawSample): string {
  if (!('text' in sample)) throw new Error('the PowerShell source must return the JSON text');
  return sample.text;
}

const ISO_UTC_MILLISECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A host with `vmCount` running VMs, every component present: the stand-in's largest realistic load. */
export function generatedHost(vmCount: number): SampleDocument {
  const classes: SampleDocument['classes'] = Object.fromEntries(Object.keys(DOCUMENT_CLASSES).map((name) => [name, []]));
  const push = (className: string, row: Record<string, unknown>): void => {
    const rows = classes[className];
    if (rows === undefined) throw new Error(`unknown class ${className}`);
    rows.push(row);
  };
  push('Msvm_ComputerSystem', { Name: 'HV-BIG', ElementName: 'HV-BIG', EnabledState: 2, HealthState: 5, OperationalStatus: [2], OnTimeInMilliseconds: null });
  for (let index = 0; index < vmCount; index += 1) {
    const vmId = `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0').toUpperCase()}`;
    push('Msvm_ComputerSystem', { Name: vmId, ElementName: `vm-${index}`, EnabledState: 2, HealthState: 5, OperationalStatus: [2], OnTimeInMilliseconds: index * 1000 });
    for (const className of Object.keys(DOCUMENT_CLASSES)) {
      if (className === 'Msvm_ComputerSystem') continue;
      if (className.endsWith('SettingData')) {
        const row: Record<string, unknown> = { InstanceID: `Microsoft:${vmId}\\${className}`, EnabledState: 2 };
        if (className === 'Msvm_KvpExchangeComponentSettingData') Object.assign(row, { HostExchangeItems: [], HostOnlyItems: null });
        push(className, row);
      } else {
        const row: Record<string, unknown> = { SystemName: vmId, DeviceID: `Microsoft:${className}`, EnabledState: 2, OperationalStatus: [2, 2] };
        if (className === 'Msvm_KvpExchangeComponent') Object.assign(row, { GuestIntrinsicExchangeItems: [], GuestExchangeItems: null });
        push(className, row);
      }
    }
  }
  return { schemaVersion: 1, computerName: 'HV-BIG', collectedAt: '2025-01-01T00:00:00.000Z', classes };
}

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
    return textOf(await source.sample(AbortSignal.timeout(30_000)));
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

    expect(emitted).toEqual({ ...fixture, collectedAt: expect.stringMatching(ISO_UTC_MILLISECONDS) });
    // Key order is part of "exactly these properties, in this order" (and keeps the output diffable).
    for (const [className, rows] of Object.entries(emitted.classes)) {
      for (const row of rows) expect(Object.keys(row)).toEqual(DOCUMENT_CLASSES[className]);
    }
    expect(Object.keys(emitted.classes)).toEqual(Object.keys(DOCUMENT_CLASSES));
    const collectedAt = Date.parse(emitted.collectedAt);
    expect(collectedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(collectedAt).toBeLessThanOrEqual(Date.now() + 1000);
  });

  test('the JSON text is ASCII: non-ASCII names travel as \\u escapes, immune to the console code page', async () => {
    const text = await sampleFixtureText(join(FIXTURE_DOCUMENTS, 'linux-guests.zh-CN.json'));
    expect(text).toMatch(/^[\u0020-\u007e\n]*$/);
    expect(text).toContain('\\u5bbf\\u4e3b\\u8ba1\\u7b97\\u673a\\u7cfb\\u7edf');
    expect((JSON.parse(text) as SampleDocument).classes.Msvm_ComputerSystem?.map((row) => row.ElementName)).toContain('\u5bbf\u4e3b\u8ba1\u7b97\u673a\u7cfb\u7edf');
  });

  test('one instance per line, the layout whose unchanged lines the exporter does not parse again', async () => {
    const text = await sampleFixtureText(join(FIXTURE_DOCUMENTS, 'linux-guests.zh-CN.json'));
    const [head, ...lines] = text.split('\n');
    expect(head).toMatch(/^\{"schemaVersion":1,.*"classes":\{$/);
    expect(lines.pop()).toBe('}}');
    let instances = 0;
    for (const line of lines) {
      if (/^"Msvm_\w+":\[(\],?)?$/.test(line) || /^\],?$/.test(line)) continue;
      const instance = JSON.parse(line.replace(/,$/, '')) as unknown;
      expect(typeof instance === 'object' && instance !== null && !Array.isArray(instance)).toBe(true);
      instances++;
    }
    const document = JSON.parse(text) as SampleDocument;
    expect(instances).toBe(Object.values(document.classes).reduce((sum, rows) => sum + rows.length, 0));
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
      expect(emitted).toEqual({ ...document, collectedAt: expect.stringMatching(ISO_UTC_MILLISECONDS) });
      counts.push(workspace.calls().filter((call) => call.command === 'Get-CimInstance').length);
    }
    expect(counts).toEqual([Object.keys(DOCUMENT_CLASSES).length, Object.keys(DOCUMENT_CLASSES).length]);
  }, 60_000);
}
