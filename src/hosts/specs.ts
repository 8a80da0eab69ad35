import { kvpExportKeys, type Config } from '../config';
import type { HostConfig, HostSourceConfig, HostTiming } from '../config/hostsFile';
import type { KvpExport } from '../model/kvpExport';
import type { HostSpec } from '../sampling/hostSet';
import type { SourceOptions } from '../sources/createSource';
import type { PowerShellPool } from '../sources/powershell/pool';

/** The configuration, as what each host is sampled with: its spec, its source's options, the KVP export. */

/** --kvp.export-keys and --kvp.export-max-per-vm. */
export function kvpExportOf(config: Config): KvpExport {
  return { keys: config.kvp.exportKeys === undefined ? null : kvpExportKeys(config.kvp.exportKeys), maxPerVm: config.kvp.exportMaxPerVm };
}

/** The --sample.* flags: the timing of a host that the hosts file gives none of its own. */
export function timingOf(config: Config): HostTiming {
  return { intervalMs: config.sample.intervalMs, timeoutMs: config.sample.timeoutMs, fullIntervalMs: config.sample.fullIntervalMs, maxAgeMs: config.sample.maxAgeMs };
}

/** A host of the hosts file (or a node of the failover cluster) as the host set samples it. */
export function hostSpecOf(host: HostConfig, origin: HostSpec<HostSourceConfig>['origin']): HostSpec<HostSourceConfig> {
  return { name: host.name, intervalMs: host.intervalMs, timeoutMs: host.timeoutMs, fullIntervalMs: host.fullIntervalMs, maxAgeMs: host.maxAgeMs, origin, source: host.source };
}

/**
 * The source of the one host of the --source flags. `pool`: the PowerShell processes to sample through;
 * absent, a PowerShell source has one of its own (the `sample` command).
 */
export function sourceOptionsOf(config: Config, pool?: () => PowerShellPool): SourceOptions {
  switch (config.source) {
    case 'replay':
      return { kind: 'replay', file: config.replay.file ?? '' };
    case 'simulator':
      return { kind: 'simulator', vms: config.simulator.vms, seed: config.simulator.seed };
    case 'powershell':
      return { kind: 'powershell', executable: config.powershell.path, computerName: config.powershell.computerName, recycleAfterSamples: config.powershell.recycleAfterSamples, pool: pool?.() };
  }
}

/** The source of a host of the hosts file: PowerShell hosts sample through the shared processes. */
export function hostSourceOptionsOf(source: HostSourceConfig, config: Config, pool: () => PowerShellPool): SourceOptions {
  if (source.kind !== 'powershell') return source;
  return { kind: 'powershell', computerName: source.computerName, recycleAfterSamples: config.powershell.recycleAfterSamples, pool: pool() };
}
