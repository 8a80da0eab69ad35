import pino from 'pino';
import { SampleError } from '../../../src/contract/sample';
import { PowerShellPool } from '../../../src/sources/powershell/pool';
import type { PowerShellWorker } from '../../../src/sources/powershell/worker';

/**
 * How the pool hands out its workers: one command per worker, first come first served, a wait that
 * the sample's signal or the pool's closing ends. Workers start their PowerShell only when a command
 * runs, so no pwsh is needed here.
 */

function newPool(size: number): PowerShellPool {
  return new PowerShellPool({ executable: 'pwsh', size, recycleAfterSamples: 10, scriptPath: 'collect.ps1', logger: pino({ level: 'silent' }) });
}

/** Takes a worker and holds it until `release` is called. */
function hold(pool: PowerShellPool, signal = new AbortController().signal): { taken: Promise<PowerShellWorker>; release: () => void; done: Promise<void> } {
  let release!: () => void;
  let taken!: (worker: PowerShellWorker) => void;
  const takenPromise = new Promise<PowerShellWorker>((resolve) => (taken = resolve));
  const done = pool.withWorker(signal, (worker) => {
    taken(worker);
    return new Promise<void>((resolve) => (release = resolve));
  });
  return { taken: takenPromise, release: () => release(), done };
}

const settled = async <T>(promise: Promise<T>): Promise<boolean> => {
  let result = false;
  void promise.then(
    () => (result = true),
    () => (result = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return result;
};

async function failureOf(promise: Promise<unknown>): Promise<SampleError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof SampleError)) throw new Error(`expected a SampleError, got ${String(error)}`);
  return error;
}

describe('PowerShellPool', () => {
  test('each command has a worker of its own; the next waits, first come first served, and gets the worker freed', async () => {
    const pool = newPool(2);
    const a = hold(pool);
    const b = hold(pool);
    const [workerA, workerB] = await Promise.all([a.taken, b.taken]);
    expect(workerA).not.toBe(workerB);
    const c = hold(pool);
    const d = hold(pool);
    expect(await settled(c.taken)).toBe(false);
    b.release();
    await b.done;
    expect(await c.taken).toBe(workerB);
    expect(await settled(d.taken)).toBe(false);
    a.release();
    expect(await d.taken).toBe(workerA);
    c.release();
    d.release();
    await Promise.all([a.done, c.done, d.done]);
    await pool.close();
  });

  test('a wait that its signal ends is a timeout, and costs no worker', async () => {
    const pool = newPool(1);
    const a = hold(pool);
    await a.taken;
    const controller = new AbortController();
    const waiting = pool.withWorker(controller.signal, async () => 'never');
    controller.abort();
    expect((await failureOf(waiting)).reason).toBe('timeout');
    expect((await failureOf(pool.withWorker(AbortSignal.abort(), async () => 'never'))).reason).toBe('timeout');
    a.release();
    await a.done;
    await expect(pool.withWorker(new AbortController().signal, async () => 'ran')).resolves.toBe('ran');
    await pool.close();
  });

  test('a failing command gives its worker back', async () => {
    const pool = newPool(1);
    await expect(pool.withWorker(new AbortController().signal, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.withWorker(new AbortController().signal, async () => 'ran')).resolves.toBe('ran');
    await pool.close();
  });

  test('closing ends every wait with source_error, and later commands get the same', async () => {
    const pool = newPool(1);
    const a = hold(pool);
    await a.taken;
    const waiting = pool.withWorker(new AbortController().signal, async () => 'never');
    const closing = pool.close();
    expect((await failureOf(waiting)).reason).toBe('source_error');
    expect((await failureOf(pool.withWorker(new AbortController().signal, async () => 'never'))).reason).toBe('source_error');
    a.release();
    await a.done;
    await closing;
  });
});
