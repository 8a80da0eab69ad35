import { isAnswering } from '../../model/valueMaps';
import { sampleLine } from '../familyText';
import { VmFragmentCache } from '../vmFragmentCache';
import { bool, gauge, vmLabels, type ModelCollector } from './collector';

const enabled = gauge(
  'hyperv_vm_integration_component_enabled',
  'Whether the integration component is enabled in the VM settings (setting data EnabledState); known for every VM, running or not.',
);
const status = gauge(
  'hyperv_vm_integration_component_status',
  'Current OperationalStatus[0] of each integration component present (running or paused VMs); always 1, the status is the label.',
);
const secondaryStatus = gauge(
  'hyperv_vm_integration_component_secondary_status',
  'Current OperationalStatus[1] of each integration component that reports one (e.g. protocol_mismatch); always 1.',
);
const ok = gauge(
  'hyperv_vm_integration_component_ok',
  'Whether the integration component answers (status ok or degraded); a protocol mismatch does not make it 0. Only for components present.',
);
const timeSyncEnabled = gauge('hyperv_vm_time_sync_enabled', 'Whether the time synchronization integration component is enabled for the VM.');

const FAMILIES = [enabled, status, secondaryStatus, ok, timeSyncEnabled] as const;

// Per VM: its lines of each family, in FAMILIES order; reused while the VM's components are the same (frozen) list.
const rendered = new VmFragmentCache();

export const integrationComponentCollector: ModelCollector = {
  name: 'integration_components',
  families: FAMILIES,
  collect(model, out) {
    rendered.startRender();
    for (const vm of model.vms) {
      const labels = vmLabels(vm);
      const inputs = [labels, vm.components];
      let fragments = rendered.get(vm.id, inputs);
      if (fragments === undefined) {
        // Lines per family, in FAMILIES order.
        const lines: string[][] = [[], [], [], [], []];
        const [enabledLines, statusLines, secondaryLines, okLines, timeSyncLines] = lines as [string[], string[], string[], string[], string[]];
        for (const component of vm.components) {
          const componentLabels = `${labels},component="${component.name}"`;
          if (component.enabled !== null) enabledLines.push(sampleLine(enabled, componentLabels, bool(component.enabled)));
          if (component.status !== null) {
            statusLines.push(sampleLine(status, `${componentLabels},status="${component.status}"`, 1));
            okLines.push(sampleLine(ok, componentLabels, bool(isAnswering(component.status))));
          }
          if (component.secondaryStatus !== null) secondaryLines.push(sampleLine(secondaryStatus, `${componentLabels},status="${component.secondaryStatus}"`, 1));
          if (component.name === 'time_sync' && component.enabled !== null) timeSyncLines.push(sampleLine(timeSyncEnabled, labels, bool(component.enabled)));
        }
        fragments = lines.map((family) => family.join(''));
        rendered.set(vm.id, inputs, fragments);
      }
      for (let i = 0; i < FAMILIES.length; i++) out.lines(FAMILIES[i]!, fragments[i]!);
    }
    rendered.endRender();
  },
};
