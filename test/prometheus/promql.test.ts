import { grafanaVariables, metricNames } from './support/promql';

// The dashboard and rule tests trust this extractor to find every metric a query selects.
describe('metricNames', () => {
  test.each([
    ['hyperv_up', ['hyperv_up']],
    ['max by (job, instance) (hyperv_vm_heartbeat_status{status=~"lost|error", vm=~"$vm"}) == 1', ['hyperv_vm_heartbeat_status']],
    ['time() - hyperv_sample_timestamp_seconds{instance=~"$instance"} > 300', ['hyperv_sample_timestamp_seconds']],
    ['count(a_metric == 0 and on (job, instance, vm_id) (b_metric{state="running"} == 1)) or vector(0)', ['a_metric', 'b_metric']],
    ['sum by (instance, reason) (increase(hyperv_sample_failures_total[$__rate_interval]))', ['hyperv_sample_failures_total']],
    ['label_replace(label_join(x_info, "l", " ", "vm", "vm_id"), "l", "$1", "l", "(.* [0-9a-f]{8}).*")', ['x_info']],
    ['sum without (status) (m{status="ok"} * 1 or m{status="degraded"} * 2e0)', ['m']],
    ['up{job="hyperv-ic"} == 0 unless ignoring (job) group_left (host) other:recorded_rule', ['up', 'other:recorded_rule']],
    ['hyperv_vm_uptime_seconds offset 5m > bool 600', ['hyperv_vm_uptime_seconds']],
    ['time() - m_seconds{instance=~"$instance"} > $backup_days * 86400 and ${other} > [[old]]', ['m_seconds']],
  ])('%s', (expression, expected) => {
    expect([...metricNames(expression)].sort()).toEqual([...expected].sort());
  });
});

describe('grafanaVariables', () => {
  test('finds $name, ${name} and [[name]] but not regex capture references', () => {
    expect([...grafanaVariables('a{x=~"$instance", y=~"${vm}", z="[[old]]"}[$__rate_interval] "$1" "${2}"')].sort()).toEqual(
      ['__rate_interval', 'instance', 'old', 'vm'].sort(),
    );
  });
});
