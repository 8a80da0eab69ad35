import type { HostModel } from '../model/hostModel';
import type { ModelCollector } from './collectors/collector';
import { ExpositionWriter } from './exposition';

export interface CollectorRun {
  readonly collector: string;
  readonly durationSeconds: number;
  readonly success: boolean;
  readonly error?: unknown;
}

/** Renders the model through one collector. A collector that throws loses only its own families (and reports success 0). */
export function renderCollector(model: HostModel, collector: ModelCollector): { readonly text: string; readonly run: CollectorRun } {
  const started = process.hrtime.bigint();
  const writer = new ExpositionWriter();
  let text = '';
  let outcome: { success: boolean; error?: unknown };
  try {
    collector.collect(model, writer);
    text = writer.text(collector.families);
    outcome = { success: true };
  } catch (error) {
    outcome = { success: false, error };
  }
  return { text, run: { collector: collector.name, durationSeconds: Number(process.hrtime.bigint() - started) / 1e9, ...outcome } };
}
