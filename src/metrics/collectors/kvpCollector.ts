import { KVP_POOLS } from '../../model/hostModel';
import { gauge, labelText } from '../exposition';
import { vmLabels, type ModelCollector } from './collector';

const items = gauge(
  'hyperv_vm_kvp_items',
  'Number of valid key/value pair exchange items per pool: guest_intrinsic and guest while the KVP component exists, host and host_only from the settings.',
);
const guestInfo = gauge(
  'hyperv_vm_guest_info',
  'Guest operating system as the guest reports it in its intrinsic KVP items (written by the guest: untrusted, length-capped); always 1.',
);

const guestAddress = gauge(
  'hyperv_vm_guest_address_info',
  'An IP address the guest reports for itself (intrinsic KVP items NetworkAddressIPv4/IPv6; written by the guest, checked, loopback left out, capped per VM); always 1.',
);
const kvpItem = gauge(
  'hyperv_vm_kvp_item_info',
  'A KVP item whose name matches --kvp.export-keys, with its pool, key and value (written by the guest for the guest pools: cleaned and length-capped); always 1.',
);

export const kvpCollector: ModelCollector = {
  name: 'kvp',
  families: [items, guestInfo, guestAddress, kvpItem],
  collect(model, out) {
    for (const vm of model.vms) {
      const labels = vmLabels(vm);
      for (const pool of KVP_POOLS) {
        const count = vm.kvpItems[pool];
        if (count !== undefined) out.sample(items, `${labels},pool="${pool}"`, count);
      }
      const guest = vm.guest;
      if (guest !== null) {
        const os = labelText({ os_name: guest.osName, os_version: guest.osVersion, fqdn: guest.fqdn, integration_services_version: guest.integrationServicesVersion });
        out.sample(guestInfo, `${labels},${os}`, 1);
      }
      for (const { family, address } of vm.guestAddresses) out.sample(guestAddress, `${labels},family="${family}",address="${address}"`, 1);
      for (const item of vm.exportedKvpItems) out.sample(kvpItem, `${labels},${labelText({ pool: item.pool, key: item.key, value: item.value })}`, 1);
    }
  },
};
