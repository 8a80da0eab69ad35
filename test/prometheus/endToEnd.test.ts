/**
 * The whole path with the real programs: the built exporter (replay source) → Prometheus 2.x with
 * the shipped prometheus.yml and alerts.yml → Alertmanager → a webhook receiver in this test.
 * One VM's heartbeat is lost and restored by rewriting the replay document; every dashboard query
 * is run against the same Prometheus.
 *
 * The only changes to the shipped files: scrape/evaluation interval 1s and every rule's `for` 2s
 * (checked below), so the test takes seconds rather than minutes.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { HOST_NAME, readHostDocument, VMS, withHeartbeatStatus, HEARTBEAT_CODE, type FixtureVm } from './fixtures/hostFixture';
import { contentPanels, loadDashboard, parseLabelValues, substituteVariables, variable, variableQuery } from './support/dashboard';
import { waitFor } from './support/processes';
import { EXPORTER_MAIN, MonitoringStack, testConfigurations, TEST_RULE_FOR, TEST_SCRAPE_INTERVAL, type PrometheusAlert, type QueryResult } from './support/stack';
import { describeWithTools, REPOSITORY_ROOT } from './support/tools';

const ALERT_WAIT_MS = 25_000;

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
    expect(rules.groups.flatMap((g) => g.rules).every((r) => r['for'] === TEST_RULE_FOR)).toBe(true);
  });
});

describeWithTools(['prometheus', 'prometheus-alertmanager'], 'exporter → Prometheus → Alertmanager, end to end', () => {
  const stack = new MonitoringStack();

  /** Adds the programs' output to a failure, so a red test says what Prometheus or the exporter said. */
  async function withLogs<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (error instanceof Error) error.message += `\n${stack.logs()}`;
      throw error;
    }
  }

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
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(await firingKeys()).toEqual(expected);
  }

  beforeAll(async () => {
    if (!existsSync(EXPORTER_MAIN)) throw new Error(`${EXPORTER_MAIN} is missing: run \`npm run build\` (npm test runs it first)`);
    await withLogs(() => stack.start(baselineDocument()));
  }, 60_000);

  afterAll(async () => {
    await stack.stop();
  }, 30_000);

  test('Prometheus scrapes the exporter through the shipped file_sd configuration', async () => {
    await withLogs(async () => {
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
    await withLogs(() => expectFiringExactly(BASELINE_FIRING));
  }, 40_000);

  test('a lost heartbeat fires HyperVVMHeartbeatLost for exactly that vm_id and reaches the webhook', async () => {
    await withLogs(async () => {
      stack.writeDocument(lostHeartbeatDocument());
      await expectFiringExactly([...BASELINE_FIRING, LOST_HEARTBEAT].sort());

      const lost = (await stack.firingAlerts()).find((alert) => alertKey(alert.labels) === LOST_HEARTBEAT) as PrometheusAlert;
      expect(lost.labels).toMatchObject({ severity: 'critical', job: 'hyperv-ic', instance: stack.exporterAddress });
      // The description names the VM (both names), the host from hyperv_host_info and the status.
      expect(lost.annotations['description']).toContain(`VM web (vm_id ${VMS.webB.vmId}) on Hyper-V host ${HOST_NAME} (${stack.exporterAddress})`);
      expect(lost.annotations['description']).toContain('has been lost_communication');
      expect(lost.annotations['runbook_url']).toMatch(/docs\/alerts\.md#hypervvmheartbeatlost$/);

      const delivered = await waitFor(
        'the webhook to receive HyperVVMHeartbeatLost',
        async () =>
          stack.deliveries
            .flatMap((d) => d.alerts)
            .find((alert) => alert.status === 'firing' && alert.labels['alertname'] === 'HyperVVMHeartbeatLost'),
        { timeoutMs: ALERT_WAIT_MS, describe: () => JSON.stringify(stack.deliveries, null, 1).slice(0, 3000) },
      );
      expect(delivered.labels).toMatchObject({ vm_id: VMS.webB.vmId, vm: 'web', severity: 'critical' });
      expect(delivered.annotations['summary']).toBe(`Heartbeat lost: VM web on ${stack.exporterAddress}`);
    });
  }, 60_000);

  test('every dashboard query runs without error and returns the fixture host\'s data', async () => {
    await withLogs(async () => {
      const dashboard = loadDashboard();

      // Template variables: label_values() through the label-values API, as Grafana does.
      const instanceQuery = parseLabelValues(variableQuery(variable(dashboard, 'instance') ?? {}));
      expect(await stack.labelValues(instanceQuery.label, instanceQuery.selector)).toEqual([stack.exporterAddress]);
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
    });
  }, 60_000);

  test('restoring the heartbeat resolves the alert, and the webhook is told', async () => {
    await withLogs(async () => {
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
    await withLogs(async () => {
      stack.writeReplayText('{"schemaVersion": 1, "classes": ');
      const failing = await waitFor(
        'HyperVExporterSamplingFailing to fire',
        async () => (await stack.firingAlerts()).find((alert) => alert.labels['alertname'] === 'HyperVExporterSamplingFailing'),
        { timeoutMs: ALERT_WAIT_MS },
      );
      expect(failing.labels['instance']).toBe(stack.exporterAddress);
      expect(failing.annotations['description']).toContain(`Hyper-V host ${HOST_NAME} by the exporter at ${stack.exporterAddress}`);
      expect(failing.annotations['description']).toContain('failure reasons in the last 10 minutes: invalid_document.');
      stack.writeDocument(baselineDocument());
      await waitFor(
        'HyperVExporterSamplingFailing to resolve',
        async () => ((await stack.firingAlerts()).some((alert) => alert.labels['alertname'] === 'HyperVExporterSamplingFailing') ? undefined : true),
        { timeoutMs: ALERT_WAIT_MS },
      );
    });
  }, 60_000);
});
