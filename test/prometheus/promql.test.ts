import { grafanaVariables, metricNames } from './support/promql';
import { parsePromQL, vectorSelectors, walk, type Expr } from './support/promqlParser';

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
    ['a_total # a comment with words and "quotes"\n  or b{x="#not a comment"}', ['a_total', 'b']],
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

// The dashboard-lint tests trust this parser to find every selector and the function around every range.
describe('parsePromQL', () => {
  /** The tree as a compact string: what the parser understood. */
  function shape(node: Expr): string {
    switch (node.kind) {
      case 'VectorSelector':
        return `${node.name}{${node.matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(',')}}`;
      case 'MatrixSelector':
        return `${shape(node.selector)}[${node.range}]`;
      case 'SubqueryExpr':
        return `(${shape(node.expr)})[${node.range}:${node.step}]`;
      case 'Call':
        return `${node.func}(${node.args.map(shape).join(', ')})`;
      case 'AggregateExpr':
        return `${node.op}${node.without ? ' without' : ' by'} (${node.grouping.join(',')}) (${node.param ? `${shape(node.param)}, ` : ''}${shape(node.expr)})`;
      case 'BinaryExpr':
        return `(${shape(node.lhs)} ${node.op}${node.bool ? ' bool' : ''}${node.matching ? ` ${node.matching.on ? 'on' : 'ignoring'}(${node.matching.labels.join(',')})${node.matching.group ? ` group_${node.matching.group}(${node.matching.include.join(',')})` : ''}` : ''} ${shape(node.rhs)})`;
      case 'UnaryExpr':
        return `${node.op}${shape(node.expr)}`;
      case 'ParenExpr':
        return shape(node.expr);
      case 'NumberLiteral':
        return node.text;
      case 'StringLiteral':
        return JSON.stringify(node.value);
    }
  }

  test.each([
    ['a or b and c unless d', '(a{} or ((b{} and c{}) unless d{}))'],
    ['a + b * c ^ d ^ e', '(a{} + (b{} * (c{} ^ (d{} ^ e{}))))'],
    ['a == bool 1', '(a{} == bool 1)'],
    ['sum by (x) (rate(m_total{a="1"}[$__rate_interval])) * 60', '(sum by (x) (rate(m_total{a="1"}[$__rate_interval])) * 60)'],
    ['count(a > 0) by (job)', 'count by (job) ((a{} > 0))'],
    ['topk by (vm_id) (1, x unless on (job, instance) y)', 'topk by (vm_id) (1, (x{} unless on(job,instance) y{}))'],
    ['a * on (job) group_left (host) b', '(a{} * on(job) group_left(host) b{})'],
    ['time() - x{host="", job=~"$job"} > $backup_days * 86400', '((time() - x{host="",job=~"$job"}) > ($backup_days * 86400))'],
    ['label_replace(x, "l", "$1", "vm_id", "([0-9a-f]{8}).*")', 'label_replace(x{}, "l", "$1", "vm_id", "([0-9a-f]{8}).*")'],
    ['max_over_time(x[5m:1m] offset 1h)', 'max_over_time((x{})[5m:1m])'],
    ['-x # a comment', '-x{}'],
    [`{__name__=~'a|b', c!="d"}`, '{__name__=~"a|b",c!="d"}'],
  ])('%s', (expression, expected) => {
    expect(shape(parsePromQL(expression))).toBe(expected);
  });

  test('finds the selectors on both sides of a join, with their matchers and where their braces are', () => {
    const expression = 'a{x="1"} and on (job) (b == 1) unless c';
    const selectors = vectorSelectors(parsePromQL(expression));
    expect(selectors.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(selectors.map((s) => (s.braces === null ? null : expression.slice(s.braces[0], s.braces[1] + 1)))).toEqual(['{x="1"}', null, null]);
  });

  test('walks every node with its parents, closest last', () => {
    const seen: string[] = [];
    walk(parsePromQL('sum(rate(m_total[5m]))'), (node, parents) => {
      if (node.kind === 'MatrixSelector') seen.push(parents.map((p) => p.kind).join('>'));
    });
    expect(seen).toEqual(['AggregateExpr>Call']);
  });
});
