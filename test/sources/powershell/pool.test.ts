import pino from 'pino';
import { SampleError } from '../../../src/contract/sample';
import { PowerShellPool } from '../../../src/sources/powershell/pool';
import type { PowerShellWorker } from '../../../src/sources/powershell/worker';

/**
 * How the pool hands out its workers: one command per worker, and never more commands at once than
 * workers (its callers bound that with the Slots it is sized by: src/contract/slots.ts). Workers start
 * their PowerShell only when a command runs, so no pwsh is needed here.
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

async function failureOf(promise: Promise<unknown>): Promise<SampleError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof SampleError)) throw new Error(`expected a SampleError, got ${String(error)}`);
  return error;
}

describe('PowerShellPool', () => {
  test('each command has a worker of its own, and gives it back when it ends', async () => {
    const pool = newPool(2);
    const a = hold(pool);
    const b = hold(pool);
    const [workerA, workerB] = await Promise.all([a.taken, b.taken]);
    expect(workerA).not.toBe(workerB);
    b.release();
    await b.done;
    const c = hold(pool);
    expect(await c.taken).toBe(workerB);
    a.release();
    c.release();
    await Promise.all([a.done, c.done]);
    await pool.close();
  });

  test('more commands at once than workers is a bug of the caller: refused, without costing a worker', async () => {
    const pool = newPool(1);
    const a = hold(pool);
    await a.taken;
    await expect(pool.withWorker(new AbortController().signal, async () => 'never')).rejects.toThrow(/all 1 PowerShell processes were busy/);
    a.release();
    await a.done;
    await expect(pool.withWorker(new AbortController().signal, async () => 'ran')).resolves.toBe('ran');
    await pool.close();
  });

  test('a command whose signal has aborted does not start: a timeout, and costs no worker', async () => {
    const pool = newPool(1);
    expect((await failureOf(pool.withWorker(AbortSignal.abort(), async () => 'never'))).reason).toBe('timeout');
    await expect(pool.withWorker(new AbortController().signal, async () => 'ran')).resolves.toBe('ran');
    await pool.close();
  });

  test('a failing command gives its worker back', async () => {
    const pool = newPool(1);
    await expect(pool.withWorker(new AbortController().signal, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.withWorker(new AbortController().signal, async () => 'ran')).resolves.toBe('ran');
    await pool.close();
  });

  test('after closing, commands fail with source_error; a command running then ends as its worker does', async () => {
    const pool = newPool(1);
    const a = hold(pool);
    const worker = await a.taken;
    const closing = pool.close();
    expect((await failureOf(pool.withWorker(new AbortController().signal, async () => 'never'))).reason).toBe('source_error');
    // The worker itself refuses commands once the pool is closed (no PowerShell is started).
    expect((await failureOf(worker.invoke('Get-HyperVIcSample -Scope Full', new AbortController().signal))).reason).toBe('source_error');
    a.release();
    await a.done;
    await closing;
  });
});
