import { COMPONENT_STATUSES, SECONDARY_STATUSES, isAnswering } from '../../model/valueMaps';
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

export const heartbeatCollector: ModelCollector = {
  name: 'heartbeat',
  families: [heartbeatOk, heartbeatStatus, applicationHealth],
  collect(model, out) {
    for (const vm of model.vms) {
      const heartbeat = vm.components.find((component) => component.name === 'heartbeat');
      if (heartbeat?.status == null) continue;
      const labels = vmLabels(vm);
      out.sample(heartbeatOk, labels, bool(isAnswering(heartbeat.status)));
      for (const status of COMPONENT_STATUSES) out.sample(heartbeatStatus, `${labels},status="${status}"`, bool(status === heartbeat.status));
      if (heartbeat.secondaryStatus !== null) {
        for (const status of SECONDARY_STATUSES) {
          out.sample(applicationHealth, `${labels},status="${status}"`, bool(status === heartbeat.secondaryStatus));
        }
      }
    }
  },
};
