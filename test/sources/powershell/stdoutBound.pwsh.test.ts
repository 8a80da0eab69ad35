import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPowerShellSource } from '../../../src/sources/powershell/powershellSource';
import { MAX_COMMAND_STDOUT_BYTES, PowerShellSession } from '../../../src/sources/powershell/session';
import type { SampleSource } from '../../../src/contract/sample';
import {
  FIXTURE_DOCUMENTS,
  STAND_IN_MODULE,
  StandInWorkspace,
  capturingLogger,
  describeWithPwsh,
  processReaped,
  pwshPath,
  rejection,
  withDateTimesAsInstants,
} from './pwshHarness';
import { waitFor } from '../../helpers/waitFor';

/**
 * What PowerShell writes to stdout is bounded (MAX_COMMAND_STDOUT_BYTES): the protocol's answer is one
 * short line and the document comes through a file. A real pwsh that writes 50 MB of garbage straight
 * to stdout fails the sample at once as output_unparseable, not as a timeout after node-powershell has
 * gathered all of it (10 MiB took it 8 s; 50 MB ran into the timeout), and its process is replaced.
 */

const FIXTURE = join(FIXTURE_DOCUMENTS, 'single-vm.json');
const fixtureDocument = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
const GARBAGE_BYTES = 50 * 1024 * 1024;
const SAMPLE_TIMEOUT_MS = 10_000;

/**
 * Imported after the stand-in: while the flag file exists, its Get-CimInstance writes GARBAGE_BYTES of
 * text straight to stdout (past the pipeline, as a stray .NET call or a native program would); else it
 * hands the call to the stand-in.
 */
const GARBAGE_MODULE = `
function Get-CimInstance {
    if (Test-Path -LiteralPath $env:HYPERV_IC_GARBAGE_FLAG) {
        $chunk = 'garbage, not JSON: 0123456789abcdef' * 1900
        $chunk = $chunk.Substring(0, 65536)
        for ($i = 0; $i -lt ${GARBAGE_BYTES / 65536}; $i++) { [Console]::Out.Write($chunk) }
        [Console]::Out.Flush()
        return
    }
    HyperVIcStandIn\\Get-CimInstance @args
}
Export-ModuleMember -Function Get-CimInstance
`;

function startedPids(records: Array<Record<string, unknown>>): number[] {
  return records.filter((record) => record.msg === 'PowerShell process started').map((record) => record.pid as number);
}

describeWithPwsh('PowerShell source: the stdout of a command is bounded', () => {
  const workspace = new StandInWorkspace();
  const dir = mkdtempSync(join(tmpdir(), 'hyperv-ic-garbage-'));
  const modulePath = join(dir, 'GarbageStdout.psm1');
  const flag = join(dir, 'write-garbage');
  const { logger, records } = capturingLogger();
  let source: SampleSource;

  beforeAll(() => {
    writeFileSync(modulePath, GARBAGE_MODULE, 'utf8');
    process.env.HYPERV_IC_STANDIN_CONTROL = workspace.controlPath;
    process.env.HYPERV_IC_GARBAGE_FLAG = flag;
    workspace.control({ fixture: FIXTURE, fault: 'none' });
    source = createPowerShellSource({ executable: pwshPath(), recycleAfterSamples: 1000, logger, preloadModules: [STAND_IN_MODULE, modulePath] });
  });

  afterAll(async () => {
    await source.close();
    workspace.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function expectFixture(): Promise<void> {
    const sample = await source.sample('full', AbortSignal.timeout(30_000));
    expect('text' in sample && withDateTimesAsInstants(JSON.parse(sample.text))).toEqual({ ...withDateTimesAsInstants(fixtureDocument), collectedAt: expect.any(String) });
  }

  test('a healthy sample through both modules', async () => {
    await expectFixture();
    expect(startedPids(records)).toHaveLength(1);
  });

  test('50 MB of garbage on stdout: output_unparseable well within the timeout, and the process replaced', async () => {
    // A warm process, so that the time below is the sample's alone.
    if (startedPids(records).length === 0) await expectFixture();
    const [firstPid] = startedPids(records);
    writeFileSync(flag, '');
    const started = performance.now();
    const error = await rejection(source.sample('full', AbortSignal.timeout(SAMPLE_TIMEOUT_MS)));
    const elapsedMs = performance.now() - started;
    rmSync(flag);

    expect(error.reason).toBe('output_unparseable');
    expect(error.message).toContain(`more than ${MAX_COMMAND_STDOUT_BYTES} bytes to stdout`);
    expect(error.message).toContain('garbage, not JSON');
    // node-powershell gathered 10 MiB in 8 s and ran 50 MB into the timeout; the bound is reached after 64 KiB.
    expect(elapsedMs).toBeLessThan(SAMPLE_TIMEOUT_MS / 5);

    // The process that wrote it is ended, and the next sample runs in a new one (which starts while the
    // first is still being ended: it may take the kill grace period to go).
    await Promise.all([waitFor('the first PowerShell process to be reaped', () => processReaped(firstPid!), { timeoutMs: 10_000 }), expectFixture()]);
    const pids = startedPids(records);
    expect(pids).toHaveLength(2);
    expect(pids[1]).not.toBe(firstPid);
  });
});

describeWithPwsh('PowerShellSession: the bound, at its edge', () => {
  let session: PowerShellSession;

  beforeAll(async () => {
    session = PowerShellSession.spawn({ executable: pwshPath(), killGraceMs: 2_000 });
    await session.invoke("$ProgressPreference = 'SilentlyContinue'", AbortSignal.timeout(30_000));
  });

  afterAll(() => session.dispose());

  test('an answer of 60 000 bytes is read whole; one of 70 000 fails at once, and so does the next command', async () => {
    const answer = await session.invoke("[Console]::Out.WriteLine('y' * 60000)", AbortSignal.timeout(30_000));
    expect(answer.trim()).toBe('y'.repeat(60_000));

    const error = await rejection(session.invoke("[Console]::Out.WriteLine('z' * 70000)", AbortSignal.timeout(30_000)));
    expect(error.reason).toBe('output_unparseable');
    expect(error.message).toMatch(/It began: z{200}…$/);
    expect((await rejection(session.invoke('1', AbortSignal.timeout(30_000)))).reason).toBe('output_unparseable');
  });
});
