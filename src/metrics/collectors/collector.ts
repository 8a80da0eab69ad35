import type { HostModel, VmModel } from '../../model/hostModel';
import { escapeLabelValue, type ExpositionWriter, type MetricFamily } from '../exposition';

/**
 * A collector turns one part of the host model into samples of its own metric families. It never
 * calls a source, and keeps nothing from one sample to the next.
 */
export interface ModelCollector {
  readonly name: string;
  readonly families: readonly MetricFamily[];
  collect(model: HostModel, out: ExpositionWriter): void;
}

/** `vm_id="…",vm="…"`: the identity and display-name labels every VM series carries. */
export function vmLabels(vm: VmModel): string {
  return `vm_id="${vm.id}",vm="${escapeLabelValue(vm.name)}"`;
}

export function bool(value: boolean): number {
  return value ? 1 : 0;
}
