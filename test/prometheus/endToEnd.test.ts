/**
 * The whole path with the real programs: the built exporter (replay source) → Prometheus 2.x with
 * the shipped prometheus.yml and alerts.yml → Alertmanager → a webhook receiver in this test.
 * One VM's heartbeat is lost and restored by rewriting the replay document; every dashboard query
 * is run against the same Prometheus.
 *
 * The only changes to the shipped files: scrape/evaluation interval 500ms and every rule's `for` 1s
 * (checked below), so the test takes seconds rather than minutes; the exporter samples every 500ms
 * with --sample.max-age=1500ms, and Prometheus, when the test restarts it, runs with a lookback of
 * 1500ms (see support/stack.ts: every time of the test is a multiple of the scrape interval).
 *
 * The last tests lose webB's heartbeat again and then break the monitoring under it: sampling fails
 * past --sample.max-age, Prometheus restarts, the exporter dies. The page must stay through all of it
 * (Alertmanager is never told it resolved) and the host must page, until the exporter comes back with
 * a sample that shows webB healthy.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { HOST_NAME, OLD_BACKUPS, readHostDocument, VMS, withHeartbeatStatus, HEARTBEAT_CODE, type FixtureVm } from './fixtures/hostFixture';
import { contentPanels, loadDashboard, parseLabelValues, substituteVariables, variable, variableQuery } from './support/dashboard';
import { waitFor } from '../helpers/waitFor';
import {
  EXPORTER_MAIN,
  MonitoringStack,
  testConfigurations,
  TEST_RULE_FOR,
  TEST_SCRAPE_INTERVAL,
  TEST_SCRAPE_INTERVAL_MS,
  TEST_SETTLE_MS,
  type PrometheusAlert,
  type QueryResult,
} from './support/stack';
import { describeWithTools, REPOSITORY_ROOT } from './support/tools';

const ALERT_WAIT_MS = 25_000;
/** Longer than every rule's `for` plus a scrape and an evaluation: what would change has changed. */
const SETTLE_MS = TEST_SETTLE_MS;
/** A restart of Prometheus: its lookback (three scrape intervals) and a downtime longer than that. */
const RESTART_LOOKBACK_MS = 3 * TEST_SCRAPE_INTERVAL_MS;
const RESTART_DOWN_MS = RESTART_LOOKBACK_MS + 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The fixture's running VMs: the ones HyperVHostNotSampled must name (webA is running, and migrating away). */
const RUNNING_VMS: readonly FixtureVm[] = Object.values(VMS).filter((vm) => ![VMS.db01Off, VMS.db02Saved, VMS.app01Paused].includes(vm as never));

function alertKey(labels: Record<string, string>): string {
  return [labels['alertname'], labels['vm'] ?? '', labels['vm_id'] ?? '', labels['component'] ?? ''].join('|');
}

function key(alertname: string, vm?: FixtureVm, component?: string): string {
  return [alertname, vm?.name ?? '', vm?.vmId ?? '', component ?? ''].join('|');
}

/** What fires for the fixture host with every heartbeat as in hyperv-host.json (with `for` shortened). */
const BASELINE_FIRING = [
  key('HyperVVMApplicationCritical', VMS.sql01ApplicationCritical),
  key('HyperVVMHeartbeatNoContact', VMS.appliance01NeverContacted),
  ...['kvp_exchange', 'shutdown', 'time_sync', 'vss'].map((c) => key('HyperVVMIntegrationComponentUnhealthy', VMS.appliance01NeverContacted, c)),
  key('HyperVVMIntegrationComponentUnhealthy', VMS.linux01KvpNoContact, 'kvp_exchange'),
  key('HyperVVMTimeSyncDisabled', VMS.build01TimeSyncDisabled),
].sort();

const LOST_HEARTBEAT = key('HyperVVMHeartbeatLost', VMS.webB);

function baselineDocument(): ReturnType<typeof readHostDocument> {
  return readHostDocument();
}

/**
 * webB loses its heartbeat; so, at the same moment, do the paused app01 and legacy01 whose heartbeat
 * service is disabled: only webB may fire.
 */
function lostHeartbeatDocument(): ReturnType<typeof readHostDocument> {
  let document = readHostDocument();
  for (const vm of [VMS.webB, VMS.app01Paused, VMS.legacy01HeartbeatDisabled]) {
    document = withHeartbeatStatus(document, vm, [HEARTBEAT_CODE.lostCommunication]);
  }
  return document;
}

describe('the test configuration', () => {
  test('differs from the shipped prometheus.yml and alerts.yml only in intervals and `for`', () => {
    const shippedConfig = parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'prometheus/prometheus.yml'), 'utf8')) as { global: Record<string, unknown> };
    const shippedRules = parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<Record<string, unknown>> }> };
    const { prometheus, rules } = testConfigurations();
    expect((prometheus as { global: Record<string, unknown> }).global).toEqual({ ...shippedConfig.global, scrape_interval: TEST_SCRAPE_INTERVAL, evaluation_interval: TEST_SCRAPE_INTERVAL });
    expect({ ...prometheus, global: null }).toEqual({ ...shippedConfig, global: null });
    const withoutFor = (r: { groups: Array<{ rules: Array<Record<string, unknown>> }> }): unknown =>
      r.groups.map((g) => ({ ...g, rules: g.rules.map(({ for: _for, ...rest }) => rest) }));
    expect(withoutFor(rules)).toEqual(withoutFor(shippedRules));
    const alerting = rules.groups.flatMap((g) => g.rules).filter((r) => 'alert' in r);
    expect(alerting.length).toBeGreaterThan(0);
    expect(alerting.every((r) => r['for'] === TEST_RULE_FOR)).toBe(true);
  });
});

describeWithTools(['prometheus', 'prometheus-alertmanager'], 'exporter → Prometheus → Alertmanager, end to end', () => {
  const stack = new MonitoringStack();

  async function firingKeys(): Promise<string[]> {
    return (await stack.firingAlerts()).map((alert) => alertKey(alert.labels)).sort();
  }

  /** Waits until the firing set equals `expected`, then checks it stays so for longer than `for`. */
  async function expectFiringExactly(expected: readonly string[]): Promise<void> {
    let seen: string[] = [];
    await waitFor(
      `exactly ${expected.length} firing alerts`,
      async () => {
        seen = await firingKeys();
        return JSON.stringify(seen) === JSON.stringify(expected) ? true : undefined;
      },
      { timeoutMs: ALERT_WAIT_MS, describe: () => `firing now:\n  ${seen.join('\n  ')}\nexpected:\n  ${expected.join('\n  ')}` },
    );
    // Anything that should not fire would have had time to go pending → firing by now.
    await sleep(SETTLE_MS);
    expect(await firingKeys()).toEqual(expected);
  }

  beforeAll(async () => {
    if (!existsSync(EXPORTER_MAIN)) throw new Error(`${EXPORTER_MAIN} is missing: run \`npm run build\` (npm test runs it first)`);
    await stack.withLogs(() => stack.start(baselineDocument()));
  }, 60_000);

  afterAll(async () => {
    await stack.stop();
  }, 30_000);

  test('Prometheus scrapes the exporter through the shipped file_sd configuration', async () => {
    await stack.withLogs(async () => {
      const up = await waitFor(
        'a successful scrape',
        async () => {
          const result = await stack.query('up{job="hyperv-ic"} == 1 and on (instance) hyperv_up == 1');
          return result.data?.result.length === 1 ? result : undefined;
        },
        { timeoutMs: 15_000 },
      );
      expect(up.data?.result[0]?.metric['instance']).toBe(stack.exporterAddress);
    });
  }, 30_000);

  test('with the fixture host, exactly the expected alerts fire: none for off, saved, paused, heartbeat-disabled or just-started VMs', async () => {
    await stack.withLogs(() => expectFiringExactly(BASELINE_FIRING));
  }, 40_000);

  test('a lost heartbeat fires HyperVVMHeartbeatLost for exactly that vm_id and reaches the webhook', async () => {
    await stack.withLogs(async () => {
      stack.writeDocument(lostHeartbeatDocument());
      await expectFiringExactly([...BASELINE_FIRING, LOST_HEARTBEAT].sort());

      const lost = (await stack.firingAlerts()).find((alert) => alertKey(alert.labels) === LOST_HEARTBEAT) as PrometheusAlert;
      expect(lost.labels).toMatchObject({ severity: 'critical', job: 'hyperv-ic' });
      // The alert is the VM's, not the host's: no instance label (it follows the VM across hosts) …
      expect(lost.labels['instance']).toBeUndefined();
      // … and the description names the VM (both names), the host it is on now (hyperv_host_info and
      // the target), and the status.
      expect(lost.annotations['description']).toContain(`VM web (vm_id ${VMS.webB.vmId}) on Hyper-V host ${HOST_NAME} (${stack.exporterAddress})`);
      expect(lost.annotations['description']).toContain('has been lost_communication');
      // The runbook link: the external label runbook_base_url of the shipped prometheus.yml, and the anchor.
      const base = (parseYaml(readFileSync(path.join(REPOSITORY_ROOT, 'prometheus/prometheus.yml'), 'utf8')) as { global: { external_labels: Record<string, string> } }).global
        .external_labels['runbook_base_url'];
      expect(lost.annotations['runbook_url']).toBe(`${String(base)}#hypervvmheartbeatlost`);

      const delivered = await waitFor(
        'the webhook to receive HyperVVMHeartbeatLost',
        async () =>
          stack.deliveries
            .flatMap((d) => d.alerts)
            .find((alert) => alert.status === 'firing' && alert.labels['alertname'] === 'HyperVVMHeartbeatLost'),
        { timeoutMs: ALERT_WAIT_MS, describe: () => JSON.stringify(stack.deliveries, null, 1).slice(0, 3000) },
      );
      expect(delivered.labels).toMatchObject({ vm_id: VMS.webB.vmId, vm: 'web', severity: 'critical' });
      expect(delivered.labels['instance']).toBeUndefined();
      expect(delivered.annotations['summary']).toBe(`Heartbeat lost: VM web on ${stack.exporterAddress}`);
    });
  }, 60_000);

  test('every dashboard query runs without error and returns the fixture host\'s data', async () => {
    await stack.withLogs(async () => {
      const dashboard = loadDashboard();

      // Template variables: label_values() through the label-values API, as Grafana does.
      const jobQuery = parseLabelValues(variableQuery(variable(dashboard, 'job') ?? {}));
      expect(await stack.labelValues(jobQuery.label, jobQuery.selector)).toEqual(['hyperv-ic']);
      const instanceQuery = parseLabelValues(variableQuery(variable(dashboard, 'instance') ?? {}));
      // The Instance variable: with one exporter per host, each exporter's address.
      expect(await stack.labelValues(instanceQuery.label, substituteVariables(instanceQuery.selector, { instance: '.+' }))).toEqual([stack.exporterAddress]);
      const vmQuery = parseLabelValues(variableQuery(variable(dashboard, 'vm') ?? {}));
      const vmNames = await stack.labelValues(vmQuery.label, substituteVariables(vmQuery.selector, { instance: stack.exporterAddress }));
      expect(vmNames).toEqual([...new Set(Object.values(VMS).map((vm) => vm.name))].sort());

      const results = new Map<string, QueryResult>();
      const problems: string[] = [];
      for (const panel of contentPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
          const expression = substituteVariables(String(target.expr), { instance: stack.exporterAddress });
          const name = `${String(panel.title)} / ${String(target.refId)}`;
          const instant = await stack.query(expression);
          results.set(name, instant);
          if (instant.status !== 'success') problems.push(`${name}: ${instant.error ?? 'error'}`);
          else if ((instant.data?.result.length ?? 0) === 0) problems.push(`${name}: no data`);
          if (target.range === true) {
            const range = await stack.queryRange(expression, 10);
            if (range.status !== 'success') problems.push(`${name} (range): ${range.error ?? 'error'}`);
            else if ((range.data?.result.length ?? 0) === 0) problems.push(`${name} (range): no data`);
          }
        }
      }
      expect(problems).toEqual([]);

      const single = (name: string): number => {
        const series = results.get(`${name} / A`)?.data?.result ?? [];
        expect({ name, series: series.length }).toEqual({ name, series: 1 });
        return Number(series[0]?.value?.[1]);
      };
      // The stats, for the fixture with webB's heartbeat lost (see fixtures/hostFixture.ts).
      expect({
        running: single('VMs running'),
        notRunning: single('VMs not running'),
        heartbeatLost: single('Heartbeat lost'),
        noContact: single('Heartbeat no contact'),
        componentsUnhealthy: single('Components unhealthy'),
        timeSyncDisabled: single('Time sync disabled'),
      }).toEqual({ running: 9, notRunning: 3, heartbeatLost: 1, noContact: 2, componentsUnhealthy: 12, timeSyncDisabled: 1 });

      const valueOf = (name: string, labels: Record<string, string>): number | undefined => {
        const series = (results.get(`${name} / A`)?.data?.result ?? []).find((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v));
        return series?.value ? Number(series.value[1]) : undefined;
      };
      // The VM × component table: -1 disabled, 0 not running, 1 ok … 5 lost_communication (the panel's value mappings).
      const matrix = 'Integration components per VM';
      expect(results.get(`${matrix} / A`)?.data?.result).toHaveLength(Object.keys(VMS).length * 6);
      expect({
        webBHeartbeat: valueOf(matrix, { vm_id: VMS.webB.vmId, component: 'heartbeat' }),
        webAHeartbeat: valueOf(matrix, { vm_id: VMS.webA.vmId, component: 'heartbeat' }),
        legacy01Heartbeat: valueOf(matrix, { vm_id: VMS.legacy01HeartbeatDisabled.vmId, component: 'heartbeat' }),
        db01Heartbeat: valueOf(matrix, { vm_id: VMS.db01Off.vmId, component: 'heartbeat' }),
        db02Vss: valueOf(matrix, { vm_id: VMS.db02Saved.vmId, component: 'vss' }),
        linux01Kvp: valueOf(matrix, { vm_id: VMS.linux01KvpNoContact.vmId, component: 'kvp_exchange' }),
        linux01GuestServices: valueOf(matrix, { vm_id: VMS.linux01KvpNoContact.vmId, component: 'guest_service_interface' }),
        legacy2012Vss: valueOf(matrix, { vm_id: VMS.legacy2012VssProtocolMismatch.vmId, component: 'vss' }),
        build01TimeSync: valueOf(matrix, { vm_id: VMS.build01TimeSyncDisabled.vmId, component: 'time_sync' }),
      }).toEqual({
        webBHeartbeat: 5,
        webAHeartbeat: 1,
        legacy01Heartbeat: -1,
        db01Heartbeat: 0,
        db02Vss: 0,
        linux01Kvp: 4,
        linux01GuestServices: -1,
        legacy2012Vss: 1,
        build01TimeSync: -1,
      });
      // Rows are labelled "<display name> <first 8 of vm_id>": the two VMs named web stay apart.
      expect(valueOf(matrix, { vm_label: `web ${VMS.webB.vmId.slice(0, 8)}`, component: 'heartbeat' })).toBe(5);

      const timeline = 'Heartbeat per VM';
      expect(results.get(`${timeline} / A`)?.data?.result).toHaveLength(Object.keys(VMS).length);
      expect({
        webB: valueOf(timeline, { vm_id: VMS.webB.vmId }),
        webA: valueOf(timeline, { vm_id: VMS.webA.vmId }),
        db01Off: valueOf(timeline, { vm_id: VMS.db01Off.vmId }),
        new01: valueOf(timeline, { vm_id: VMS.new01JustStarted.vmId }),
      }).toEqual({ webB: 5, webA: 1, db01Off: 0, new01: 4 });

      const states = 'VM state';
      expect({
        webA: valueOf(states, { vm_id: VMS.webA.vmId }),
        db01: valueOf(states, { vm_id: VMS.db01Off.vmId }),
        db02: valueOf(states, { vm_id: VMS.db02Saved.vmId }),
        app01: valueOf(states, { vm_id: VMS.app01Paused.vmId }),
      }).toEqual({ webA: 1, db01: 2, db02: 3, app01: 4 });

      const secondary = (results.get('Secondary status (not ok) / A')?.data?.result ?? []).map((s) => `${s.metric['vm']}/${s.metric['component']}/${s.metric['status']}`).sort();
      expect(secondary).toEqual(['legacy2012/vss/protocol_mismatch', 'sql01/heartbeat/critical']);

      const seriesOf = (name: string, ref = 'A') => results.get(`${name} / ${ref}`)?.data?.result ?? [];
      const nowSeconds = Date.now() / 1000;

      // Where each VM is now: one row per VM, on this host, here since the exporter's first sample
      // (the exporter started moments ago); webA is the one live-migrating away.
      const where = seriesOf('Where each VM is now');
      expect(where.map((s) => s.metric['vm_id']).sort()).toEqual(Object.values(VMS).map((vm) => vm.vmId).sort());
      for (const row of where) {
        expect(row.metric).toMatchObject({ instance: stack.exporterAddress, vm_short_id: String(row.metric['vm_id']).slice(0, 8) });
        const sinceSeconds = Number(row.value?.[1]) / 1000;
        expect({ vm: row.metric['vm'], recent: nowSeconds - sinceSeconds >= 0 && nowSeconds - sinceSeconds < 300 }).toEqual({ vm: row.metric['vm'], recent: true });
      }
      const migrating = Object.fromEntries(seriesOf('Where each VM is now', 'B').map((s) => [s.metric['vm_id'], Number(s.value?.[1])]));
      expect(Object.entries(migrating).filter(([, value]) => value === 1).map(([vmId]) => vmId)).toEqual([VMS.webA.vmId]);
      expect(Object.keys(migrating).sort()).toEqual(Object.values(VMS).map((vm) => vm.vmId).sort());

      // Backups older than 7 days (the variable's default) or never, with their age and VSS status.
      const backups = seriesOf('Backups')
        .map((s) => ({ vmId: s.metric['vm_id'], vss: s.metric['vss'], age: Number(s.value?.[1]) }))
        .sort((a, b) => String(a.vmId).localeCompare(String(b.vmId)));
      const expectedBackups = OLD_BACKUPS.map((b) => ({ vmId: b.vm.vmId, vss: b.vss, age: b.ageSeconds })).sort((a, b) => a.vmId.localeCompare(b.vmId));
      expect(backups.map(({ vmId, vss }) => ({ vmId, vss }))).toEqual(expectedBackups.map(({ vmId, vss }) => ({ vmId, vss })));
      for (const [i, row] of backups.entries()) {
        const expected = expectedBackups[i]?.age ?? NaN;
        // Ages grow with the test's run time (the document was written when the stack started).
        if (expected === -1) expect(row.age).toBe(-1);
        else expect({ vmId: row.vmId, age: row.age >= expected && row.age < expected + 300 }).toEqual({ vmId: row.vmId, age: true });
      }

      // Heartbeat timing: the defaults, and sql01's own settings (5 s × 3 + 2 s).
      const timing = (ref: string) => Object.fromEntries(seriesOf('Heartbeat timing', ref).map((s) => [s.metric['vm_id'], Number(s.value?.[1])]));
      expect(Object.keys(timing('A'))).toHaveLength(Object.keys(VMS).length);
      expect(['A', 'B', 'C', 'D'].map((ref) => timing(ref)[VMS.sql01ApplicationCritical.vmId])).toEqual([5, 2, 3, 17]);
      expect(['A', 'B', 'C', 'D'].map((ref) => timing(ref)[VMS.webB.vmId])).toEqual([2, 1, 2, 5]);

      // Addresses: one per VM in the guest table (IPv4 preferred), every one in Guest addresses.
      const guestAddress = Object.fromEntries(seriesOf('Guest operating system').map((s) => [s.metric['vm_id'], s.metric['address']]));
      expect(guestAddress).toEqual({
        [VMS.webA.vmId]: '192.0.2.11',
        [VMS.webB.vmId]: '192.0.2.12',
        [VMS.app01Paused.vmId]: '192.0.2.15',
        [VMS.legacy01HeartbeatDisabled.vmId]: '192.0.2.16',
        [VMS.build01TimeSyncDisabled.vmId]: expect.stringMatching(/^(192\.0\.2\.19|198\.51\.100\.19)$/),
        [VMS.sql01ApplicationCritical.vmId]: '192.0.2.20',
        [VMS.legacy2012VssProtocolMismatch.vmId]: '192.0.2.21',
      });
      const allAddresses = seriesOf('Guest addresses').map((s) => `${String(s.metric['vm'])} ${String(s.metric['family'])} ${String(s.metric['address'])}`).sort();
      expect(allAddresses).toEqual([
        'app01 ipv4 192.0.2.15', 'build01 ipv4 192.0.2.19', 'build01 ipv4 198.51.100.19', 'legacy01 ipv4 192.0.2.16', 'legacy2012 ipv4 192.0.2.21',
        'sql01 ipv4 192.0.2.20', 'web ipv4 192.0.2.11', 'web ipv4 192.0.2.12', 'web ipv6 2001:db8::11',
      ]);

      // The exporter row shows this one host once, and the exporter's version and source.
      expect(seriesOf('Sampling').map((s) => s.metric['instance'])).toEqual([stack.exporterAddress]);
      expect(seriesOf('Exporter and host', 'B').map((s) => s.metric['source'])).toEqual(['replay']);
    });
  }, 60_000);

  test('restoring the heartbeat resolves the alert, and the webhook is told', async () => {
    await stack.withLogs(async () => {
      stack.writeDocument(baselineDocument());
      await expectFiringExactly(BASELINE_FIRING);
      await waitFor(
        'the webhook to receive the resolved HyperVVMHeartbeatLost',
        async () =>
          stack.deliveries
            .flatMap((d) => d.alerts)
            .find((alert) => alert.status === 'resolved' && alert.labels['alertname'] === 'HyperVVMHeartbeatLost' && alert.labels['vm_id'] === VMS.webB.vmId),
        { timeoutMs: ALERT_WAIT_MS, describe: () => JSON.stringify(stack.deliveries, null, 1).slice(0, 3000) },
      );
      // Over the whole run, the page went to webB and to no other VM.
      const paged = new Set(stack.deliveries.flatMap((d) => d.alerts).filter((a) => a.labels['alertname'] === 'HyperVVMHeartbeatLost').map((a) => a.labels['vm_id']));
      expect([...paged]).toEqual([VMS.webB.vmId]);
    });
  }, 60_000);

  test('a sample document the exporter cannot read fires HyperVExporterSamplingFailing with its reason', async () => {
    await stack.withLogs(async () => {
      stack.writeReplayText('{"schemaVersion": 1, "classes": ');
      const failing = await waitFor(
        'HyperVExporterSamplingFailing to fire',
        async () => (await stack.firingAlerts()).find((alert) => alert.labels['alertname'] === 'HyperVExporterSamplingFailing'),
        { timeoutMs: ALERT_WAIT_MS },
      );
      expect(failing.labels['instance']).toBe(stack.exporterAddress);
      expect(failing.annotations['description']).toContain(`Hyper-V host ${HOST_NAME} (${stack.exporterAddress})`);
      expect(failing.annotations['description']).toContain('failure reasons in the last 10 minutes: invalid_document.');
      stack.writeDocument(baselineDocument());
      await waitFor(
        'HyperVExporterSamplingFailing to resolve',
        async () => ((await stack.firingAlerts()).some((alert) => alert.labels['alertname'] === 'HyperVExporterSamplingFailing') ? undefined : true),
        { timeoutMs: ALERT_WAIT_MS },
      );
    });
  }, 60_000);

  describe('a lost heartbeat stays paged while the monitoring under it breaks', () => {
    const pageFor = async (vm: FixtureVm): Promise<PrometheusAlert | undefined> =>
      (await stack.firingAlerts()).find((alert) => alert.labels['alertname'] === 'HyperVVMHeartbeatLost' && alert.labels['vm_id'] === vm.vmId);
    const hostPage = async (): Promise<PrometheusAlert | undefined> => (await stack.firingAlerts()).find((alert) => alert.labels['alertname'] === 'HyperVHostNotSampled');
    const resolvedAtWebhook = (vm: FixtureVm): number =>
      stack.deliveries.flatMap((d) => d.alerts).filter((a) => a.status === 'resolved' && a.labels['alertname'] === 'HyperVVMHeartbeatLost' && a.labels['vm_id'] === vm.vmId).length;
    const criticalNow = async (): Promise<string[]> =>
      (await stack.firingAlerts()).filter((a) => a.labels['severity'] === 'critical').map((a) => `${String(a.labels['alertname'])} ${a.labels['vm_id'] ?? a.labels['instance'] ?? ''}`).sort();
    let resolvedBefore = 0;

    test('(a) sampling fails past --sample.max-age: the page stays, and the host pages once, naming the VMs that ran on it', async () => {
      await stack.withLogs(async () => {
        stack.writeDocument(lostHeartbeatDocument());
        await waitFor('HyperVVMHeartbeatLost for webB', () => pageFor(VMS.webB), { timeoutMs: ALERT_WAIT_MS });
        resolvedBefore = resolvedAtWebhook(VMS.webB);

        stack.writeReplayText('{"schemaVersion": 1, "classes": ');
        await waitFor('the exporter to stop serving VM metrics', async () => ((await stack.query('hyperv_vm_info')).data?.result.length === 0 ? true : undefined), {
          timeoutMs: ALERT_WAIT_MS,
        });
        const host = await waitFor('HyperVHostNotSampled', hostPage, { timeoutMs: ALERT_WAIT_MS });
        expect(host.labels).toMatchObject({ severity: 'critical', job: 'hyperv-ic', instance: stack.exporterAddress, host: HOST_NAME });
        const description = String(host.annotations['description']);
        expect(description).toContain(`Hyper-V host ${HOST_NAME} (${stack.exporterAddress}, job hyperv-ic)`);
        expect(description).toContain("the exporter's samples of the host fail (reasons in the last 10 minutes: invalid_document)");
        expect(description).toContain(`VMs that were running on it when it was last sampled (${RUNNING_VMS.length}): `);
        for (const vm of RUNNING_VMS) expect(description).toContain(`${vm.name} (${vm.vmId})`);
        expect(description).toContain(`Heartbeat already lost, paged as HyperVVMHeartbeatLost until the host is sampled again: web (${VMS.webB.vmId}).`);

        const page = await pageFor(VMS.webB);
        expect(page?.annotations['summary']).toBe(`Heartbeat lost: VM web on ${stack.exporterAddress} (host not sampled since)`);
        expect(page?.annotations['description']).toContain(`VM web (vm_id ${VMS.webB.vmId}) was last seen on Hyper-V host ${HOST_NAME} (${stack.exporterAddress}) with its heartbeat lost`);
        // One page per VM and one per host, and they stay.
        await sleep(SETTLE_MS);
        expect(await criticalNow()).toEqual([`HyperVHostNotSampled ${stack.exporterAddress}`, `HyperVVMHeartbeatLost ${VMS.webB.vmId}`]);
        expect(resolvedAtWebhook(VMS.webB)).toBe(resolvedBefore);
      });
    }, 60_000);

    test('a restart of Prometheus that outlasts its lookback forgets neither the page nor the host', async () => {
      await stack.withLogs(async () => {
        // Down for longer than the lookback: as a restart of more than 5 minutes with the default lookback.
        await stack.restartPrometheus({ downMs: RESTART_DOWN_MS, lookbackDelta: `${RESTART_LOOKBACK_MS}ms` });
        await waitFor('HyperVVMHeartbeatLost for webB after the restart', () => pageFor(VMS.webB), { timeoutMs: ALERT_WAIT_MS });
        await waitFor('HyperVHostNotSampled after the restart', hostPage, { timeoutMs: ALERT_WAIT_MS });
        expect(await criticalNow()).toEqual([`HyperVHostNotSampled ${stack.exporterAddress}`, `HyperVVMHeartbeatLost ${VMS.webB.vmId}`]);
        expect(resolvedAtWebhook(VMS.webB)).toBe(resolvedBefore);
      });
    }, 60_000);

    test('(b) the exporter is gone: the page stays; a fresh sample showing webB healthy resolves it', async () => {
      await stack.withLogs(async () => {
        await stack.stopExporter();
        await waitFor(
          'HyperVHostNotSampled to say the exporter cannot be scraped',
          async () => ((await hostPage())?.annotations['description']?.includes(`it cannot scrape ${stack.exporterAddress}`) === true ? true : undefined),
          { timeoutMs: ALERT_WAIT_MS, describe: () => 'HyperVHostNotSampled does not say so' },
        );
        await sleep(SETTLE_MS);
        expect(await criticalNow()).toEqual([`HyperVHostNotSampled ${stack.exporterAddress}`, `HyperVVMHeartbeatLost ${VMS.webB.vmId}`]);
        expect(resolvedAtWebhook(VMS.webB)).toBe(resolvedBefore);

        // The exporter comes back, and its first sample shows webB's heartbeat OK.
        stack.writeDocument(baselineDocument());
        await stack.startExporter();
        await waitFor('the webhook to be told HyperVVMHeartbeatLost for webB resolved', async () => (resolvedAtWebhook(VMS.webB) > resolvedBefore ? true : undefined), {
          timeoutMs: ALERT_WAIT_MS,
          describe: () => JSON.stringify(stack.deliveries.slice(-5), null, 1).slice(0, 3000),
        });
        await expectFiringExactly(BASELINE_FIRING);
      });
    }, 60_000);
  });
});
