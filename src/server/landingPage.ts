import type { HostModel } from '../model/hostModel';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface LandingPageInput {
  readonly version: string;
  readonly source: string;
  readonly telemetryPath: string;
  readonly model: HostModel | null;
  readonly lastSuccessAt: Date | null;
}

/** The page at /: links, version, and the VMs with their heartbeat, for a quick look without Grafana. */
export function landingPage(input: LandingPageInput): string {
  const rows =
    input.model?.vms
      .map((vm) => {
        const heartbeat = vm.components.find((c) => c.name === 'heartbeat');
        const status = heartbeat?.status ?? (heartbeat?.enabled === false ? 'disabled' : '—');
        const css = status === 'ok' || status === 'degraded' ? 'ok' : status === 'lost_communication' || status === 'error' || status === 'non_recoverable_error' ? 'bad' : '';
        return `<tr><td>${escapeHtml(vm.name)}</td><td><code>${vm.id}</code></td><td>${vm.state}</td><td class="${css}">${escapeHtml(status)}</td></tr>`;
      })
      .join('\n') ?? '';
  const host = input.model === null ? 'no successful sample yet' : `host ${escapeHtml(input.model.hostName)}, ${input.model.vms.length} VMs`;
  const when = input.lastSuccessAt === null ? '' : `, sampled ${input.lastSuccessAt.toISOString()}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hyper-V integration components exporter</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:bold}</style>
</head><body>
<h1>Hyper-V integration components exporter</h1>
<p>Version ${escapeHtml(input.version)}, source <code>${escapeHtml(input.source)}</code>: ${host}${when}.</p>
<ul><li><a href="${escapeHtml(input.telemetryPath)}">Metrics</a></li><li><a href="/-/healthy">Health</a></li><li><a href="/-/ready">Readiness</a></li></ul>
<table><thead><tr><th>VM</th><th>vm_id</th><th>State</th><th>Heartbeat</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
