import { isAnswering } from '../../model/valueMaps';
import { gauge } from '../exposition';
import { bool, vmLabels, type ModelCollector } from './collector';

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

export const integrationComponentCollector: ModelCollector = {
  name: 'integration_components',
  families: [enabled, status, secondaryStatus, ok, timeSyncEnabled],
  collect(model, out) {
    for (const vm of model.vms) {
      const labels = vmLabels(vm);
      for (const component of vm.components) {
        const componentLabels = `${labels},component="${component.name}"`;
        if (component.enabled !== null) out.sample(enabled, componentLabels, bool(component.enabled));
        if (component.status !== null) {
          out.sample(status, `${componentLabels},status="${component.status}"`, 1);
          out.sample(ok, componentLabels, bool(isAnswering(component.status)));
        }
        if (component.secondaryStatus !== null) out.sample(secondaryStatus, `${componentLabels},status="${component.secondaryStatus}"`, 1);
        if (component.name === 'time_sync' && component.enabled !== null) out.sample(timeSyncEnabled, labels, bool(component.enabled));
      }
    }
  },
};
