import { VM_STATES } from '../../model/valueMaps';
import { formatValue } from '../exposition';
import { linePrefix, sampleLine } from '../familyText';
import { VmFragmentCache } from '../vmFragmentCache';
import { gauge, vmLabels, type ModelCollector } from './collector';

const info = gauge('hyperv_vm_info', 'A virtual machine on the host; vm_id is its GUID (the identity), vm its display name (not unique). Always 1.');
const state = gauge(
  'hyperv_vm_state',
  'State of the VM from Msvm_ComputerSystem.EnabledState, as a state set: 1 for the current state, 0 for the others.',
);
const uptime = gauge(
  'hyperv_vm_uptime_seconds',
  'Time since the VM was last turned on, reset or restored, excluding time spent paused (OnTimeInMilliseconds); 0 when off.',
);

// Per VM: the info line, the state lines and the uptime line up to its value (uptime changes at every sample).
const rendered = new VmFragmentCache();

export const vmCollector: ModelCollector = {
  name: 'vm',
  families: [info, state, uptime],
  collect(model, out) {
    rendered.startRender();
    for (const vm of model.vms) {
      const labels = vmLabels(vm);
      const inputs = [labels, vm.state];
      let fragments = rendered.get(vm.id, inputs);
      if (fragments === undefined) {
        const stateLines = VM_STATES.map((candidate) => sampleLine(state, `${labels},state="${candidate}"`, candidate === vm.state ? 1 : 0));
        fragments = [sampleLine(info, labels, 1), stateLines.join(''), linePrefix(uptime, labels)];
        rendered.set(vm.id, inputs, fragments);
      }
      // Each VM's lines handed over as they are: families whose lines are all reused are then known
      // to be unchanged without reading them (IncrementalDeflate).
      out.lines(info, fragments[0]!);
      out.lines(state, fragments[1]!);
      if (vm.uptimeSeconds !== null) out.lines(uptime, `${fragments[2]!}${formatValue(vm.uptimeSeconds)}\n`);
    }
    rendered.endRender();
  },
};
