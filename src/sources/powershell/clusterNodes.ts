import { InvalidHostAddressError, validateHostAddress } from '../../contract/hostAddress';
import { SampleError } from '../../contract/sample';
import { answerField } from './classify';
import type { PowerShellPool } from './pool';

/** A node of the local failover cluster, as collect.ps1's Get-HyperVIcClusterNode reports it. */
export interface ClusterNodeAnswer {
  readonly name: string;
  readonly state: number;
}

/** MSCluster_Node.State is uint32: CLUSTER_NODE_STATE's -1 (unknown) arrives as 4294967295; anything else unreadable is unknown too. */
export function clusterNodeState(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) return -1;
  return value === 0xffffffff ? -1 : value;
}

/**
 * The nodes of the failover cluster this host belongs to (root/MSCluster MSCluster_Node), read through
 * a process of the pool. Node names become host addresses, so each must be one (else the answer is refused).
 */
export async function readClusterNodes(pool: PowerShellPool, signal: AbortSignal): Promise<ClusterNodeAnswer[]> {
  const answer = await pool.withWorker(signal, (worker) => worker.invoke('Get-HyperVIcClusterNode', signal));
  const nodes = answerField(answer, 'nodes', 'Get-HyperVIcClusterNode');
  if (!Array.isArray(nodes)) throw new SampleError('output_unparseable', 'Get-HyperVIcClusterNode answered with nodes that are not a list');
  return nodes.map((node: unknown) => {
    const record = typeof node === 'object' && node !== null ? (node as Record<string, unknown>) : {};
    const name = record['Name'];
    const state = record['State'];
    if (typeof name !== 'string') throw new SampleError('output_unparseable', 'a cluster node without a name');
    try {
      return { name: validateHostAddress(name), state: clusterNodeState(state) };
    } catch (error) {
      if (error instanceof InvalidHostAddressError) throw new SampleError('output_unparseable', `cluster node name: ${error.message}`);
      throw error;
    }
  });
}
