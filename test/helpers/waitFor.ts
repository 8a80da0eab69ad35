export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown by a probe when waiting longer is pointless (the process waited for has exited): waitFor fails at once. */
export class GiveUp extends Error {}

export interface WaitOptions {
  /** Default 10 s. */
  readonly timeoutMs?: number;
  /** Between two tries; default 10 ms, doubling up to 100 ms (quick to see, cheap when it takes long). */
  readonly intervalMs?: number;
  /** What was last seen, added to the message of a timeout so that it says why. */
  readonly describe?: () => string;
}

/** A failed expect() in a probe: the test's verdict, not a "not yet". */
function isAssertion(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'matcherResult' in error;
}

/**
 * Polls `probe` until it returns something other than undefined or false, and returns that; after
 * `timeoutMs` it fails naming `what` and the probe's last error. A probe that throws is tried again
 * (what it waits for may not be up yet), except for GiveUp and a failed expect(), which end the wait.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  let pauseMs = options.intervalMs ?? 10;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw new Error(`gave up waiting for ${what}: ${error.message}\n${options.describe?.() ?? ''}`);
      if (isAssertion(error)) throw error;
      lastError = error;
    }
    if (performance.now() > deadline) {
      const cause = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}\n${options.describe?.() ?? ''}`);
    }
    await sleep(pauseMs);
    if (options.intervalMs === undefined) pauseMs = Math.min(pauseMs * 2, 100);
  }
}

