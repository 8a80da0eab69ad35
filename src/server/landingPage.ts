import type { CurrentSample } from '../sampling/currentSample';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A host as the landing page shows it. */
export interface LandingHost {
  readonly name: string;
  readonly current: CurrentSample | null;
}

export interface LandingPageInput {
  readonly version: string;
  readonly source: string;
  readonly telemetryPath: string;
  readonly hosts: readonly LandingHost[];
  /** --config.file: hosts are probed one by one (/probe?target=). */
  readonly multiHost: boolean;
}

function vmRows(host: LandingHost, withHost: boolean): string[] {
  return (host.current?.model?.vms ?? []).map((vm) => {
    const heartbeat = vm.components.find((c) => c.name === 'heartbeat');
    const status = heartbeat?.status ?? (heartbeat?.enabled === false ? 'disabled' : '—');
    const css = status === 'ok' || status === 'degraded' ? 'ok' : status === 'lost_communication' || status === 'error' || status === 'non_recoverable_error' ? 'bad' : '';
    const backup = vm.lastBackupSeconds === null ? '—' : vm.lastBackupSeconds === 0 ? 'never' : new Date(vm.lastBackupSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
    const address = vm.guestAddresses[0]?.address ?? '—';
    const hostCell = withHost ? `<td>${escapeHtml(host.name)}</td>` : '';
    return `<tr>${hostCell}<td>${escapeHtml(vm.name)}</td><td><code>${vm.id}</code></td><td>${vm.state}</td><td class="${css}">${escapeHtml(status)}</td><td>${escapeHtml(backup)}</td><td>${escapeHtml(address)}</td></tr>`;
  });
}

function hostRow(host: LandingHost): string {
  const current = host.current;
  const up = current?.health.up === true;
  const when = current?.lastSuccessAt?.toISOString() ?? 'never';
  const target = encodeURIComponent(host.name);
  return `<tr><td><a href="/probe?target=${target}">${escapeHtml(host.name)}</a></td><td class="${up ? 'ok' : 'bad'}">${up ? 'up' : 'down'}</td><td>${current?.model?.vms.length ?? 0}</td><td>${escapeHtml(when)}</td></tr>`;
}

/** The page at /: links, version, the hosts, and the VMs with their heartbeat, last backup and first address, for a quick look without Grafana. */
export function landingPage(input: LandingPageInput): string {
  const { hosts, multiHost } = input;
  const only = hosts[0];
  const summary = multiHost
    ? `${hosts.length} hosts, ${hosts.reduce((n, h) => n + (h.current?.model?.vms.length ?? 0), 0)} VMs`
    : only?.current?.model == null
      ? 'no successful sample yet'
      : `host ${escapeHtml(only.current.model.hostName)}, ${only.current.model.vms.length} VMs, sampled ${only.current.lastSuccessAt?.toISOString() ?? ''}`;
  const hostTable = multiHost
    ? `<h2>Hosts</h2>
<table><thead><tr><th>Host</th><th>Sampling</th><th>VMs</th><th>Last good sample (UTC)</th></tr></thead>
<tbody>
${hosts.map(hostRow).join('\n')}
</tbody></table>
<h2>VMs</h2>`
    : '';
  const links = [`<li><a href="${escapeHtml(input.telemetryPath)}">Metrics</a></li>`, ...(multiHost ? ['<li><a href="/targets">Targets</a></li>'] : []), '<li><a href="/-/healthy">Health</a></li>', '<li><a href="/-/ready">Readiness</a></li>'];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hyper-V integration components exporter</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:bold}</style>
</head><body>
<h1>Hyper-V integration components exporter</h1>
<p>Version ${escapeHtml(input.version)}, source <code>${escapeHtml(input.source)}</code>: ${summary}.</p>
<ul>${links.join('')}</ul>
${hostTable}
<table><thead><tr>${multiHost ? '<th>Host</th>' : ''}<th>VM</th><th>vm_id</th><th>State</th><th>Heartbeat</th><th>Last backup (UTC)</th><th>Address</th></tr></thead>
<tbody>
${hosts.flatMap((host) => vmRows(host, multiHost)).join('\n')}
</tbody></table>
</body></html>
`;
}
