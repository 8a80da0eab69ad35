/**
 * Whether the exporter runs as LocalSystem, the MSI's default account (as windows_exporter's): it can
 * do anything on the host, far more than reading root/virtualization/v2 needs. Told by the profile
 * folder, which is the same path in every language, not by the account's name, which is localized.
 */
export function runsAsLocalSystem(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): boolean {
  if (platform !== 'win32') return false;
  const profile = (env['USERPROFILE'] ?? '').replace(/\//g, '\\').replace(/\\+$/, '').toLowerCase();
  return profile.endsWith('\\system32\\config\\systemprofile');
}
