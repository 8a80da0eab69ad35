import { SampleError } from '../../../src/contract/sample';
import { clusterNodeState, readClusterNodes } from '../../../src/sources/powershell/clusterNodes';
import type { PowerShellPool } from '../../../src/sources/powershell/pool';

/** What collect.ps1's Get-HyperVIcClusterNode answers, read into nodes: names become host addresses, State is interpreted here. */

function poolAnswering(answer: string): PowerShellPool {
  const worker = { invoke: async (): Promise<string> => answer };
  return { withWorker: async (_signal: AbortSignal, use: (w: typeof worker) => Promise<string>) => use(worker) } as unknown as PowerShellPool;
}

const read = (answer: unknown): Promise<unknown> => readClusterNodes(poolAnswering(JSON.stringify(answer)), new AbortController().signal);

describe('cluster nodes', () => {
  test('State: the uint32 4294967295 is CLUSTER_NODE_STATE -1 (unknown); codes pass; no number is unknown', () => {
    expect(clusterNodeState(4294967295)).toBe(-1);
    expect(clusterNodeState(-1)).toBe(-1);
    for (const code of [0, 1, 2, 3]) expect(clusterNodeState(code)).toBe(code);
    for (const unreadable of [null, undefined, '0', 1.5, Number.NaN]) expect(clusterNodeState(unreadable)).toBe(-1);
  });

  test('an answer becomes nodes with their states', async () => {
    await expect(
      read({
        nodes: [
          { Name: 'HV01', State: 0 },
          { Name: 'HV02', State: 4294967295 },
          { Name: 'HV03', State: null },
        ],
      }),
    ).resolves.toEqual([
      { name: 'HV01', state: 0 },
      { name: 'HV02', state: -1 },
      { name: 'HV03', state: -1 },
    ]);
  });

  test('a node without a usable name refuses the whole answer', async () => {
    await expect(read({ nodes: [{ State: 0 }] })).rejects.toThrow(SampleError);
    await expect(read({ nodes: [{ Name: 'hv01; rm -rf /', State: 0 }] })).rejects.toThrow(/cluster node name/);
    await expect(read({ nodes: 'HV01' })).rejects.toThrow(/not a list/);
  });
});
