import { COMPONENT_STATUSES, SECONDARY_STATUSES, isAnswering } from '../../model/valueMaps';
import { gauge } from '../exposition';
import { bool, vmLabels, type ModelCollector } from './collector';

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

const interval = gauge('hyperv_vm_heartbeat_interval_seconds', 'Time between two heartbeat pings of the host to the guest (heartbeat setting data Interval); for every VM whose host reports it.');
const latency = gauge('hyperv_vm_heartbeat_latency_seconds', 'Time after which a heartbeat ping without an answer counts as dropped (heartbeat setting data Latency).');
const errorThreshold = gauge(
  'hyperv_vm_heartbeat_error_threshold',
  'Dropped heartbeat pings in a row after which the host reports lost_communication (heartbeat setting data ErrorThreshold).',
);

export const heartbeatCollector: ModelCollector = {
  name: 'heartbeat',
  families: [heartbeatOk, heartbeatStatus, applicationHealth, interval, latency, errorThreshold],
  collect(model, out) {
    for (const vm of model.vms) {
      const settings = vm.heartbeatSettings;
      if (settings !== null) {
        const labels = vmLabels(vm);
        if (settings.intervalSeconds !== null) out.sample(interval, labels, settings.intervalSeconds);
        if (settings.latencySeconds !== null) out.sample(latency, labels, settings.latencySeconds);
        if (settings.errorThreshold !== null) out.sample(errorThreshold, labels, settings.errorThreshold);
      }
      const heartbeat = vm.components.find((component) => component.name === 'heartbeat');
      if (heartbeat?.status == null) continue;
      const labels = vmLabels(vm);
      out.sample(heartbeatOk, labels, bool(isAnswering(heartbeat.status)));
      for (const status of COMPONENT_STATUSES) out.sample(heartbeatStatus, `${labels},status="${status}"`, bool(status === heartbeat.status));
      const secondary = heartbeat.secondaryStatus;
      if (secondary !== null) {
        for (const status of SECONDARY_STATUSES) out.sample(applicationHealth, `${labels},status="${status}"`, bool(status === secondary));
      }
    }
  },
};
