import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { waitFor } from './waitFor';

let gcFunction: (() => void) | null = null;
/** A full GC: jest does not run node with --expose-gc, so the flag is set at run time. */
export function collectGarbage(): void {
  if (gcFunction === null) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
  gcFunction();
}

/** What node lists (getActiveResourcesInfo) for a file system request in flight, a file handle's close included. */
const FILE_REQUEST = /^(?:FSReq|CloseReq|FileHandle)/;

/**
 * Heap in use after a full GC, in bytes, once no file system request is in flight: fs.promises keeps
 * the text of the last file read reachable until its file handle has closed, a few ticks after the
 * read resolved (node lists that close as a CloseReq).
 */
export async function retainedHeap(): Promise<number> {
  await waitFor('file reads to settle', () => !process.getActiveResourcesInfo().some((resource) => FILE_REQUEST.test(resource)), {
    describe: () => `still in flight: ${process.getActiveResourcesInfo().join(', ')}`,
  });
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
