import { hostname } from 'node:os';

/** A host name without its domain, lower-cased: `HV01.corp.example` → `hv01`. */
export function shortName(name: string): string {
  return (name.split('.')[0] ?? '').toLowerCase();
}

/** Whether `name` (a cluster node's) is the machine the exporter runs on, with or without its domain. */
export function isThisComputer(name: string, localName: string = hostname()): boolean {
  const local = localName.toLowerCase();
  const node = name.toLowerCase();
  return node === local || node === shortName(local) || shortName(node) === local;
}
