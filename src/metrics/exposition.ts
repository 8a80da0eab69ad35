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

/** Collects the sample lines of each family; `labels` is already formatted as `a="x",b="y"`. */
export class FamilyWriter {
  private readonly lines = new Map<MetricFamily, string[]>();

  sample(family: MetricFamily, labels: string, value: number): void {
    let lines = this.lines.get(family);
    if (lines === undefined) this.lines.set(family, (lines = []));
    lines.push(labels === '' ? `${family.name} ${formatValue(value)}\n` : `${family.name}{${labels}} ${formatValue(value)}\n`);
  }

  /** The families in the given order, each under its HELP and TYPE; families without samples are left out. */
  render(families: readonly MetricFamily[]): string {
    let text = '';
    for (const family of families) {
      const lines = this.lines.get(family);
      if (lines !== undefined && lines.length > 0) text += familyHeader(family) + lines.join('');
    }
    return text;
  }
}
