import type { VmModel } from '../model/hostModel';
import { ExpositionWriter, gauge } from './exposition';
import { vmLabels } from './collectors/collector';

export const SEEN_SINCE_FAMILY = gauge(
  'hyperv_vm_seen_since_timestamp_seconds',
  'Unix time since when the VM has been in every good sample of this host, as far as this exporter has sampled it (at most since the exporter started): where each VM is now, and since when.',
);

/** hyperv_vm_seen_since_timestamp_seconds of the VMs of a sample, from the times the sampler kept. */
export function seenSinceText(vms: readonly VmModel[], since: ReadonlyMap<string, number>): string {
  const out = new ExpositionWriter();
  for (const vm of vms) {
    const seconds = since.get(vm.id);
    if (seconds !== undefined) out.sample(SEEN_SINCE_FAMILY, vmLabels(vm), seconds);
  }
  return out.text([SEEN_SINCE_FAMILY]);
}
