import { SimulatedHost, type SimulatedHostOptions } from './simulator/simulatedHost';
import type { RawSample, SampleSource } from '../contract/sample';

/** The built-in simulated host: runs anywhere, changes over time, and scales to thousands of VMs. It always answers with a Full document. */
export function createSimulatorSource(options: SimulatedHostOptions): SampleSource {
  const host = new SimulatedHost(options);
  return {
    name: 'simulator',
    async sample(): Promise<RawSample> {
      return { document: host.next() };
    },
    async close() {},
  };
}
