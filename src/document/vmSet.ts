import type { ParsedDocument } from './parse';

/**
 * Which VMs a sample shows, and which of them have a KVP component (running or paused), as one
 * comparable string. A Status sample is completed from the last Full sample only while this is the
 * same for both: a VM that was added, removed, started or stopped since needs a Full sample.
 */
export function vmSetOf(document: ParsedDocument): string {
  const vms = document.computerSystems.map((system) => system.name.toLowerCase()).sort();
  const withKvp = (document.components.get('kvp_exchange') ?? []).map((component) => component.vmId).sort();
  return JSON.stringify([vms, withKvp]);
}
