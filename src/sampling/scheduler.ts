import { SampleError } from '../contract/sample';
import type { Slots } from '../contract/slots';

export interface SchedulerOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** 0: the last good data never expires. */
  readonly maxAgeMs: number;
  /**
   * Shared by every host's scheduler: a sample starts only in a free slot, and holds it until its work
   * has ended, past its timeout if the source is slow to let go (default: no bound).
   */
  readonly slots?: Slots;
  readonly now?: () => number;
}

/** What the scheduler runs, and tells of each sample's outcome; `T` is what a sample hands to `succeeded`. */
export interface SampleCallbacks<T> {
  /** One sample; resolves with what it made, rejects on failure. Must stop its work when `signal` aborts (the sample timed out). */
  sample(signal: AbortSignal): Promise<T>;
  /** The sample resolved within the timeout, with `result`. */
  succeeded(result: T, durationSeconds: number): void;
  failed(error: unknown, durationSeconds: number): void;
  /** The last good sample is older than maxAge: its data must no longer be served. */
  expired(): void;
}

/**
 * Owns time: samples at start and then every interval on its own clock, never two at once, gives
 * each sample at most timeoutMs, and expires the last good data after maxAgeMs without success.
 * Scrapes never go through here.
 */
export class Scheduler<T> {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: { controller: AbortController; done: Promise<void> } | null = null;
  /** Aborted by stop(): a sample still waiting for a slot gives up. */
  private stopping = new AbortController();
  private lastSuccessAt: number | null = null;
  private lastStartedAt = 0;
  private expiredSent = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly options: SchedulerOptions,
    private readonly callbacks: SampleCallbacks<T>,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.stopping = new AbortController();
    this.schedule(0);
  }

  /** Stops sampling and aborts a sample in flight; resolves once that sample has settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new SampleError('timeout', 'exporter is stopping'));
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const inFlight = this.inFlight;
    if (inFlight !== null) {
      inFlight.controller.abort(new SampleError('timeout', 'exporter is stopping'));
      await inFlight.done;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce();
    }, delayMs);
  }

  private async runOnce(): Promise<void> {
    let release = (): void => undefined;
    if (this.options.slots !== undefined) {
      try {
        release = await this.options.slots.acquire(this.stopping.signal);
      } catch {
        return; // stopped while waiting for a slot
      }
    }
    await this.sampleInSlot(release);
    this.expireIfStale();
    this.schedule(Math.max(0, this.lastStartedAt + this.options.intervalMs - this.now()));
  }

  /** One sample: its outcome is reported when it settles or times out; the slot is released when its work has ended. */
  private async sampleInSlot(release: () => void): Promise<void> {
    const startedAt = this.now();
    this.lastStartedAt = startedAt;
    const controller = new AbortController();
    // Settles as soon as the sample is aborted, by the timeout or by stop(), whether or not the
    // source honours the signal: neither the next sample nor shutdown waits for a stuck source.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    const timeout = setTimeout(() => {
      controller.abort(new SampleError('timeout', `sample took longer than ${this.options.timeoutMs} ms`));
    }, this.options.timeoutMs);
    const attempt = this.callbacks.sample(controller.signal);
    // What the slot stands for (a PowerShell process, say) is in use until the source has let go; this
    // also keeps a sample that ignores the abort from surfacing as an unhandled rejection later.
    attempt.then(release, release);
    const done = Promise.race([attempt, aborted]).then(
      (result) => {
        this.lastSuccessAt = this.now();
        this.expiredSent = false;
        this.callbacks.succeeded(result, (this.now() - startedAt) / 1000);
      },
      (error: unknown) => {
        if (!this.stopped) this.callbacks.failed(error, (this.now() - startedAt) / 1000);
      },
    );
    this.inFlight = { controller, done };
    await done;
    clearTimeout(timeout);
    this.inFlight = null;
  }

  private expireIfStale(): void {
    if (this.options.maxAgeMs === 0 || this.lastSuccessAt === null || this.expiredSent) return;
    if (this.now() - this.lastSuccessAt > this.options.maxAgeMs) {
      this.expiredSent = true;
      this.callbacks.expired();
    }
  }
}
