import { gauge } from '../exposition';
import { vmLabels, type ModelCollector } from './collector';

const lastBackup = gauge(
  'hyperv_vm_last_successful_backup_timestamp_seconds',
  'Unix time of the last successful backup of the VM (Msvm_ComputerSystem.LastSuccessfulBackupTime); 0 when it was never backed up.',
);

export const backupCollector: ModelCollector = {
  name: 'backup',
  families: [lastBackup],
  collect(model, out) {
    for (const vm of model.vms) if (vm.lastBackupSeconds !== null) out.sample(lastBackup, vmLabels(vm), vm.lastBackupSeconds);
  },
};
