import { InstanceLineCache } from '../../src/document/lineCache';
import { createPowerShellSource } from '../../src/sources/powershell/powershellSource';
import type { SampleSource } from '../../src/sources/source';
import { SimulatedHost } from '../../src/sources/simulator/simulatedHost';
import { STAND_IN_MODULE, StandInWorkspace, capturingLogger, describeWithPwsh, pwshPath } from '../sources/powershell/pwshHarness';

/**
 * The contract between collect.ps1 and InstanceLineCache: what the script writes through a real
 * PowerShell session is the layout whose unchanged lines are not parsed again (and parses to what
 * JSON.parse gives).
 */
describeWithPwsh('collect.ps1 output and the instance line cache', () => {
  const workspace = new StandInWorkspace();
  let source: SampleSource;

  beforeAll(() => {
    process.env.HYPERV_IC_STANDIN_CONTROL = workspace.controlPath;
    source = createPowerShellSource({ executable: pwshPath(), recycleAfterSamples: 1000, logger: capturingLogger().logger, preloadModules: [STAND_IN_MODULE] });
  });

  afterAll(async () => {
    await source.close();
    workspace.remove();
  });

  async function sampleText(document: unknown): Promise<string> {
    workspace.control({ fixture: workspace.writeDocument('host.json', document), fault: 'none' });
    const raw = await source.sample(AbortSignal.timeout(30_000));
    if (!('text' in raw)) throw new Error('the PowerShell source hands over text');
    return raw.text;
  }

  test('a 40-VM host, twice and then with one VM changed: only changed lines are parsed', async () => {
    const host = new SimulatedHost({ vms: 40, seed: 11, now: () => Date.UTC(2026, 10, 24) });
    const document = host.next() as { classes: Record<string, Array<Record<string, unknown>>> };
    const cache = new InstanceLineCache();
    const first = await sampleText(document);
    expect(cache.parse(first)).toEqual(JSON.parse(first));
    expect(cache.lastStats.layout).toBe(true);

    const second = await sampleText(document);
    expect(cache.parse(second)).toEqual(JSON.parse(second));
    expect(cache.lastStats).toMatchObject({ layout: true, parsed: 0 });

    const vm = document.classes['Msvm_ComputerSystem']![5]!;
    vm['ElementName'] = 'renamed';
    const third = await sampleText(document);
    expect(cache.parse(third)).toEqual(JSON.parse(third));
    expect(cache.lastStats).toMatchObject({ layout: true, parsed: 1 });
  }, 60_000);
});
