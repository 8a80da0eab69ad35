import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SampleError } from '../../../src/contract/sample';
import type { FailureReason } from '../../../src/contract/sample';
import { createPowerShellSource } from '../../../src/sources/powershell/powershellSource';
import type { SampleSource } from '../../../src/contract/sample';
import type { StandInControl } from './pwshHarness';
import { FIXTURE_DOCUMENTS, STAND_IN_MODULE, StandInWorkspace, capturingLogger, describeWithPwsh, pwshPath, withDateTimesAsInstants } from './pwshHarness';

/**
 * Faults that collect.ps1 must turn into a reason without losing the process: what the CIM cmdlets
 * report (missing namespace, access denied, an empty result, a stopped vmms), and noise on the output
 * streams. One PowerShell process serves the whole file; a test that costs the process says so.
 */

const FIXTURE = join(FIXTURE_DOCUMENTS, 'mixed-states.json');
const fixtureDocument = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;

async function sampleError(source: SampleSource): Promise<SampleError> {
  const outcome = await source.sample('full', AbortSignal.timeout(15_000)).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof SampleError)) throw new Error(`expected a SampleError, got ${String(outcome)}`);
  return outcome;
}

describeWithPwsh('PowerShell source: faults reported by the CIM layer', () => {
  const workspace = new StandInWorkspace();
  const { logger, records } = capturingLogger();
  let source: SampleSource;

  const startedPids = (): unknown[] => records.filter((record) => record.msg === 'PowerShell process started').map((record) => record.pid);

  beforeAll(() => {
    process.env.HYPERV_IC_STANDIN_CONTROL = workspace.controlPath;
    source = createPowerShellSource({ executable: pwshPath(), recycleAfterSamples: 1000, logger, preloadModules: [STAND_IN_MODULE] });
  });

  afterAll(async () => {
    await source.close();
    workspace.remove();
  });

  async function expectHealthyAfterwards(): Promise<void> {
    workspace.control({ fixture: FIXTURE, fault: 'none' });
    const sample = await source.sample('full', AbortSignal.timeout(15_000));
    expect('text' in sample && withDateTimesAsInstants(JSON.parse(sample.text))).toEqual({ ...withDateTimesAsInstants(fixtureDocument), collectedAt: expect.any(String) });
  }

  test('a healthy sample starts the one process this file uses', async () => {
    await expectHealthyAfterwards();
    expect(startedPids()).toHaveLength(1);
  });

  test('warnings, verbose, information, host text and progress do not reach the output', async () => {
    workspace.control({ fixture: FIXTURE, fault: 'noisy' });
    const sample = await source.sample('full', AbortSignal.timeout(15_000));
    expect('text' in sample && withDateTimesAsInstants(JSON.parse(sample.text))).toEqual({ ...withDateTimesAsInstants(fixtureDocument), collectedAt: expect.any(String) });
    expect(startedPids()).toHaveLength(1);
  });

  const reported: Array<[string, StandInControl, FailureReason, RegExp]> = [
    ['namespace missing (Hyper-V role absent)', { fault: 'namespace_missing' }, 'namespace_missing', /root\/virtualization\/v2 does not exist.*Invalid namespace/],
    ['an access-denied error', { fault: 'access_denied' }, 'access_denied', /Hyper-V Administrators.*Access denied/],
    ['an empty result (non-admin account)', { fault: 'empty' }, 'access_denied', /Hyper-V Administrators.*returned no instances/],
    ['an empty result while vmms is stopped', { fault: 'empty', vmmsStatus: 'Stopped' }, 'vmms_not_running', /vmms.*Stopped/],
    ['a query error while vmms is stopped', { fault: 'namespace_missing', vmmsStatus: 'Stopped' }, 'vmms_not_running', /vmms.*Stopped/],
    ['an empty result on a host without the vmms service', { fault: 'empty', vmmsStatus: 'NotFound' }, 'access_denied', /returned no instances/],
    [
      'a non-terminating error from one class query',
      { fault: 'nonterminating_error', faultClass: 'Msvm_VssComponent' },
      'source_error',
      /at Msvm_VssComponent.*RPC server is unavailable.*0x800706ba/,
    ],
  ];

  test.each(reported)('%s is reported as its reason and keeps the process', async (_name, control, reason, message) => {
    workspace.control({ fixture: FIXTURE, ...control });
    workspace.clearCalls();
    const error = await sampleError(source);
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
    // The vmms service is asked only because something failed, and only on the local host.
    expect(workspace.calls().filter((call) => call.command === 'Get-Service')).toHaveLength(1);
    await expectHealthyAfterwards();
    expect(startedPids()).toHaveLength(1);
  });

  test('text written straight to stdout makes the output unparseable and costs the process', async () => {
    workspace.control({ fixture: FIXTURE, fault: 'stdout_garbage' });
    const error = await sampleError(source);
    expect(error.reason).toBe('output_unparseable');
    expect(error.message).toContain('this line is not JSON');
    const before = startedPids().length;
    await expectHealthyAfterwards();
    expect(startedPids()).toHaveLength(before + 1);
  });

  test('text written straight to stderr fails the sample and costs the process', async () => {
    workspace.control({ fixture: FIXTURE, fault: 'stderr_text' });
    const error = await sampleError(source);
    expect(error.reason).toBe('source_error');
    expect(error.message).toContain('stand-in text written straight to stderr');
    const before = startedPids().length;
    await expectHealthyAfterwards();
    expect(startedPids()).toHaveLength(before + 1);
  });
});
