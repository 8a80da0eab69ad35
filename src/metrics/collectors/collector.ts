import type { HostModel, VmModel } from '../../model/hostModel';
import { escapeLabelValue, type MetricFamily } from '../exposition';
import type { FamilyOutput } from '../familyText';

/**
 * A collector turns one part of the host model into samples of its own metric families. It never
 * calls a source: the model it gets is the last good sample.
 */
export interface ModelCollector {
  readonly name: string;
  readonly families: readonly MetricFamily[];
  collect(model: HostModel, out: FamilyOutput): void;
}

const vmLabelCache = new WeakMap<VmModel, string>();

/** `vm_id="…",vm="…"`: the identity and display-name labels every VM series carries. */
export function vmLabels(vm: VmModel): string {
  let labels = vmLabelCache.get(vm);
  if (labels === undefined) {
    labels = `vm_id="${vm.id}",vm="${escapeLabelValue(vm.name)}"`;
    vmLabelCache.set(vm, labels);
  }
  return labels;
}

export function gauge(name: string, help: string): MetricFamily {
  return { name, help, type: 'gauge' };
}

export function bool(value: boolean): number {
  return value ? 1 : 0;
}
