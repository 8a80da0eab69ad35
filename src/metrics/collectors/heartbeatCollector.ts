import { COMPONENT_STATUSES, SECONDARY_STATUSES, isAnswering } from '../../model/valueMaps';
import { sampleLine } from '../familyText';
import { VmFragmentCache } from '../vmFragmentCache';
import { bool, gauge, vmLabels, type ModelCollector } from './collector';

const heartbeatOk = gauge(
  'hyperv_vm_heartbeat_ok',
  'Whether the guest answers the heartbeat (status ok or degraded); only for VMs that have a heartbeat component (running or paused).',
);
const heartbeatStatus = gauge(
  'hyperv_vm_heartbeat_status',
  'Heartbeat OperationalStatus[0] as a state set: 1 for the current status, 0 for the others; only for VMs that have a heartbeat component.',
);
const applicationHealth = gauge(
  'hyperv_vm_application_health',
  'Application health reported by the guest through the heartbeat (OperationalStatus[1]) as a state set; only where the guest reports it.',
);

// Per VM: its lines of each of the three families.
const rendered = new VmFragmentCache();

export const heartbeatCollector: ModelCollector = {
  name: 'heartbeat',
  families: [heartbeatOk, heartbeatStatus, applicationHealth],
  collect(model, out) {
    rendered.startRender();
    for (const vm of model.vms) {
      const heartbeat = vm.components.find((component) => component.name === 'heartbeat');
      if (heartbeat?.status == null) continue;
      const labels = vmLabels(vm);
      const inputs = [labels, heartbeat.status, heartbeat.secondaryStatus];
      let fragments = rendered.get(vm.id, inputs);
      if (fragments === undefined) {
        const statusLines = COMPONENT_STATUSES.map((status) => sampleLine(heartbeatStatus, `${labels},status="${status}"`, bool(status === heartbeat.status)));
        const secondary = heartbeat.secondaryStatus;
        const healthLines =
          secondary === null ? [] : SECONDARY_STATUSES.map((status) => sampleLine(applicationHealth, `${labels},status="${status}"`, bool(status === secondary)));
        fragments = [sampleLine(heartbeatOk, labels, bool(isAnswering(heartbeat.status))), statusLines.join(''), healthLines.join('')];
        rendered.set(vm.id, inputs, fragments);
      }
      out.lines(heartbeatOk, fragments[0]!);
      out.lines(heartbeatStatus, fragments[1]!);
      out.lines(applicationHealth, fragments[2]!);
    }
    rendered.endRender();
  },
};
