import { SampleError } from '../../src/contract/sample';
import { Slots } from '../../src/contract/slots';
import { Scheduler, type SampleCallbacks } from '../../src/sampling/scheduler';

type Behaviour = 'ok' | 'fail' | 'hang';

/** Callbacks that record what the scheduler did; each sample takes `durationMs` of fake time. */
function recorder(plan: Behaviour[], durationMs = 100) {
  const events: string[] = [];
  let running = 0;
  let maxConcurrent = 0;
  const signals: AbortSignal[] = [];
  const callbacks: SampleCallbacks<void> = {
    sample: (signal) => {
      const behaviour = plan.shift() ?? 'ok';
      signals.push(signal);
      running++;
      maxConcurrent = Math.max(maxConcurrent, running);
      events.push(`start@${Date.now()}`);
      return new Promise<void>((resolve, reject) => {
        const finish = (): void => {
          running--;
          if (behaviour === 'ok') resolve();
          else reject(new SampleError('source_error', 'boom'));
        };
        if (behaviour === 'hang') {
          signal.addEventListener('abort', () => {
            running--;
            reject(signal.reason);
          });
        } else {
          setTimeout(finish, durationMs);
        }
      });
    },
    succeeded: (_result, duration) => events.push(`ok(${duration})`),
    failed: (error) => events.push(`failed:${error instanceof SampleError ? error.reason : 'other'}`),
    expired: () => events.push('expired'),
  };
  return { events, callbacks, signals, maxConcurrent: () => maxConcurrent };
}

describe('Scheduler', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('samples at start and then every interval on its own clock', async () => {
    const { events, callbacks } = recorder([]);
    const scheduler = new Scheduler({ intervalMs: 1000, timeoutMs: 500, maxAgeMs: 60_000 }, callbacks);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(3050);
    await scheduler.stop();
    expect(events.filter((e) => e.startsWith('start'))).toEqual(['start@0', 'start@1000', 'start@2000', 'start@3000']);
    expect(events).toContain('ok(0.1)');
  });

  test('never runs two samples at once when a sample is slower than the interval', async () => {
    const { events, callbacks, maxConcurrent } = recorder([], 2500);
    const scheduler = new Scheduler({ intervalMs: 1000, timeoutMs: 10_000, maxAgeMs: 60_000 }, callbacks);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(6000);
    await scheduler.stop();
    expect(maxConcurrent()).toBe(1);
    // The next sample starts as soon as the slow one ends (Node's timers add at most a millisecond), not on top of it.
    const starts = events.filter((e) => e.startsWith('start')).map((e) => Number(e.slice('start@'.length)));
    expect(starts).toHaveLength(3);
    starts.slice(1).forEach((start, i) => {
      expect(start - (starts[i] ?? 0)).toBeGreaterThanOrEqual(2500);
      expect(start - (starts[i] ?? 0)).toBeLessThanOrEqual(2502);
    });
  });

  test('a sample that exceeds the timeout is aborted, counted as timeout, and the next one runs', async () => {
    const { events, callbacks, signals } = recorder(['hang', 'ok']);
    const scheduler = new Scheduler({ intervalMs: 1000, timeoutMs: 300, maxAgeMs: 60_000 }, callbacks);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(1200);
    await scheduler.stop();
    expect(signals[0]?.aborted).toBe(true);
    expect(events).toEqual(['start@0', 'failed:timeout', 'start@1000', 'ok(0.1)']);
  });

  test('a failure is reported with its reason and sampling goes on', async () => {
    const { events, callbacks } = recorder(['fail', 'ok']);
    const scheduler = new Scheduler({ intervalMs: 1000, timeoutMs: 500, maxAgeMs: 60_000 }, callbacks);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(1200);
    await scheduler.stop();
    expect(events).toEqual(['start@0', 'failed:source_error', 'start@1000', 'ok(0.1)']);
  });

  test('the last good data expires once, after maxAge without success, and a later success revives it', async () => {
    const { events, callbacks } = recorder(['ok', 'fail', 'fail', 'fail', 'fail', 'ok', 'fail']);
    const scheduler = new Scheduler({ intervalMs: 1000, timeoutMs: 500, maxAgeMs: 2500 }, callbacks);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(5500);
    await scheduler.stop();
    // Success ends at 100; failures at 1100, 2100 (age 2000), 3100 (age 3000 > 2500 → expired), 4100 (no repeat).
    expect(events.filter((e) => !e.startsWith('start'))).toEqual(['ok(0.1)', 'failed:source_error', 'failed:source_error', 'failed:source_error', 'expired', 'failed:source_error', 'ok(0.1)']);
  });

  test('stop aborts the sample in flight and schedules nothing more', async () => {
    const { events, callbacks, signals } = recorder(['hang']);
    const scheduler = new Scheduler({ intervalMs: 1000, timeoutMs: 10_000, maxAgeMs: 60_000 }, callbacks);
    scheduler.start();
    await jest.advanceTimersByTimeAsync(10);
    await scheduler.stop();
    await jest.advanceTimersByTimeAsync(5000);
    expect(signals[0]?.aborted).toBe(true);
    expect(events).toEqual(['start@0']);
  });

  test('what a sample resolves with is handed to succeeded', async () => {
    const results: string[] = [];
    const scheduler = new Scheduler<string>({ intervalMs: 1000, timeoutMs: 500, maxAgeMs: 0 }, {
      sample: async () => 'made by the sample',
      succeeded: (result) => results.push(result),
      failed: () => undefined,
      expired: () => undefined,
    });
    scheduler.start();
    await jest.advanceTimersByTimeAsync(10);
    await scheduler.stop();
    expect(results).toEqual(['made by the sample']);
  });

  test('a slot is held until the sample has let go, past its timeout; the next sample waits for it', async () => {
    const slots = new Slots(1);
    const events: string[] = [];
    // Lets go 200 ms after its abort (a PowerShell process being replaced), then settles.
    const slow: SampleCallbacks<void> = {
      sample: (signal) => {
        events.push(`slow start@${Date.now()}`);
        return new Promise<void>((_, reject) => signal.addEventListener('abort', () => setTimeout(() => reject(signal.reason), 200)));
      },
      succeeded: () => undefined,
      failed: (error) => events.push(`slow ${error instanceof SampleError ? error.reason : 'other'}@${Date.now()}`),
      expired: () => undefined,
    };
    const quick: SampleCallbacks<void> = {
      sample: async () => void events.push(`quick start@${Date.now()}`),
      succeeded: () => undefined,
      failed: () => undefined,
      expired: () => undefined,
    };
    const a = new Scheduler({ intervalMs: 10_000, timeoutMs: 300, maxAgeMs: 0, slots }, slow);
    const b = new Scheduler({ intervalMs: 10_000, timeoutMs: 300, maxAgeMs: 0, slots }, quick);
    a.start();
    await jest.advanceTimersByTimeAsync(1);
    b.start();
    await jest.advanceTimersByTimeAsync(1000);
    await Promise.all([a.stop(), b.stop()]);
    // The slow sample's failure is reported at its timeout (300 ms); its slot is free only at 500 ms.
    expect(events).toEqual(['slow start@0', 'slow timeout@300', 'quick start@500']);
  });
});
