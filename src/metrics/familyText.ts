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
// tree of pieces that the encoding of the body walks again. The collectors keep these strings from one
// sample to the next, so they are built flat once.

/** `name{labels} ` (or `name ` without labels): a sample line up to its value. */
export function linePrefix(family: MetricFamily, labels: string): string {
  return labels === '' ? [family.name, ' '].join('') : [family.name, '{', labels, '} '].join('');
}

/** One sample line of the text exposition format 0.0.4, newline included. */
export function sampleLine(family: MetricFamily, labels: string, value: number): string {
  return [family.name, labels === '' ? ' ' : `{${labels}} `, formatValue(value), '\n'].join('');
}

/** A family as rendered: its HELP and TYPE lines, then its sample lines, as the pieces they were made of. */
export interface RenderedFamily {
  readonly name: string;
  /**
   * The header, then the lines as the collector handed them over. Pieces that a collector reuses from
   * one sample to the next are the very same strings, so that a family whose pieces are all the same
   * as before is known to be unchanged without reading it.
   */
  readonly pieces: readonly string[];
}

/** The exposition text of rendered families. */
export function textOf(families: readonly RenderedFamily[]): string {
  return families.map((family) => family.pieces.join('')).join('');
}

/** One header string per family, made once: part of what makes an unchanged family the same pieces. */
const HEADERS = new WeakMap<MetricFamily, string>();

function headerOf(family: MetricFamily): string {
  let header = HEADERS.get(family);
  if (header === undefined) HEADERS.set(family, (header = familyHeader(family)));
  return header;
}

/**
 * Collects the sample lines of each family and renders them under their HELP and TYPE. Lines are
 * only collected, never copied or concatenated here.
 */
export class FamilyText implements FamilyOutput {
  private readonly pieces = new Map<MetricFamily, string[]>();

  sample(family: MetricFamily, labels: string, value: number): void {
    this.lines(family, sampleLine(family, labels, value));
  }

  lines(family: MetricFamily, text: string): void {
    if (text === '') return;
    const pieces = this.pieces.get(family);
    if (pieces === undefined) this.pieces.set(family, [headerOf(family), text]);
    else pieces.push(text);
  }

  /** The families in the given order; families without samples are left out. */
  render(families: readonly MetricFamily[]): RenderedFamily[] {
    const rendered: RenderedFamily[] = [];
    for (const family of families) {
      const pieces = this.pieces.get(family);
      if (pieces !== undefined) rendered.push({ name: family.name, pieces });
    }
    return rendered;
  }
}
