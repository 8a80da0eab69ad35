import { familyHeader, formatValue, type MetricFamily } from './exposition';

/**
 * Where a collector writes its samples: one sample at a time, or lines it rendered before (see
 * VmFragmentCache). Either way the exposition is the same text.
 */
export interface FamilyOutput {
  /** One sample; `labels` is already formatted as `a="x",b="y"` (or empty). */
  sample(family: MetricFamily, labels: string, value: number): void;
  /** Sample lines of `family` rendered with sampleLine/linePrefix, appended as they are; '' adds nothing. */
  lines(family: MetricFamily, text: string): void;
}

// Array joins rather than template literals: a join makes one flat string, while concatenation makes a
// tree of pieces that every later concatenation and the final encoding of the body walk again. The
// collectors keep these strings from one sample to the next, so they are built flat once.

/** `name{labels} ` (or `name ` without labels): a sample line up to its value. */
export function linePrefix(family: MetricFamily, labels: string): string {
  return labels === '' ? [family.name, ' '].join('') : [family.name, '{', labels, '} '].join('');
}

/** One sample line of the text exposition format 0.0.4, newline included. */
export function sampleLine(family: MetricFamily, labels: string, value: number): string {
  return [family.name, labels === '' ? ' ' : `{${labels}} `, formatValue(value), '\n'].join('');
}

/**
 * Collects the sample lines of each family and renders them under their HELP and TYPE. Text is only
 * appended (V8 keeps it as a rope until the body is encoded), so reused lines are never copied here.
 */
export class FamilyText implements FamilyOutput {
  private readonly texts = new Map<MetricFamily, string>();

  sample(family: MetricFamily, labels: string, value: number): void {
    this.lines(family, sampleLine(family, labels, value));
  }

  lines(family: MetricFamily, text: string): void {
    if (text === '') return;
    const before = this.texts.get(family);
    this.texts.set(family, before === undefined ? text : before + text);
  }

  /** The families in the given order, each under its HELP and TYPE; families without samples are left out. */
  render(families: readonly MetricFamily[]): string {
    let text = '';
    for (const family of families) {
      const lines = this.texts.get(family);
      if (lines !== undefined) text += familyHeader(family) + lines;
    }
    return text;
  }
}
