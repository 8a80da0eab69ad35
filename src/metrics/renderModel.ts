import type { HostModel } from '../model/hostModel';
import type { ModelCollector } from './collectors/collector';
import { ExpositionWriter } from './exposition';

export interface CollectorRun {
  readonly collector: string;
  readonly durationSeconds: number;
  readonly success: boolean;
  readonly error?: unknown;
}

export interface RenderedModel {
  /** Every collector's families, in collector order. */
  readonly text: string;
  readonly runs: readonly CollectorRun[];
}

/**
 * Renders the model through every collector. A collector that throws loses only its own families
 * (and reports success 0); the others are still rendered.
 */
export function renderModel(model: HostModel, collectors: readonly ModelCollector[]): RenderedModel {
  let text = '';
  const runs: CollectorRun[] = [];
  for (const collector of collectors) {
    const started = process.hrtime.bigint();
    const writer = new ExpositionWriter();
    let run: { success: boolean; error?: unknown };
    try {
      collector.collect(model, writer);
      text += writer.text(collector.families);
      run = { success: true };
    } catch (error) {
      run = { success: false, error };
    }
    runs.push({ collector: collector.name, durationSeconds: Number(process.hrtime.bigint() - started) / 1e9, ...run });
  }
  return { text, runs };
}
