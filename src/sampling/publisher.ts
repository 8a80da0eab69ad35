import { compressBody, type CurrentSample, type HostState } from './currentSample';

/**
 * Keeps a host's current sample and publishes each new state as one: its body rendered once and
 * compressed once, then handed to every listener. A state published while an older one is still being
 * rendered wins: the older one is dropped.
 */
export class Publisher {
  private published: CurrentSample | null = null;
  private generation = 0;
  private readonly listeners: Array<(sample: CurrentSample) => void> = [];

  constructor(
    /** The exposition a state's body is made of. */
    private readonly bodyText: (state: HostState) => Promise<string>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The last published sample; null until the first state has been published. */
  get current(): CurrentSample | null {
    return this.published;
  }

  /** Calls `listener` with each newly published sample, until the returned function is called. */
  onPublish(listener: (sample: CurrentSample) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** Renders and compresses `state`, then makes it the current sample (unless a newer state came meanwhile). */
  async publish(state: HostState): Promise<void> {
    const generation = ++this.generation;
    try {
      const body = await compressBody(await this.bodyText(state));
      if (generation !== this.generation) return;
      this.published = { ...state, body };
      for (const listener of [...this.listeners]) listener(this.published);
    } catch (error) {
      this.onError(error);
    }
  }
}
