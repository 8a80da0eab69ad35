import { runsAsLocalSystem } from '../src/windowsAccount';

describe('runsAsLocalSystem', () => {
  test('LocalSystem is told by its profile folder, in any case and with either slash', () => {
    expect(runsAsLocalSystem('win32', { USERPROFILE: 'C:\\Windows\\system32\\config\\systemprofile' })).toBe(true);
    expect(runsAsLocalSystem('win32', { USERPROFILE: 'C:\\WINDOWS\\System32\\Config\\SystemProfile\\' })).toBe(true);
    expect(runsAsLocalSystem('win32', { USERPROFILE: 'C:/Windows/system32/config/systemprofile' })).toBe(true);
  });

  test('a virtual account, a gMSA, a user, or no profile at all is not LocalSystem', () => {
    expect(runsAsLocalSystem('win32', { USERPROFILE: 'C:\\Windows\\ServiceProfiles\\hyperv-ic-exporter' })).toBe(false);
    expect(runsAsLocalSystem('win32', { USERPROFILE: 'C:\\Users\\hvic-exporter$' })).toBe(false);
    expect(runsAsLocalSystem('win32', { USERPROFILE: 'C:\\Users\\admin' })).toBe(false);
    expect(runsAsLocalSystem('win32', {})).toBe(false);
  });

  test('never off Windows', () => {
    expect(runsAsLocalSystem('linux', { USERPROFILE: 'C:\\Windows\\system32\\config\\systemprofile' })).toBe(false);
  });
});
