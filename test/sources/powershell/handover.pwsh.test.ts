import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPowerShellSource } from '../../../src/sources/powershell/powershellSource';
import type { SampleSource } from '../../../src/contract/sample';
import { PowerShellSession } from '../../../src/sources/powershell/session';
import { SimulatedHost } from '../../../src/sources/simulator/simulatedHost';
import { STAND_IN_MODULE, StandInWorkspace, describeWithPwsh, pwshPath } from './pwshHarness';

/**
 * The document comes back through a file, not through PowerShell's stdout: node-powershell gathers
 * stdout in time quadratic in its size (it concatenates the whole buffer at every chunk), which made a
 * 1024-VM document cost up to a second to hand over and a document near the size limit impossible
 * within the timeout. What crosses stdout is one short line, whatever the size of the document; the
 * file is read at once and removed.
 */
describeWithPwsh('the hand-over of a sample document', () => {
  jest.setTimeout(60_000);
  const workspace = new StandInWorkspace();
  // One PowerShell process for both tests; the second closes it.
  let source: SampleSource;

  beforeAll(() => {
    process.env.HYPERV_IC_STANDIN_CONTROL = workspace.controlPath;
    source = createPowerShellSource({ executable: pwshPath(), recycleAfterSamples: 1000, preloadModules: [STAND_IN_MODULE] });
  });
  afterAll(async () => {
    await source.close();
    workspace.remove();
  });

  test('a document of megabytes arrives whole, and stdout carries only a short line', async () => {
    const fixture = workspace.writeDocument('big.json', new SimulatedHost({ vms: 256, seed: 1, computerName: 'HV-BIG' }).next());
    workspace.control({ fixture, prebuilt: true });
    const answers: number[] = [];
    const original = PowerShellSession.prototype.invoke;
    const spy = jest.spyOn(PowerShellSession.prototype, 'invoke').mockImplementation(async function (this: PowerShellSession, command: string, signal: AbortSignal) {
      const answer = await original.call(this, command, signal);
      answers.push(answer.length);
      return answer;
    });
    try {
      const sample = await source.sample('full', AbortSignal.timeout(30_000));
      const text = 'text' in sample ? sample.text : '';
      expect(text.length).toBeGreaterThan(1_000_000);
      expect((JSON.parse(text) as { classes: { Msvm_ComputerSystem: unknown[] } }).classes.Msvm_ComputerSystem).toHaveLength(257);
      // The answer to the sample command: {"outFile":"…","length":n}, not the document.
      const sampleAnswer = answers.at(-1) ?? Infinity;
      expect(sampleAnswer).toBeLessThan(1_000);
    } finally {
      spy.mockRestore();
    }
  });

  test('the file is gone after the sample, and the pool\'s directory after close()', async () => {
    workspace.control({ fixture: workspace.writeDocument('small.json', new SimulatedHost({ vms: 2, seed: 1 }).next()) });
    const written: string[] = [];
    const original = PowerShellSession.prototype.invoke;
    const spy = jest.spyOn(PowerShellSession.prototype, 'invoke').mockImplementation(async function (this: PowerShellSession, command: string, signal: AbortSignal) {
      const answer = await original.call(this, command, signal);
      const file = /"outFile":"((?:[^"\\]|\\.)*)"/.exec(answer)?.[1];
      if (file !== undefined) written.push(JSON.parse(`"${file}"`) as string);
      return answer;
    });
    try {
      await source.sample('full', AbortSignal.timeout(30_000));
      expect(written).toHaveLength(1);
      const [file] = written as [string];
      expect(existsSync(file)).toBe(false);
      const directory = join(file, '..');
      expect(readdirSync(directory)).toEqual([]);
      await source.close();
      expect(existsSync(directory)).toBe(false);
    } finally {
      spy.mockRestore();
      await source.close();
    }
  });
});
