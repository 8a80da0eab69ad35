import { VM_STATES } from '../../model/valueMaps';
import { gauge } from '../exposition';
import { bool, vmLabels, type ModelCollector } from './collector';

const info = gauge('hyperv_vm_info', 'A virtual machine on the host; vm_id is its GUID (the identity), vm its display name (not unique). Always 1.');
const state = gauge(
  'hyperv_vm_state',
  'State of the VM from Msvm_ComputerSystem.EnabledState, as a state set: 1 for the current state, 0 for the others.',
);
const uptime = gauge(
  'hyperv_vm_uptime_seconds',
  'Time since the VM was last turned on, reset or restored, excluding time spent paused (OnTimeInMilliseconds); 0 when off.',
);

const migrating = gauge(
  'hyperv_vm_migrating',
  'Whether a live migration of the VM is under way (Msvm_ComputerSystem.OperationalStatus holds 32774, Migrating): 1 while it is, else 0.',
);

export const vmCollector: ModelCollector = {
  name: 'vm',
  families: [info, state, uptime, migrating],
  collect(model, out) {
    for (const vm of model.vms) {
      const labels = vmLabels(vm);
      out.sample(info, labels, 1);
      for (const candidate of VM_STATES) out.sample(state, `${labels},state="${candidate}"`, bool(candidate === vm.state));
      if (vm.uptimeSeconds !== null) out.sample(uptime, labels, vm.uptimeSeconds);
      out.sample(migrating, labels, bool(vm.migrating));
    }
  },
};
