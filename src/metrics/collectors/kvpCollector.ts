import { KVP_POOLS } from '../../model/hostModel';
import { escapeLabelValue } from '../exposition';
import { gauge, vmLabels, type ModelCollector } from './collector';

const items = gauge(
  'hyperv_vm_kvp_items',
  'Number of valid key/value pair exchange items per pool: guest_intrinsic and guest while the KVP component exists, host and host_only from the settings.',
);
const guestInfo = gauge(
  'hyperv_vm_guest_info',
  'Guest operating system as the guest reports it in its intrinsic KVP items (written by the guest: untrusted, length-capped); always 1.',
);

export const kvpCollector: ModelCollector = {
  name: 'kvp',
  families: [items, guestInfo],
  collect(model, out) {
    for (const vm of model.vms) {
      const labels = vmLabels(vm);
      for (const pool of KVP_POOLS) {
        const count = vm.kvpItems[pool];
        if (count !== undefined) out.sample(items, `${labels},pool="${pool}"`, count);
      }
      const guest = vm.guest;
      if (guest !== null) {
        out.sample(
          guestInfo,
          `${labels},os_name="${escapeLabelValue(guest.osName)}",os_version="${escapeLabelValue(guest.osVersion)}",fqdn="${escapeLabelValue(guest.fqdn)}",integration_services_version="${escapeLabelValue(guest.integrationServicesVersion)}"`,
          1,
        );
      }
    }
  },
};
