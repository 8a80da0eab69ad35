/** Prometheus text exposition format 0.0.4: escaping and number formatting for the model metrics. */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
}

export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export function familyHeader(family: MetricFamily): string {
  const help = family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return `# HELP ${family.name} ${help}\n# TYPE ${family.name} ${family.type}\n`;
}
