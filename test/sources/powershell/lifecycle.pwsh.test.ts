import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createPowerShellPool, createPowerShellSource } from '../../../src/sources/powershell/powershellSource';
import type { PowerShellPool } from '../../../src/sources/powershell/pool';
import type { PowerShellSourceOptions } from '../../../src/sources/powershell/powershellSource';
import type { SampleSource } from '../../../src/contract/sample';
import {
  FIXTURE_DOCUMENTS,
  STAND_IN_MODULE,
  StandInWorkspace,
  capturingLogger,
  describeWithPwsh,
  processExists,
  processReaped,
  pwshPath,
  rejection,
  withDateTimesAsInstants,
} from './pwshHarness';
import { waitFor } from '../../helpers/waitFor';

/**
 * The life of the PowerShell process: replaced after a timeout (node-powershell cannot stop a running
 * command), after a crash (with backoff when crashes repeat), after N samples; ended by close() with
 * nothing left behind; and the remote path through one cached CIM session.
 *
 * Starting pwsh is most of these tests' time, so they start no more processes than their claims need:
 * the tests of one process after another share a source, each beginning with the warm process the one
 * before left (or starting one) and counting the processes started from there on; the CIM session tests
 * share one process.
 */

const FIXTURE = join(FIXTURE_DOCUMENTS, 'single-vm.json');
const fixtureDocument = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;

function startedRecords(records: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return records.filter((record) => record.msg === 'PowerShell process started');
}

function startedPids(records: Array<Record<string, unknown>>): number[] {
  return startedRecords(records).map((record) => record.pid as number);
}

describeWithPwsh('PowerShell source: process lifecycle', () => {
  const workspace = new StandInWorkspace();
  const openSources: SampleSource[] = [];

  beforeAll(() => {
    process.env.HYPERV_IC_STANDIN_CONTROL = workspace.controlPath;
  });

  afterAll(async () => {
    await Promise.all(openSources.map((source) => source.close()));
    workspace.remove();
  });

  function newSource(overrides: Partial<PowerShellSourceOptions> = {}): { source: SampleSource; records: Array<Record<string, unknown>>; logger: Logger } {
    const { logger, records } = capturingLogger();
    const source = createPowerShellSource({
      executable: pwshPath(),
      recycleAfterSamples: 1000,
      logger,
      preloadModules: [STAND_IN_MODULE],
      ...overrides,
    });
    openSources.push(source);
    return { source, records, logger };
  }

  async function expectFixture(source: SampleSource): Promise<void> {
    workspace.control({ fixture: FIXTURE, fault: 'none' });
    const sample = await source.sample('full', AbortSignal.timeout(15_000));
    expect('text' in sample && withDateTimesAsInstants(JSON.parse(sample.text))).toEqual({ ...withDateTimesAsInstants(fixtureDocument), collectedAt: expect.any(String) });
  }

  /**
   * A healthy sample, so that the source has a warm process (the one the test before left, or a new
   * one): that process, the launcher Node started it through if any, and how many processes the source
   * has started so far (the last of which it is).
   */
  async function warmProcess(source: SampleSource, records: Array<Record<string, unknown>>): Promise<{ pid: number; spawnedPid: number; started: number }> {
    await expectFixture(source);
    const started = startedRecords(records);
    const last = started.at(-1);
    expect(last?.pid).toBeDefined();
    const pid = last?.pid as number;
    // With a pwsh installed as a .NET tool, Node's child is a launcher that exits when PowerShell does.
    return { pid, spawnedPid: (last?.launcherPid as number | undefined) ?? pid, started: started.length };
  }

  /** Waits until the sample in flight is in the stand-in's Get-CimInstance (which logs the call, then hangs). */
  async function queryReachedStandIn(): Promise<void> {
    await waitFor('the query to reach the stand-in', () => workspace.calls().some((call) => call.command === 'Get-CimInstance'));
  }

  describe('one process after another', () => {
    // These tests share one source: each begins with the warm process the one before left (or starts one)
    // and counts the processes started from there. The backoff is the backoff test's; the other tests
    // fail at most once in a row, and the first restart never waits.
    let shared: { source: SampleSource; records: Array<Record<string, unknown>> };
    beforeAll(() => {
      shared = newSource({ restartBackoff: { initialMs: 700, maxMs: 700 } });
    });

    test('a hung query: the abort rejects at once as timeout, the process is killed, the next sample gets a new one', async () => {
      const { source, records } = shared;
      const first = await warmProcess(source, records);

      workspace.control({ fixture: FIXTURE, fault: 'hang' });
      workspace.clearCalls();
      const controller = new AbortController();
      const pending = rejection(source.sample('full', controller.signal));
      // Let the invocation reach the stand-in's sleep before the scheduler's timeout fires.
      await queryReachedStandIn();
      const abortedAt = Date.now();
      controller.abort();
      const error = await pending;
      expect(Date.now() - abortedAt).toBeLessThan(200);
      expect(error.reason).toBe('timeout');
      await waitFor('the first PowerShell process to end', () => !processExists(first.pid), { timeoutMs: 5_000 });

      await expectFixture(source);
      const pids = startedPids(records);
      expect(pids).toHaveLength(first.started + 1);
      expect(pids.at(-1)).not.toBe(first.pid);
    });

    test('a process that exits mid-sample fails that sample; the next one runs in a new process', async () => {
      const { source, records } = shared;
      const { started } = await warmProcess(source, records);
      workspace.control({ fixture: FIXTURE, fault: 'exit' });
      const error = await rejection(source.sample('full', AbortSignal.timeout(15_000)));
      expect(error.reason).toBe('source_error');
      expect(error.message).toMatch(/exited during the sample \(exit code 3\)/);
      await expectFixture(source);
      expect(startedPids(records)).toHaveLength(started + 1);
    });

    test('repeated crashes back off: the restart after the second one waits, failing fast meanwhile', async () => {
      const { source, records } = shared;
      const { started } = await warmProcess(source, records);
      workspace.control({ fixture: FIXTURE, fault: 'exit' });
      expect((await rejection(source.sample('full', AbortSignal.timeout(15_000)))).reason).toBe('source_error');
      // The first restart is immediate...
      expect((await rejection(source.sample('full', AbortSignal.timeout(15_000)))).reason).toBe('source_error');
      expect(startedPids(records)).toHaveLength(started + 1);
      // ...the next one waits for the backoff, without starting a process.
      workspace.control({ fixture: FIXTURE, fault: 'none' });
      const backingOff = await rejection(source.sample('full', AbortSignal.timeout(15_000)));
      expect(backingOff.reason).toBe('source_error');
      expect(backingOff.message).toMatch(/not restarting PowerShell for another 1 s after 2 consecutive failures/);
      expect(startedPids(records)).toHaveLength(started + 1);

      await new Promise((resolveDelay) => setTimeout(resolveDelay, 750));
      await expectFixture(source);
      expect(startedPids(records)).toHaveLength(started + 2);
    });

    test('a process killed while idle is replaced before the next sample, which succeeds', async () => {
      const { source, records } = shared;
      const { pid, spawnedPid, started } = await warmProcess(source, records);
      const from = records.length;
      process.kill(pid, 'SIGKILL');
      // Idle means Node has seen the exit: wait until it reaped its child, not merely until the kill.
      await waitFor('the PowerShell process to be reaped', () => processReaped(spawnedPid), { timeoutMs: 5_000 });
      await expectFixture(source);
      expect(startedPids(records)).toHaveLength(started + 1);
      expect(records.slice(from).some((record) => String((record.err as { message?: string } | undefined)?.message).includes('exited while idle'))).toBe(true);
    });

    // Runs last: it closes the shared source.
    test('close() ends the process before it resolves, also in the middle of a hung sample', async () => {
      const { source, records } = shared;
      const { pid, started } = await warmProcess(source, records);
      workspace.control({ fixture: FIXTURE, fault: 'hang' });
      workspace.clearCalls();
      const pending = rejection(source.sample('full', AbortSignal.timeout(60_000)));
      await queryReachedStandIn();
      await source.close();
      expect(processExists(pid)).toBe(false);
      const error = await pending;
      expect(error.reason).toBe('source_error');
      expect(error.message).toMatch(/closed/);
      // A closed source starts nothing.
      expect((await rejection(source.sample('full', AbortSignal.timeout(5_000)))).message).toMatch(/closed/);
      expect(startedPids(records)).toHaveLength(started);
    });
  });

  test('the process is recycled after recycleAfterSamples samples', async () => {
    const { source, records } = newSource({ recycleAfterSamples: 2 });
    for (let sample = 0; sample < 5; sample += 1) await expectFixture(source);
    const pids = startedPids(records);
    expect(pids).toHaveLength(3);
    expect(new Set(pids).size).toBe(3);
    await waitFor('both PowerShell processes to end', () => !processExists(pids[0] ?? 0) && !processExists(pids[1] ?? 0), { timeoutMs: 5_000 });
  });

  describe('remote hosts', () => {
    // One process serves these tests: each computer name has a CIM session of its own, and one that
    // could not be opened is not kept.
    let pool: PowerShellPool;
    beforeAll(() => {
      pool = createPowerShellPool({ executable: pwshPath(), recycleAfterSamples: 1000, logger: capturingLogger().logger, preloadModules: [STAND_IN_MODULE] });
    });
    afterAll(() => pool.close());

    test('a remote host is queried through one CIM session that is reused, and dropped after a failure', async () => {
      const { source } = newSource({ pool, computerName: 'hv02.example.com' });
      workspace.clearCalls();
      await expectFixture(source);
      await expectFixture(source);
      let calls = workspace.calls();
      expect(calls.filter((call) => call.command === 'New-CimSession').map((call) => call.ComputerName)).toEqual([['hv02.example.com']]);
      const queries = calls.filter((call) => call.command === 'Get-CimInstance');
      expect(queries.length).toBeGreaterThan(0);
      expect(queries.every((call) => call.CimSession === 'hv02.example.com')).toBe(true);

      // A failure drops the session (it may be what failed) and never asks the local vmms service.
      workspace.clearCalls();
      workspace.control({ fixture: FIXTURE, fault: 'access_denied' });
      expect((await rejection(source.sample('full', AbortSignal.timeout(15_000)))).reason).toBe('access_denied');
      calls = workspace.calls();
      expect(calls.map((call) => call.command)).toEqual(['Get-CimInstance', 'Remove-CimSession']);

      workspace.clearCalls();
      await expectFixture(source);
      expect(workspace.calls().filter((call) => call.command === 'New-CimSession')).toHaveLength(1);
    });

    test.each([
      ['session_fails', 'unreachable', /cannot be reached over WinRM.*New-CimSession/],
      ['session_not_configured', 'winrm_not_configured', /winrm quickconfig.*New-CimSession/],
      ['session_access_denied', 'access_denied', /log on to it over WinRM.*New-CimSession/],
    ] as const)('a CIM session that cannot be opened (%s) is counted as %s, with what to check', async (fault, reason, message) => {
      const { source } = newSource({ pool, computerName: '192.0.2.10' });
      workspace.control({ fixture: FIXTURE, fault });
      const error = await rejection(source.sample('full', AbortSignal.timeout(15_000)));
      expect(error.reason).toBe(reason);
      expect(error.message).toMatch(message);
    });
  });
});
