import type { FailureReason } from '../contract/sample';
import type { VmModel } from '../model/hostModel';
import type { CurrentSample, SampleFailure } from '../sampling/currentSample';
import type { ServedHost } from '../sampling/servedSamples';
import { BACKUP_MAX_AGE_SECONDS, BOOT_GRACE_SECONDS, SEVERITIES, vmProblems, type Severity, type VmProblem } from './vmProblems';

/**
 * The page at /: what an admin meeting the exporter first wants to know, without Grafana. The hosts
 * (sampling up or down, the last failure's reason and message, the age of the last good sample), then
 * the VMs with problems, worst first, each problem named; then the other VMs by name, VMS_PER_PAGE to a
 * page (?page=). Static HTML and one small style sheet: no script, no external resource. Everything a
 * guest, a host or a config file wrote is escaped. docs/landing-page.md shows it.
 */

export interface LandingPageInput {
  readonly version: string;
  readonly source: string;
  readonly telemetryPath: string;
  readonly hosts: readonly ServedHost[];
  /** --config.file: hosts are probed one by one (/probe?target=). */
  readonly multiHost: boolean;
  /** The ?page= of the request: which page of the VMs without problems (the problems are always on page 1). */
  readonly page?: string;
  /** What ages are measured against; now by default. */
  readonly now?: Date;
}

/** VMs without problems per page; the VMs with problems are all on page 1, whatever their number. */
export const VMS_PER_PAGE = 200;

/**
 * Longest VM name shown, in code points; a longer one is cut with an ellipsis (the vm_id beside it is
 * the identity, and the metrics carry the name up to the model's 128). The bound that keeps page 1
 * under 1 MB at 1024 VMs even when every one has every problem and a name of nothing but `<`.
 */
const MAX_NAME_LENGTH = 64;

/** Longest sample-failure message shown, in code points (the log has it whole). */
const MAX_MESSAGE_LENGTH = 400;

/** What to check for each failure reason: one line; docs/running-on-hyperv.md has the whole story. */
const REASON_HINTS: Readonly<Record<FailureReason, string>> = {
  timeout: 'The sample did not finish within --sample.timeout (a PowerShell process is replaced): a busy or hung WMI, or a slow host.',
  invalid_document: 'The source answered, but not with a valid sample document; the log says which part was wrong.',
  source_error: 'The source failed in a way that has no reason of its own; the message says how.',
  namespace_missing: 'root/virtualization/v2 does not exist on the host: is the Hyper-V role installed?',
  access_denied: 'Access denied, or an empty answer: is the account in Hyper-V Administrators (and logged on again since)?',
  vmms_not_running: 'The Hyper-V Virtual Machine Management service (vmms) is not running.',
  powershell_not_found: 'The PowerShell executable could not be started: check --powershell.path for this account.',
  output_unparseable: 'PowerShell printed something other than the collection script\u2019s output.',
  unreachable: 'The host cannot be reached over WinRM: its name, DNS, the network, TCP 5985 in the firewall.',
  winrm_not_configured: 'The host answers, but WinRM does not take the request: winrm quickconfig; use its DNS name.',
};

const SEVERITY_CLASS: Readonly<Record<Severity, string>> = { critical: 'c', warning: 'w', info: 'i' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A message cut to MAX_MESSAGE_LENGTH code points, control characters made spaces, escaped. */
function messageHtml(message: string): string {
  const points = [...message.replace(/[\u0000-\u001F\u007F-\u009F]+/g, ' ').trim()];
  const cut = points.length > MAX_MESSAGE_LENGTH ? `${points.slice(0, MAX_MESSAGE_LENGTH).join('')}\u2026` : points.join('');
  return escapeHtml(cut === '' ? '(no message)' : cut);
}

/** `2026-11-24 10:00:00 UTC`. */
function utc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `42 s ago`, `5 min ago`, `3 h ago`, `12 days ago`. */
function ago(date: Date, now: Date): string {
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  if (seconds < 0) return 'in the future (clock skew?)';
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 120 * 60) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} days ago`;
}

/** `3 h`, `12 d`: an uptime, short. */
function duration(seconds: number): string {
  if (seconds < 120) return `${Math.floor(seconds)} s`;
  if (seconds < 120 * 60) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

/** `1 VM`, `12 VMs`. */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

type HostStatus = 'starting' | 'up' | 'down';

function hostStatus(current: CurrentSample | null): HostStatus {
  if (current === null || current.health.durationSeconds === null) return 'starting';
  return current.health.up ? 'up' : 'down';
}

function failureHtml(failure: SampleFailure, now: Date): string {
  return (
    `<code class="reason">${failure.reason}</code> <span class="m">${ago(failure.at, now)}, ${utc(failure.at)}</span>` +
    `<div class="msg">${messageHtml(failure.message)}</div><div class="m">${escapeHtml(REASON_HINTS[failure.reason])}</div>`
  );
}

function hostRow(host: ServedHost, multiHost: boolean, now: Date): string {
  const current = host.current;
  const status = hostStatus(current);
  const model = current?.model ?? null;
  const computer = model === null ? '' : escapeHtml(model.hostName);
  const name = multiHost
    ? `<a href="/probe?target=${escapeHtml(encodeURIComponent(host.name))}">${escapeHtml(host.name)}</a>${computer !== '' && model?.hostName.toLowerCase() !== host.name.toLowerCase() ? ` <span class="m">${computer}</span>` : ''}`
    : `${computer === '' ? '<span class="m">not known yet</span>' : computer} <span class="m">(${escapeHtml(host.name)})</span>`;
  const statusText = status === 'starting' ? 'first sample running' : status;
  const lastGood = current?.lastSuccessAt ?? null;
  const goodHtml =
    lastGood === null
      ? '<b>never</b><div class="m">no sample has succeeded since the exporter started</div>'
      : `${ago(lastGood, now)}<div class="m">${utc(lastGood)}</div>${model === null ? '<div class="m">VM data aged out (--sample.max-age)</div>' : status === 'down' ? '<div class="m">VMs below are from this sample</div>' : ''}`;
  const failure = current?.lastFailure ?? null;
  const failureCell =
    failure === null
      ? '<span class="m">none since start</span>'
      : status === 'up'
        ? `<div class="m">recovered; last failure:</div>${failureHtml(failure, now)}`
        : failureHtml(failure, now);
  return `<tr><td>${name}</td><td><span class="s ${status}">${statusText}</span></td><td class="n">${model === null ? '\u2014' : model.vms.length}</td><td>${goodHtml}</td><td class="fail">${failureCell}</td></tr>`;
}

interface VmRow {
  readonly host: string;
  readonly vm: VmModel;
  readonly problems: readonly VmProblem[];
  /** nameKey(vm.name), computed once. */
  readonly key: string;
}

/** What names sort by: without case, and numbers by value (`vm9` before `vm10`). */
function nameKey(name: string): string {
  return name.toLowerCase().replace(/\d+/g, (digits) => digits.padStart(12, '0'));
}

const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** By name (then exactly, then vm_id, then host): names are not unique. */
function byName(a: VmRow, b: VmRow): number {
  return order(a.key, b.key) || order(a.vm.name, b.vm.name) || order(a.vm.id, b.vm.id) || order(a.host, b.host);
}

function worst(row: VmRow): number {
  return row.problems.length === 0 ? SEVERITIES.length : SEVERITIES.indexOf(row.problems[0]!.severity);
}

// A VM row is the unit of the page's size (1024 of them must stay well under 1 MB, whatever the
// names): cells hold no more markup than their look needs, and short cells keep their words together
// with no-break spaces rather than a class.

function heartbeatCell(vm: VmModel): string {
  const heartbeat = vm.components.find((c) => c.name === 'heartbeat');
  if (heartbeat?.enabled === false) return '<td class=m>disabled</td>';
  const status = heartbeat?.status ?? null;
  if (status === null) return '<td class=m>\u2014</td>';
  const css = status === 'ok' || status === 'degraded' ? 'ok' : status === 'lost_communication' || status === 'error' || status === 'non_recoverable_error' ? 'bad' : 'm';
  return `<td class=${css}>${status}</td>`;
}

function backupCell(vm: VmModel): string {
  if (vm.lastBackupSeconds === null) return '<td class=m>\u2014</td>';
  if (vm.lastBackupSeconds === 0) return '<td>never</td>';
  return `<td>${new Date(vm.lastBackupSeconds * 1000).toISOString().slice(0, 16).replace('T', '\u00a0')}</td>`;
}

/** A display name cut to MAX_NAME_LENGTH code points (the vm_id beside it is the identity), escaped. */
function nameHtml(name: string): string {
  const points = name.length > MAX_NAME_LENGTH ? [...name] : null;
  return escapeHtml(points !== null && points.length > MAX_NAME_LENGTH ? `${points.slice(0, MAX_NAME_LENGTH).join('')}\u2026` : name);
}

function vmRow(row: VmRow, withHost: boolean, withProblems: boolean): string {
  const { vm } = row;
  const uptime = vm.uptimeSeconds !== null && vm.uptimeSeconds > 0 ? `\u00a0<small>${duration(vm.uptimeSeconds).replace(' ', '\u00a0')}</small>` : '';
  const state = `${vm.state}${vm.migrating ? ', migrating' : ''}${uptime}`;
  const problems = withProblems ? `<td class=p>${row.problems.map((p) => `<b class=${SEVERITY_CLASS[p.severity]}>${escapeHtml(p.text)}</b>`).join(' ')}</td>` : '';
  const cls = withProblems ? ` class=${SEVERITY_CLASS[row.problems[0]?.severity ?? 'info']}` : '';
  return `<tr${cls}>${withHost ? `<td>${escapeHtml(row.host)}</td>` : ''}<th>${nameHtml(vm.name)}</th><td>${state}</td>${heartbeatCell(vm)}${problems}${backupCell(vm)}<td>${escapeHtml(vm.guestAddresses[0]?.address ?? '\u2014')}</td><td class=id>${escapeHtml(vm.id)}</td></tr>`;
}

function vmTable(rows: readonly VmRow[], withHost: boolean, withProblems: boolean, id: string): string {
  const head = `<tr>${withHost ? '<th>Host</th>' : ''}<th>VM</th><th>State</th><th>Heartbeat</th>${withProblems ? '<th>Problems</th>' : ''}<th>Last backup (UTC)</th><th>Address</th><th>vm_id</th></tr>`;
  return `<table id="${id}" class="vms"><thead>${head}</thead><tbody>\n${rows.map((row) => vmRow(row, withHost, withProblems)).join('\n')}\n</tbody></table>`;
}

/** 1-based; anything else than a page number in range is the nearest page. */
function pageNumber(page: string | undefined, pages: number): number {
  const n = page !== undefined && /^\d{1,9}$/.test(page) ? Number(page) : 1;
  return Math.min(Math.max(n, 1), pages);
}

function pager(page: number, pages: number): string {
  if (pages <= 1) return '';
  const link = (n: number, text: string): string => (n === page ? `<b>${text}</b>` : `<a href="?page=${n}">${text}</a>`);
  const from = Math.max(1, page - 3);
  const to = Math.min(pages, page + 3);
  const numbers: string[] = [];
  if (from > 1) numbers.push(link(1, '1'), ...(from > 2 ? ['\u2026'] : []));
  for (let n = from; n <= to; n++) numbers.push(link(n, String(n)));
  if (to < pages) numbers.push(...(to < pages - 1 ? ['\u2026'] : []), link(pages, String(pages)));
  const prev = page > 1 ? link(page - 1, '\u2039 previous') : '<span class="m">\u2039 previous</span>';
  const next = page < pages ? link(page + 1, 'next \u203a') : '<span class="m">next \u203a</span>';
  return `<nav class="pages" aria-label="Pages">${prev} ${numbers.join(' ')} ${next}</nav>`;
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;background:#fff}
header{background:#24292f;color:#f0f3f6;padding:.7rem 1.5rem;display:flex;flex-wrap:wrap;align-items:baseline;gap:.4rem 1.5rem}
header h1{font-size:1.1rem;margin:0;font-weight:600}
header nav a{color:#c9d1d9;margin-right:1rem;text-decoration:none}
header nav a:hover{text-decoration:underline}
header .v{color:#9198a1;font-size:13px;margin-left:auto}
main{padding:1rem 1.5rem 2rem}
h2{font-size:1rem;margin:1.6rem 0 .5rem;font-weight:600}
h2 .m{font-weight:400}
.cards{display:flex;flex-wrap:wrap;gap:.75rem}
.card{border:1px solid #d1d9e0;border-radius:6px;padding:.45rem .9rem;min-width:10rem}
.card b{display:block;font-size:1.45rem;line-height:1.3}
.card.c{border-color:#ff8182;background:#fff5f5}.card.c b{color:#cf222e}
.card.w{border-color:#d4a72c;background:#fffbe6}.card.w b{color:#9a6700}
.card.ok b{color:#1a7f37}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:12px;font-weight:600;color:#59636e;border-bottom:2px solid #d1d9e0;padding:.3rem .6rem;white-space:nowrap}
td{padding:.35rem .6rem;border-bottom:1px solid #eaeef2;vertical-align:baseline}
#hosts td:first-child,.vms td{white-space:nowrap}
tbody tr:hover{background:#f6f8fa}
#problems tr.c>:first-child{box-shadow:inset 4px 0 #cf222e}
#problems tr.w>:first-child{box-shadow:inset 4px 0 #d4a72c}
#problems tr.i>:first-child{box-shadow:inset 4px 0 #54aeff}
.vms tbody th{text-align:left;vertical-align:baseline;font-size:14px;color:#1f2328;border-bottom:1px solid #eaeef2;padding:.35rem .6rem;white-space:normal;overflow-wrap:anywhere;min-width:8rem;max-width:22rem}
.vms td.p,.vms td.id{white-space:normal}
small{font-size:inherit;color:#59636e}
.id,code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
.id{color:#59636e}
.m{color:#59636e}
.ok{color:#1a7f37}
.bad{color:#cf222e;font-weight:600}
.n{text-align:right}
td.p b{display:inline-block;padding:0 .5rem;margin:1px 0;border-radius:1rem;font-size:12px;font-weight:400;white-space:nowrap;border:1px solid}
td.p b.c{background:#ffebe9;color:#a40e26;border-color:#ffcecb}
td.p b.w{background:#fff8c5;color:#6c4400;border-color:#eac54f}
td.p b.i{background:#ddf4ff;color:#0550ae;border-color:#b6e3ff}
.s{display:inline-block;padding:0 .55rem;border-radius:1rem;font-size:12px;font-weight:600}
.s.up{background:#dafbe1;color:#116329}.s.down{background:#ffebe9;color:#a40e26}.s.starting{background:#eaeef2;color:#59636e}
.fail{max-width:38rem}
.msg{overflow-wrap:anywhere}
.reason{font-weight:600}
.note{padding:.6rem .9rem;border-radius:6px;background:#f6f8fa;border:1px solid #d1d9e0}
.note.ok{background:#dafbe1;border-color:#aceebb;color:#116329}
.pages{margin:.75rem 0}.pages a,.pages b{padding:0 .3rem}
footer{margin-top:2rem;color:#59636e;font-size:13px;max-width:60rem}
`
  .trim()
  .replace(/\n/g, '');

/** The page at /. */
export function landingPage(input: LandingPageInput): string {
  const { hosts, multiHost } = input;
  const now = input.now ?? new Date();
  const nowSeconds = now.getTime() / 1000;
  const rows: VmRow[] = hosts.flatMap((host) => (host.current?.model?.vms ?? []).map((vm) => ({ host: host.name, vm, problems: vmProblems(vm, nowSeconds), key: nameKey(vm.name) })));
  const withProblems = rows.filter((row) => row.problems.length > 0).sort((a, b) => worst(a) - worst(b) || byName(a, b));
  const others = rows.filter((row) => row.problems.length === 0).sort(byName);
  const pages = Math.max(1, Math.ceil(others.length / VMS_PER_PAGE));
  const page = pageNumber(input.page, pages);
  const shown = others.slice((page - 1) * VMS_PER_PAGE, page * VMS_PER_PAGE);
  const critical = withProblems.filter((row) => worst(row) === 0).length;

  const statuses = hosts.map((host) => hostStatus(host.current));
  const up = statuses.filter((s) => s === 'up').length;
  const down = statuses.filter((s) => s === 'down').length;
  const withModel = hosts.filter((host) => host.current?.model != null).length;
  const only = hosts.length === 1 ? hosts[0] : undefined;
  const hostLabel = multiHost ? count(hosts.length, 'host', 'hosts') : (only?.current?.model?.hostName ?? input.source);

  const cards = [
    `<div class="card${withProblems.length === 0 ? ' ok' : critical > 0 ? ' c' : ' w'}"><b>${withProblems.length}</b>${withProblems.length === 1 ? 'VM' : 'VMs'} with problems${critical > 0 ? ` (${critical} critical)` : ''}</div>`,
    `<div class="card"><b>${rows.length}</b>${rows.length === 1 ? 'VM' : 'VMs'}${multiHost ? ` on ${withModel} of ${count(hosts.length, 'host', 'hosts')}` : ''}</div>`,
    `<div class="card${down > 0 ? ' c' : up === hosts.length && hosts.length > 0 ? ' ok' : ''}"><b>${up} up${down > 0 ? `, ${down} down` : ''}</b>${hosts.length === 1 ? 'host sampling' : 'hosts sampling'}</div>`,
  ];

  const noData = (): string => {
    if (hosts.length === 0) return 'No hosts are configured.';
    if (withModel === 0) {
      const ever = hosts.some((host) => host.current?.lastSuccessAt != null);
      return ever ? 'No VM data: the last good sample aged out (--sample.max-age); see the last failure above.' : 'No successful sample yet: see the last failure above.';
    }
    return 'The sampled hosts have no VMs.';
  };

  const problemsSection =
    page !== 1
      ? `<p class="m">${withProblems.length === 1 ? 'The VM' : `The ${withProblems.length} VMs`} with problems ${withProblems.length === 1 ? 'is' : 'are'} on <a href="?page=1">page 1</a>.</p>`
      : withProblems.length > 0
        ? vmTable(withProblems, multiHost, true, 'problems')
        : rows.length > 0
          ? `<p class="note ok">No problems in ${count(rows.length, 'VM', 'VMs')}.</p>`
          : `<p class="note">${noData()}</p>`;
  const othersHeading = `VMs without problems <span class="m">(${others.length}${pages > 1 ? `; page ${page} of ${pages}, ${(page - 1) * VMS_PER_PAGE + 1}\u2013${(page - 1) * VMS_PER_PAGE + shown.length}, by name` : ', by name'})</span>`;
  const othersSection = others.length > 0 ? `${pager(page, pages)}${vmTable(shown, multiHost, false, 'others')}${pager(page, pages)}` : `<p class="m">None.</p>`;

  const links = [
    `<a href="${escapeHtml(input.telemetryPath)}">Metrics</a>`,
    ...(multiHost ? ['<a href="/targets">Targets</a>'] : []),
    '<a href="/-/healthy">Health</a>',
    '<a href="/-/ready">Readiness</a>',
  ];
  const title = `${count(withProblems.length, 'VM', 'VMs')} with problems \u00b7 ${escapeHtml(hostLabel)} \u00b7 hyperv-ic-exporter`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head><body>
<header><h1>Hyper-V integration components</h1><nav>${links.join('')}</nav><span class="v">hyperv-ic-exporter ${escapeHtml(input.version)} \u00b7 source <code>${escapeHtml(input.source)}</code> \u00b7 ${utc(now)}</span></header>
<main>
<div class="cards">${cards.join('')}</div>
<h2>${multiHost ? 'Hosts' : 'Host'}</h2>
<table id="hosts"><thead><tr><th>Host</th><th>Sampling</th><th class="n">VMs</th><th>Last good sample</th><th>Last failure</th></tr></thead><tbody>
${hosts.map((host) => hostRow(host, multiHost, now)).join('\n')}
</tbody></table>
<h2>VMs with problems <span class="m">(${withProblems.length}, worst first)</span></h2>
${problemsSection}
<h2>${othersHeading}</h2>
${othersSection}
<footer>Problems, judged from each host's last good sample: a lost heartbeat (critical); application critical, an enabled component that does not answer (no contact is allowed for ${BOOT_GRACE_SECONDS / 60} minutes after a start), no backup ever or none for more than ${BACKUP_MAX_AGE_SECONDS / 86_400} days (warning); a disabled component other than the guest service interface (disabled by default), a protocol mismatch, application health the guest cannot report (info). Runtime problems are judged for running VMs that are not migrating. The alerts that page for them are in prometheus/alerts.yml.</footer>
</main>
</body></html>
`;
}
