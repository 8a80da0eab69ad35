import type { HostConfig, HostTiming } from '../config/hostsFile';
import type { ClusterNode } from '../sampling/clusterDiscovery';
import { isThisComputer, shortName } from './thisComputer';

/**
 * The nodes of the failover cluster as hosts to sample: a node that a configured host already samples
 * (by name, or by its address, with or without the domain) is left to it; this computer's own node is
 * sampled locally, the others through WinRM. Each gets the default timing.
 */
export function discoveredHosts(nodes: readonly ClusterNode[], configured: readonly HostConfig[], timing: HostTiming): HostConfig[] {
  const taken = new Set(
    configured.flatMap((host) => [
      host.name.toLowerCase(),
      ...(host.source.kind === 'powershell' && host.source.computerName !== undefined ? [host.source.computerName.toLowerCase(), shortName(host.source.computerName)] : []),
    ]),
  );
  return nodes
    .filter((node) => !taken.has(node.name.toLowerCase()) && !taken.has(shortName(node.name)))
    .map((node) => ({ name: node.name, source: isThisComputer(node.name) ? { kind: 'powershell' } : { kind: 'powershell', computerName: node.name }, ...timing }));
}
