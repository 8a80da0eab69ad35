import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pino from 'pino';
import {
  DEFAULT_RESTART_BACKOFF,
  buildSampleCommand,
  createPowerShellSource,
  defaultCollectScriptPath,
  defaultPowerShellExecutable,
  restartDelayMs,
} from '../../../src/sources/powershell/powershellSource';
import { InvalidHostAddressError } from '../../../src/contract/hostAddress';
import { buildInitCommand } from '../../../src/sources/powershell/session';
import { capturingLogger, rejection } from './pwshHarness';

/** The source's Node-side behaviour; no PowerShell needed (the executable below does not exist). */

const MISSING_EXECUTABLE = join(tmpdir(), 'hyperv-ic-no-such-dir', 'pwsh');
const silent = pino({ level: 'silent' });

describe('createPowerShellSource options', () => {
  test('the source is named powershell', async () => {
    const source = createPowerShellSource({ executable: 'pwsh', recycleAfterSamples: 10, logger: silent });
    expect(source.name).toBe('powershell');
    await source.close();
  });

  test.each([0, -1, 1.5, Number.NaN])('recycleAfterSamples %p is refused', (recycleAfterSamples) => {
    expect(() => createPowerShellSource({ executable: 'pwsh', recycleAfterSamples, logger: silent })).toThrow(RangeError);
  });

  test('an invalid computer name is refused before any process starts', () => {
    expect(() => createPowerShellSource({ executable: 'pwsh', recycleAfterSamples: 10, logger: silent, computerName: "hv01'; exit; '" })).toThrow(
      InvalidHostAddressError,
    );
  });

  test('a missing collect.ps1 is refused with the path it looked at', () => {
    const scriptPath = join(tmpdir(), 'hyperv-ic-missing', 'collect.ps1');
    expect(() => createPowerShellSource({ executable: 'pwsh', recycleAfterSamples: 10, logger: silent, scriptPath })).toThrow(scriptPath);
  });

  test('collect.ps1 is found next to the source module', () => {
    expect(defaultCollectScriptPath()).toMatch(/sources[\\/]powershell[\\/]collect\.ps1$/);
  });

  test('the default executable is Windows PowerShell on Windows and pwsh elsewhere', () => {
    expect(defaultPowerShellExecutable('win32')).toBe('powershell.exe');
    expect(defaultPowerShellExecutable('linux')).toBe('pwsh');
    expect(defaultPowerShellExecutable('darwin')).toBe('pwsh');
  });
});

describe('commands sent to PowerShell', () => {
  test('the local sample command names only the scope', () => {
    expect(buildSampleCommand(undefined, 'full')).toBe('Get-HyperVIcSample -Scope Full');
    expect(buildSampleCommand(undefined, 'status')).toBe('Get-HyperVIcSample -Scope Status');
  });

  test.each([
    ['hv02.corp.example.com', "Get-HyperVIcSample -Scope Full -ComputerName 'hv02.corp.example.com'"],
    ['[2001:db8::10]', "Get-HyperVIcSample -Scope Full -ComputerName '2001:db8::10'"],
  ])('the remote sample command for %s is %s', (computerName, command) => {
    expect(buildSampleCommand(computerName, 'full')).toBe(command);
  });

  test('the start-up command is one line that loads the modules and the script, quoted', () => {
    const command = buildInitCommand("C:\\Program Files\\it's\\collect.ps1", ['/opt/stand-in.psm1', 'C:\\Users\\J\u00fcrgen\\m.psm1']);
    expect(command).not.toMatch(/[\r\n]/);
    expect(command).toContain('[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false');
    expect(command).toContain("Import-Module -Name '/opt/stand-in.psm1' -Force -DisableNameChecking -ErrorAction Stop");
    expect(command).toContain('Import-Module -Name ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String(');
    expect(command).toContain(". 'C:\\Program Files\\it''s\\collect.ps1'");
    expect(command.endsWith('; Get-HyperVIcSessionInfo')).toBe(true);
    expect(command.indexOf('Import-Module')).toBeLessThan(command.indexOf('. '));
  });
});

describe('restart backoff', () => {
  test.each([
    [0, 0],
    [1, 0],
    [2, 1_000],
    [3, 2_000],
    [4, 4_000],
    [7, 32_000],
    [8, 60_000],
    [50, 60_000],
  ])('after %i consecutive failures the next start waits %i ms', (failures, delay) => {
    expect(restartDelayMs(failures, DEFAULT_RESTART_BACKOFF)).toBe(delay);
  });
});

describe('a PowerShell executable that does not exist', () => {
  test('is powershell_not_found, restarted at once after the first failure and backed off after the second', async () => {
    const { logger, records } = capturingLogger();
    const source = createPowerShellSource({
      executable: MISSING_EXECUTABLE,
      recycleAfterSamples: 10,
      logger,
      restartBackoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    try {
      const first = await rejection(source.sample('full', AbortSignal.timeout(10_000)));
      expect(first.reason).toBe('powershell_not_found');
      expect(first.message).toContain(MISSING_EXECUTABLE);

      const second = await rejection(source.sample('full', AbortSignal.timeout(10_000)));
      expect(second.reason).toBe('powershell_not_found');
      expect(second.message).not.toMatch(/not restarting/);

      const third = await rejection(source.sample('full', AbortSignal.timeout(10_000)));
      expect(third.reason).toBe('powershell_not_found');
      expect(third.message).toMatch(/not restarting PowerShell for another 60 s after 2 consecutive failures/);

      const failures = records.filter((record) => record.msg === 'PowerShell process failed; it will be replaced at the next sample');
      expect(failures).toHaveLength(2);
      // At debug, without a stack: the sampler's one line at error level says it, naming --powershell.path.
      expect(failures.every((record) => record.level === 20 && record.reason === 'powershell_not_found' && record['err'] === undefined)).toBe(true);
      expect(records.filter((record) => (record.level as number) >= 40)).toEqual([]);
    } finally {
      await source.close();
    }
  });

  test('a sample whose signal already aborted is a timeout and starts nothing', async () => {
    const { logger, records } = capturingLogger();
    const source = createPowerShellSource({ executable: MISSING_EXECUTABLE, recycleAfterSamples: 10, logger });
    const error = await rejection(source.sample('full', AbortSignal.abort()));
    expect(error.reason).toBe('timeout');
    expect(records).toEqual([]);
    await source.close();
  });

  test('after close() a sample fails without starting anything', async () => {
    const { logger, records } = capturingLogger();
    const source = createPowerShellSource({ executable: MISSING_EXECUTABLE, recycleAfterSamples: 10, logger });
    await source.close();
    await source.close();
    const error = await rejection(source.sample('full', AbortSignal.timeout(1_000)));
    expect(error.reason).toBe('source_error');
    expect(error.message).toMatch(/closed/);
    expect(records.filter((record) => record.level !== 20)).toEqual([]);
  });
});
