/**
 * Many hosts behind one exporter, with the real programs: the built exporter with --config.file (two
 * replay hosts, hv01 and hv02, served on /probe?target=<name> and listed on /targets) → Prometheus
 * with the shipped prometheus-probe.yml → Alertmanager → a webhook receiver in this test.
 *
 * A VM (the fixture's webB) live-migrates from hv01 to hv02 by rewriting the two replay files: first
 * migrating on hv01 while hv02 shows it starting with its heartbeat at no_contact, then on hv02 only
 * and healthy. Nothing may page. Then its heartbeat is lost on hv02: exactly one HyperVVMHeartbeatLost
 * for its vm_id must reach the webhook, naming hv02.
 *
 * Then the monitoring under that page breaks: hv02 cannot be sampled (its document does not parse), then
 * the exporter dies. The page stays, each host that is not sampled pages once (not the exporter's own
 * target), and a fresh sample of hv02 showing the VM healthy resolves it all.
 *
 * The only changes to the shipped files: scrape/evaluation interval 500ms, every rule's `for` 1s, and
 * the exporter's address (the test's port) in place of the shipped one (checked below); every host is
 * sampled every 500ms with a max-age of 1500ms (see support/stack.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  ENABLED_STATE,
  HEARTBEAT_CODE,
  hostWithVms,
  readHostDocument,
  VMS,
  withHeartbeatStatus,
  withMigrating,
  withSystem,
  type SampleDocument,
} from './fixtures/hostFixture';
import { contentPanels, loadDashboard, parseLabelValues, substituteVariables, variable, variableQuery } from './support/dashboard';
import { waitFor } from '../helpers/waitFor';
import {
  EXPORTER_MAIN,
  MonitoringStack,
  PROBE_CONFIG,
  probeTestConfiguration,
  shippedProbeExporterAddress,
  TEST_SCRAPE_INTERVAL,
  TEST_SETTLE_MS,
  type PrometheusAlert,
  type QueryResult,
  type WebhookAlert,
} from './support/stack';
import { describeWithTools } from './support/tools';

const WAIT_MS = 20_000;
/** Longer than every rule's `for` plus an evaluation and a scrape: what would fire has fired. */
const SETTLE_MS = TEST_SETTLE_MS;

const MOVER = VMS.webB;
const PROBE_JOB = 'hyperv-ic-probe';
/** The external label prometheus-probe.yml gives every alert: where the runbooks are. */
const RUNBOOK_BASE = (parseYaml(readFileSync(PROBE_CONFIG, 'utf8')) as { global: { external_labels: Record<string, string> } }).global.external_labels['runbook_base_url'];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the probe test configuration', () => {
  test('differs from the shipped prometheus-probe.yml only in the intervals and the exporter address', () => {
    const shipped = parseYaml(readFileSync(PROBE_CONFIG, 'utf8')) as Record<string, unknown> & { global: Record<string, unknown> };
    const address = '127.0.0.1:54321';
    const config = probeTestConfiguration(address);
    expect(config.global).toEqual({ ...shipped.global, scrape_interval: TEST_SCRAPE_INTERVAL, evaluation_interval: TEST_SCRAPE_INTERVAL });
    // The exporter's address is in two places (its own target and the /targets URL) and nowhere else.
    const text = JSON.stringify({ ...config, global: null });
    expect(text.split(address).length - 1).toBe(2);
    expect(JSON.parse(text.split(address).join(shippedProbeExporterAddress()))).toEqual({ ...shipped, global: null });
  });
});

describeWithTools(['prometheus', 'prometheus-alertmanager'], 'many hosts: exporter /probe → Prometheus (prometheus-probe.yml) → Alertmanager', () => {
  const stack = new MonitoringStack();
  // The fixture as if sampled now (backup ages as recorded), split over two hosts. webA stays on hv01
  // (not migrating here), legacy2012 lives on hv02; webB moves.
  let base: SampleDocument;
  const hv01 = (vms = [VMS.webA, MOVER]): SampleDocument => withMigrating(hostWithVms(base, 'HV01', vms), VMS.webA, false);
  const hv02 = (vms = [VMS.legacy2012VssProtocolMismatch]): SampleDocument => hostWithVms(base, 'HV02', vms);

  /** The instant query's series, or a failure with Prometheus' error. */
  async function series(expression: string): Promise<NonNullable<QueryResult['data']>['result']> {
    const result = await stack.query(expression);
    if (result.status !== 'success') throw new Error(`${expression}: ${result.error ?? 'error'}`);
    return result.data?.result ?? [];
  }

  /** Waits until `expression` returns exactly these values of `label` (sorted). */
  async function waitForLabels(expression: string, label: string, expected: readonly string[]): Promise<void> {
    let seen: string[] = [];
    await waitFor(
      `${expression} to return ${label} ${expected.join(', ')}`,
      async () => {
        seen = (await series(expression)).map((s) => String(s.metric[label])).sort();
        return JSON.stringify(seen) === JSON.stringify([...expected].sort()) ? true : undefined;
      },
      { timeoutMs: WAIT_MS, describe: () => `last seen: ${seen.join(', ')}` },
    );
  }

  const firingDeliveries = (): WebhookAlert[] => stack.deliveries.flatMap((d) => d.alerts).filter((a) => a.status === 'firing');

  /** The dashboard's "Where each VM is now" row of the mover, with Host = All. */
  async function whereIsTheMover(): Promise<{ host: string | undefined; sinceMs: number; migrating: number }> {
    const panel = contentPanels(loadDashboard()).find((p) => p.title === 'Where each VM is now');
    const [where, migrating] = (panel?.targets ?? []).map((t) => substituteVariables(String(t.expr), { instance: '.*' }));
    const row = (await series(String(where))).find((s) => s.metric['vm_id'] === MOVER.vmId);
    const mark = (await series(String(migrating))).find((s) => s.metric['vm_id'] === MOVER.vmId);
    return { host: row?.metric['instance'], sinceMs: Number(row?.value?.[1]), migrating: Number(mark?.value?.[1]) };
  }

  beforeAll(async () => {
    if (!existsSync(EXPORTER_MAIN)) throw new Error(`${EXPORTER_MAIN} is missing: run \`npm run build\` (npm test runs it first)`);
    base = readHostDocument();
    await stack.withLogs(() => stack.startMultiHost({ hv01: hv01(), hv02: hv02() }));
  }, 60_000);

  afterAll(async () => {
    await stack.stop();
  }, 30_000);

  test('Prometheus finds both hosts on /targets and scrapes each through /probe, and the exporter itself through /metrics', async () => {
    await stack.withLogs(async () => {
      // `up` for both /probe targets (instance = the host's name) and for the exporter's own job.
      await waitForLabels(`up{job="${PROBE_JOB}"} == 1`, 'instance', ['hv01', 'hv02']);
      await waitForLabels('up{job="hyperv-ic"} == 1', 'instance', [stack.exporterAddress]);
      // hyperv_up once per host from /probe, and again on the exporter's /metrics with a host label.
      await waitForLabels('hyperv_up{host=""} == 1', 'instance', ['hv01', 'hv02']);
      expect((await series('hyperv_up{host=""}')).map((s) => s.metric['job'])).toEqual([PROBE_JOB, PROBE_JOB]);
      await waitForLabels(`hyperv_up{job="hyperv-ic", instance="${stack.exporterAddress}"} == 1`, 'host', ['hv01', 'hv02']);
      // Each host's own computer name and VMs under its target name.
      expect((await series('hyperv_host_info')).map((s) => `${String(s.metric['instance'])}=${String(s.metric['host'])}`).sort()).toEqual(['hv01=HV01', 'hv02=HV02']);
      await waitForLabels(`hyperv_vm_info{vm_id="${MOVER.vmId}"}`, 'instance', ['hv01']);
    });
  }, 40_000);

  test('the dashboard works per host: the Job and Instance variables list the jobs and target names, and every panel has data for hv02 alone', async () => {
    await stack.withLogs(async () => {
      // The rate panels (rate over $__rate_interval) need a few samples of each host first.
      await waitForLabels('count_over_time(hyperv_up{host=""}[1m]) >= 3', 'instance', ['hv01', 'hv02']);
      const dashboard = loadDashboard();
      const jobQuery = parseLabelValues(variableQuery(variable(dashboard, 'job') ?? {}));
      expect(await stack.labelValues(jobQuery.label, jobQuery.selector)).toEqual(['hyperv-ic', 'hyperv-ic-probe']);
      const hostQuery = parseLabelValues(variableQuery(variable(dashboard, 'instance') ?? {}));
      expect(await stack.labelValues(hostQuery.label, substituteVariables(hostQuery.selector, { instance: '.+' }))).toEqual(['hv01', 'hv02']);
      // The exporter's own build is on its /metrics (instance = the exporter's address), so with one
      // /probe host selected it is not shown; every selector is filtered by $instance (dashboard-linter).
      const exporterOnly = 'Exporter and host / B';
      const problems: string[] = [];
      for (const panel of contentPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
          const result = await stack.query(substituteVariables(String(target.expr), { instance: 'hv02' }));
          const name = `${String(panel.title)} / ${String(target.refId)}`;
          if (result.status !== 'success') problems.push(`${name}: ${result.error ?? 'error'}`);
          else if ((result.data?.result.length ?? 0) === 0 && name !== exporterOnly) problems.push(`${name}: no data`);
          else if ((result.data?.result.length ?? 0) > 0 && name === exporterOnly) problems.push(`${name}: data for hv02 alone`);
        }
      }
      expect(problems).toEqual([]);
      const build = contentPanels(dashboard).find((p) => p.title === 'Exporter and host')?.targets?.[1]?.expr;
      expect((await series(substituteVariables(String(build), { instance: '.+' }))).map((s) => `${String(s.metric['instance'])} ${String(s.metric['source'])}`)).toEqual([
        `${stack.exporterAddress} config`,
      ]);
      // The exporter's panels show each host once, not again from the exporter's host-labelled copy.
      const sampling = contentPanels(dashboard).find((p) => p.title === 'Sampling')?.targets?.[0]?.expr;
      expect((await series(substituteVariables(String(sampling), { instance: '.*' }))).map((s) => s.metric['instance']).sort()).toEqual(['hv01', 'hv02']);
      expect((await series(substituteVariables(String(sampling), { instance: 'hv02' }))).map((s) => s.metric['instance'])).toEqual(['hv02']);
    });
  }, 30_000);

  test('a live migration from hv01 to hv02 pages nobody, and the dashboard follows the VM', async () => {
    await stack.withLogs(async () => {
      // During: migrating on hv01 (heartbeat still ok); on hv02, starting, heartbeat not yet contacted.
      const migrationStartMs = Date.now();
      stack.writeHostDocument('hv01', withMigrating(hv01(), MOVER, true));
      stack.writeHostDocument(
        'hv02',
        withHeartbeatStatus(withSystem(hv02([VMS.legacy2012VssProtocolMismatch, MOVER]), MOVER, { EnabledState: ENABLED_STATE.starting }), MOVER, [HEARTBEAT_CODE.noContact]),
      );
      await waitForLabels(`hyperv_vm_migrating{vm_id="${MOVER.vmId}"} == 1`, 'instance', ['hv01']);
      await waitForLabels(`hyperv_vm_state{vm_id="${MOVER.vmId}", state="starting"} == 1`, 'instance', ['hv02']);
      await waitForLabels(`hyperv_vm_heartbeat_status{vm_id="${MOVER.vmId}", status="no_contact"} == 1`, 'instance', ['hv02']);
      // Listed by both hosts: the dashboard shows it where it is going (not migrating), marked migrating.
      expect(await whereIsTheMover()).toMatchObject({ host: 'hv02', migrating: 1 });
      await sleep(SETTLE_MS);
      expect(await stack.firingAlerts()).toEqual([]);

      // After: gone from hv01, running and answering on hv02.
      stack.writeHostDocument('hv01', hv01([VMS.webA]));
      stack.writeHostDocument('hv02', hv02([VMS.legacy2012VssProtocolMismatch, MOVER]));
      await waitForLabels(`hyperv_vm_info{vm_id="${MOVER.vmId}"}`, 'instance', ['hv02']);
      await waitForLabels(`hyperv_vm_heartbeat_status{vm_id="${MOVER.vmId}", status="ok"} == 1 and on (instance, vm_id) hyperv_vm_state{state="running"} == 1`, 'instance', ['hv02']);
      const where = await whereIsTheMover();
      expect(where).toMatchObject({ host: 'hv02', migrating: 0 });
      // "Here since": when it arrived on hv02, i.e. after the migration began (clocks shared).
      expect(where.sinceMs).toBeGreaterThanOrEqual(migrationStartMs - 2000);
      expect(where.sinceMs).toBeLessThanOrEqual(Date.now());

      await sleep(SETTLE_MS);
      expect(await stack.firingAlerts()).toEqual([]);
      expect(firingDeliveries()).toEqual([]);
    });
  }, 60_000);

  test('a heartbeat lost on hv02 after the migration pages exactly once, for the VM, naming hv02', async () => {
    await stack.withLogs(async () => {
      stack.writeHostDocument('hv02', withHeartbeatStatus(hv02([VMS.legacy2012VssProtocolMismatch, MOVER]), MOVER, [HEARTBEAT_CODE.lostCommunication]));
      const delivered = await waitFor(
        'the webhook to receive HyperVVMHeartbeatLost for the VM',
        async () => firingDeliveries().find((a) => a.labels['alertname'] === 'HyperVVMHeartbeatLost' && a.labels['vm_id'] === MOVER.vmId),
        { timeoutMs: WAIT_MS, describe: () => JSON.stringify(stack.deliveries, null, 1).slice(0, 3000) },
      );
      // Give a second copy (another host, another label set) time to show up; there must be none.
      await sleep(SETTLE_MS);

      const pages = new Set(firingDeliveries().map((a) => JSON.stringify(Object.entries(a.labels).sort())));
      expect([...pages]).toEqual([JSON.stringify(Object.entries(delivered.labels).sort())]);
      expect(delivered.labels).toEqual({ alertname: 'HyperVVMHeartbeatLost', severity: 'critical', job: PROBE_JOB, vm_id: MOVER.vmId, vm: MOVER.name, runbook_base_url: RUNBOOK_BASE });
      expect(delivered.annotations['runbook_url']).toBe(`${String(RUNBOOK_BASE)}#hypervvmheartbeatlost`);
      expect(delivered.annotations['summary']).toBe(`Heartbeat lost: VM ${MOVER.name} on hv02`);
      expect(delivered.annotations['description']).toContain(`VM ${MOVER.name} (vm_id ${MOVER.vmId}) on Hyper-V host HV02 (hv02) is running`);
      expect(delivered.annotations['description']).toContain('has been lost_communication');

      const firing = await stack.firingAlerts();
      // Prometheus' own view has no external labels; Alertmanager's has.
      const { runbook_base_url: _base, ...withoutExternal } = delivered.labels;
      expect(firing.map((a) => a.labels)).toEqual([withoutExternal]);
    });
  }, 60_000);

  describe('the page stays while the monitoring under it breaks', () => {
    const critical = async (): Promise<string[]> =>
      (await stack.firingAlerts()).filter((a) => a.labels['severity'] === 'critical').map((a) => `${String(a.labels['alertname'])} ${a.labels['vm_id'] ?? a.labels['instance'] ?? ''}`).sort();
    const hostPage = async (host: string): Promise<PrometheusAlert | undefined> =>
      (await stack.firingAlerts()).find((a) => a.labels['alertname'] === 'HyperVHostNotSampled' && a.labels['instance'] === host);
    const resolvedPages = (): WebhookAlert[] => stack.deliveries.flatMap((d) => d.alerts).filter((a) => a.status === 'resolved' && a.labels['alertname'] === 'HyperVVMHeartbeatLost');

    test('(c) hv02 cannot be sampled: the VM stays paged, and hv02 pages once, naming the VMs that ran on it', async () => {
      await stack.withLogs(async () => {
        stack.writeHostReplayText('hv02', '{"schemaVersion": 1, "classes": ');
        const host = await waitFor('HyperVHostNotSampled for hv02', () => hostPage('hv02'), { timeoutMs: WAIT_MS });
        expect(host.labels).toEqual({ alertname: 'HyperVHostNotSampled', severity: 'critical', job: PROBE_JOB, instance: 'hv02', host: 'HV02' });
        const description = String(host.annotations['description']);
        expect(description).toContain('Hyper-V host HV02 (hv02, job hyperv-ic-probe)');
        expect(description).toContain("the exporter's samples of the host fail (reasons in the last 10 minutes: invalid_document)");
        expect(description).toContain(
          `VMs that were running on it when it was last sampled (2): ${VMS.legacy2012VssProtocolMismatch.name} (${VMS.legacy2012VssProtocolMismatch.vmId}), ${MOVER.name} (${MOVER.vmId}).`,
        );
        expect(description).toContain(`Heartbeat already lost, paged as HyperVVMHeartbeatLost until the host is sampled again: ${MOVER.name} (${MOVER.vmId}).`);
        await sleep(SETTLE_MS);
        expect(await critical()).toEqual(['HyperVHostNotSampled hv02', `HyperVVMHeartbeatLost ${MOVER.vmId}`]);
        const page = (await stack.firingAlerts()).find((a) => a.labels['alertname'] === 'HyperVVMHeartbeatLost');
        expect(page?.annotations['summary']).toBe(`Heartbeat lost: VM ${MOVER.name} on hv02 (host not sampled since)`);
        expect(resolvedPages()).toEqual([]);
      });
    }, 60_000);

    test('(b) the exporter is gone: each of its hosts pages once, the exporter itself does not; hv02 sampled again with the VM healthy resolves it all', async () => {
      await stack.withLogs(async () => {
        await stack.stopExporter();
        // Prometheus keeps the /probe targets it last read from /targets: both fail now.
        await waitFor('HyperVHostNotSampled for hv01', () => hostPage('hv01'), { timeoutMs: WAIT_MS });
        await waitFor('hv02 to be reported as not scrapable', async () => ((await hostPage('hv02'))?.annotations['description']?.includes('it cannot scrape hv02') === true ? true : undefined), {
          timeoutMs: WAIT_MS,
        });
        await sleep(SETTLE_MS);
        expect(await critical()).toEqual(['HyperVHostNotSampled hv01', 'HyperVHostNotSampled hv02', `HyperVVMHeartbeatLost ${MOVER.vmId}`]);
        expect(String((await hostPage('hv01'))?.annotations['description'])).toContain(`VMs that were running on it when it was last sampled (1): ${VMS.webA.name} (${VMS.webA.vmId}).`);
        expect(resolvedPages()).toEqual([]);

        // The exporter comes back; hv02's first sample shows the VM answering again.
        stack.writeHostDocument('hv02', hv02([VMS.legacy2012VssProtocolMismatch, MOVER]));
        await stack.startExporter();
        await waitFor('the webhook to be told the page resolved', async () => (resolvedPages().some((a) => a.labels['vm_id'] === MOVER.vmId) ? true : undefined), {
          timeoutMs: WAIT_MS,
          describe: () => JSON.stringify(stack.deliveries.slice(-5), null, 1).slice(0, 3000),
        });
        await waitFor('every alert to resolve', async () => ((await stack.firingAlerts()).length === 0 ? true : undefined), {
          timeoutMs: WAIT_MS,
          describe: () => 'still firing',
        });
        // Over the whole run: one page for the VM (one label set), one per host.
        const pages = new Set(firingDeliveries().filter((a) => a.labels['severity'] === 'critical').map((a) => JSON.stringify(Object.entries(a.labels).sort())));
        expect([...pages].map((p) => (JSON.parse(p) as Array<[string, string]>).filter(([k]) => ['alertname', 'vm_id', 'instance'].includes(k)).map(([, v]) => v).join(' ')).sort()).toEqual(
          ['HyperVHostNotSampled hv01', 'HyperVHostNotSampled hv02', `HyperVVMHeartbeatLost ${MOVER.vmId}`],
        );
      });
    }, 90_000);
  });
});
