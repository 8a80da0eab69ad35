import { KVP_POOLS } from '../../model/hostModel';
import { escapeLabelValue } from '../exposition';
import { sampleLine } from '../familyText';
import { VmFragmentCache } from '../vmFragmentCache';
import { gauge, vmLabels, type ModelCollector } from './collector';

const items = gauge(
  'hyperv_vm_kvp_items',
  'Number of valid key/value pair exchange items per pool: guest_intrinsic and guest while the KVP component exists, host and host_only from the settings.',
);
const guestInfo = gauge(
  'hyperv_vm_guest_info',
  'Guest operating system as the guest reports it in its intrinsic KVP items (written by the guest: untrusted, length-capped); always 1.',
);

// Per VM: its item-count lines and its guest info line; reused while its counts and guest info are the same (frozen) objects.
const rendered = new VmFragmentCache();

export const kvpCollector: ModelCollector = {
  name: 'kvp',
  families: [items, guestInfo],
  collect(model, out) {
    rendered.startRender();
    for (const vm of model.vms) {
      const labels = vmLabels(vm);
      const inputs = [labels, vm.kvpItems, vm.guest];
      let fragments = rendered.get(vm.id, inputs);
      if (fragments === undefined) {
        const itemLines: string[] = [];
        for (const pool of KVP_POOLS) {
          const count = vm.kvpItems[pool];
          if (count !== undefined) itemLines.push(sampleLine(items, `${labels},pool="${pool}"`, count));
        }
        const guest = vm.guest;
        const guestLine =
          guest === null
            ? ''
            : sampleLine(
                guestInfo,
                `${labels},os_name="${escapeLabelValue(guest.osName)}",os_version="${escapeLabelValue(guest.osVersion)}",fqdn="${escapeLabelValue(guest.fqdn)}",integration_services_version="${escapeLabelValue(guest.integrationServicesVersion)}"`,
                1,
              );
        fragments = [itemLines.join(''), guestLine];
        rendered.set(vm.id, inputs, fragments);
      }
      out.lines(items, fragments[0]!);
      out.lines(guestInfo, fragments[1]!);
    }
    rendered.endRender();
  },
};
