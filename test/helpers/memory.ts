import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

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

/**
 * Heap in use after a full GC, in bytes. Waits a moment first: fs.promises keeps the text of the last
 * file read reachable until its file handle has closed, a few ticks after the read resolved.
 */
export async function retainedHeap(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
