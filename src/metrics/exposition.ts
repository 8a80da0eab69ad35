/** Prometheus text exposition format 0.0.4: escaping, number formatting, and a writer for families. */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
}

export function gauge(name: string, help: string): MetricFamily {
  return { name, help, type: 'gauge' };
}

export function counter(name: string, help: string): MetricFamily {
  return { name, help, type: 'counter' };
}

export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** `a="x",b="y"` from label pairs, values escaped. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
    .join(',');
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

/**
 * Collects samples family by family, in any order, and writes each family's samples together under
 * its HELP and TYPE lines (the format wants a family's samples contiguous).
 */
export class ExpositionWriter {
  private readonly samples = new Map<MetricFamily, string[]>();

  /** One sample; `labels` is already formatted as `a="x",b="y"` (or empty). */
  sample(family: MetricFamily, labels: string, value: number): void {
    const line = `${family.name}${labels === '' ? '' : `{${labels}}`} ${formatValue(value)}\n`;
    const lines = this.samples.get(family);
    if (lines === undefined) this.samples.set(family, [line]);
    else lines.push(line);
  }

  /** The families in the given order; families without samples are left out. */
  text(families: readonly MetricFamily[]): string {
    let text = '';
    for (const family of families) {
      const lines = this.samples.get(family);
      if (lines !== undefined) text += familyHeader(family) + lines.join('');
    }
    return text;
  }
}
