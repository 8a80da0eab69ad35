import { spawn } from 'node:child_process';
import { STAND_IN_MODULE, StandInWorkspace, describeWithPwsh, pwshPath } from './pwshHarness';

/**
 * The stand-ins' call log is written by every PowerShell process of a pool at once (cluster and
 * multi-host tests). Each call must arrive as one whole JSON line, or those tests fail by chance.
 */

const PROCESSES = 4;
const CALLS_PER_PROCESS = 150;

function runCalls(workspace: StandInWorkspace, label: string): Promise<number | null> {
  const script = [
    `Import-Module -Name '${STAND_IN_MODULE.replace(/'/g, "''")}'`,
    `for ($i = 0; $i -lt ${CALLS_PER_PROCESS}; $i++) { $null = Get-Service -Name ('${label}-' + $i) }`,
  ].join('; ');
  return new Promise((resolve, reject) => {
    const child = spawn(pwshPath(), ['-NoProfile', '-NonInteractive', '-Command', script], {
      env: { ...process.env, HYPERV_IC_STANDIN_CONTROL: workspace.controlPath },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

describeWithPwsh('the stand-ins’ call log', () => {
  jest.setTimeout(60_000);
  const workspace = new StandInWorkspace();
  afterAll(() => workspace.remove());

  test('several processes logging at once leave one whole line per call', async () => {
    const labels = Array.from({ length: PROCESSES }, (_, index) => `p${index}`);
    expect(await Promise.all(labels.map((label) => runCalls(workspace, label)))).toEqual(labels.map(() => 0));
    const names = workspace.calls().map((call) => String(call.Name));
    expect(names).toHaveLength(PROCESSES * CALLS_PER_PROCESS);
    for (const label of labels) {
      const own = names.filter((name) => name.startsWith(`${label}-`));
      expect(own).toEqual(Array.from({ length: CALLS_PER_PROCESS }, (_, index) => `${label}-${index}`));
    }
  });
});
