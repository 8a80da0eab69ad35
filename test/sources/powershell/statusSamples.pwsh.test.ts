import { join } from 'node:path';
import type { SampleScope, SampleSource } from '../../../src/contract/sample';
import { HostSampler } from '../../../src/sampling/hostSampler';
import { createPowerShellSource } from '../../../src/sources/powershell/powershellSource';
import { withoutTimingSeries } from '../../helpers/exposition';
import { sampleOnce, singleHostSampler } from '../../sampling/support';
import { FIXTURE_DOCUMENTS, STAND_IN_MODULE, StandInWorkspace, describeWithPwsh, pwshPath } from './pwshHarness';

/**
 * The same stand-in host sampled two ways through the real collection script: Full samples only, and
 * a Full sample followed by Status samples. What /metrics serves must be identical, apart from the
 * series that depend on when and how long a sample took.
 */


describeWithPwsh('Status samples through collect.ps1', () => {
  jest.setTimeout(60_000);
  const workspace = new StandInWorkspace();
  // One PowerShell process serves both samplers of both tests (they take their samples one at a time):
  // what is compared is what each sampler makes of the samples, and starting pwsh is most of the time.
  let powershell: SampleSource;

  beforeAll(() => {
    process.env.HYPERV_IC_STANDIN_CONTROL = workspace.controlPath;
    powershell = createPowerShellSource({ executable: pwshPath(), recycleAfterSamples: 1000, preloadModules: [STAND_IN_MODULE] });
  });
  afterAll(async () => {
    await powershell.close();
    workspace.remove();
  });

  test.each(['mixed-states.json', 'linux-guests.zh-CN.json'])('%s: Status + Full serves what Full alone serves', async (fixture) => {
    workspace.control({ fixture: join(FIXTURE_DOCUMENTS, fixture) });
    const asked: SampleScope[] = [];
    const sampler = (fullIntervalMs: number): HostSampler => {
      const source: SampleSource = {
        name: 'powershell',
        sample: (scope, signal) => {
          if (fullIntervalMs > 0) asked.push(scope);
          return powershell.sample(scope, signal);
        },
        // The process outlives the test's samplers; afterAll closes it.
        close: () => Promise.resolve(),
      };
      return singleHostSampler(source, { fullIntervalMs });
    };
    const fullOnly = sampler(0);
    const mixed = sampler(300_000);
    for (let i = 0; i < 3; i++) {
      await sampleOnce(fullOnly);
      await sampleOnce(mixed);
    }
    expect(asked).toEqual(['full', 'status', 'status']);
    const served = (s: HostSampler): string => withoutTimingSeries(s.current!.body.identity.toString('utf8'));
    expect(mixed.current?.health.up).toBe(true);
    expect(served(mixed)).toContain('hyperv_vm_integration_component_enabled{');
    expect(served(mixed)).toBe(served(fullOnly));
  });
});
