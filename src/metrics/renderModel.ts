import type { HostModel } from '../model/hostModel';
import type { ModelCollector } from './collectors/collector';
import { FamilyText, textOf, type RenderedFamily } from './familyText';

export interface CollectorRun {
  readonly collector: string;
  readonly durationSeconds: number;
  readonly success: boolean;
  readonly error?: unknown;
}

export interface RenderedModel {
  /** Every collector's families, in collector order. */
  readonly families: readonly RenderedFamily[];
  readonly runs: readonly CollectorRun[];
  /** The exposition text of the families (made when asked for; the sampler publishes the families). */
  readonly text: string;
}

/**
 * Renders the model through every collector. A collector that throws loses only its own families
 * (and reports success 0); the others are still rendered.
 */
export function renderModel(model: HostModel, collectors: readonly ModelCollector[]): RenderedModel {
  const families: RenderedFamily[] = [];
  const runs: CollectorRun[] = [];
  for (const collector of collectors) {
    const started = process.hrtime.bigint();
    const writer = new FamilyText();
    let run: { success: boolean; error?: unknown };
    try {
      collector.collect(model, writer);
      families.push(...writer.render(collector.families));
      run = { success: true };
    } catch (error) {
      run = { success: false, error };
    }
    runs.push({ collector: collector.name, durationSeconds: Number(process.hrtime.bigint() - started) / 1e9, ...run });
  }
  return {
    families,
    runs,
    get text() {
      return textOf(families);
    },
  };
}
