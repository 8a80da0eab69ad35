import type { Logger } from 'pino';
import type { Slots } from '../contract/slots';
import type { ClusterNode } from '../sampling/clusterDiscovery';
import { readClusterNodes } from '../sources/powershell/clusterNodes';
import type { PowerShellPool } from '../sources/powershell/pool';
import { createPowerShellPool } from '../sources/powershell/powershellSource';

export interface PowerShellProcessesOptions {
  /** Default: powershell.exe on Windows, pwsh elsewhere. */
  readonly executable?: string;
  readonly recycleAfterSamples: number;
  /** For the tests: modules every PowerShell process imports before collect.ps1 (the CIM stand-ins). */
  readonly preloadModules?: readonly string[];
  readonly logger: Logger;
}

/**
 * The PowerShell processes every host samples through: one per slot, made when first needed. Nothing
 * runs a command in them outside a slot (the samples run in the schedulers' slots, the cluster read in
 * one of its own), so the pool is never asked for more processes than it has.
 */
export class PowerShellProcesses {
  private made: PowerShellPool | null = null;

  constructor(
    private readonly slots: Slots,
    private readonly options: PowerShellProcessesOptions,
  ) {}

  /** The pool, as many processes as slots; made at the first call. */
  pool(): PowerShellPool {
    this.made ??= createPowerShellPool({ ...this.options, size: this.slots.size });
    return this.made;
  }

  /** The nodes of the local failover cluster, read in a slot. */
  readClusterNodes(signal: AbortSignal): Promise<ClusterNode[]> {
    return this.slots.use(signal, () => readClusterNodes(this.pool(), signal));
  }

  /** Ends the processes, if any were made. */
  async close(): Promise<void> {
    await this.made?.close();
  }
}
