import { escapeLabelValue, gauge } from '../exposition';
import type { ModelCollector } from './collector';

const hostInfo = gauge('hyperv_host_info', 'The Hyper-V host that was sampled (its computer name); always 1.');

export const hostCollector: ModelCollector = {
  name: 'host',
  families: [hostInfo],
  collect(model, out) {
    out.sample(hostInfo, `host="${escapeLabelValue(model.hostName)}"`, 1);
  },
};
