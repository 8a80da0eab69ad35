import { linkSignals } from '../../src/contract/abort';
import { retainedHeap } from '../helpers/memory';

describe('linkSignals', () => {
  test('aborts with the reason of whichever signal aborts first, once', () => {
    const first = new AbortController();
    const second = new AbortController();
    const linked = linkSignals(first.signal, second.signal);
    expect(linked.signal.aborted).toBe(false);
    second.abort('second');
    first.abort('first');
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('second');
  });

  test('a signal already aborted aborts the link at once', () => {
    const linked = linkSignals(new AbortController().signal, AbortSignal.abort('gone'));
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('gone');
    linked.dispose();
  });

  test('after dispose, the sources no longer reach the link', () => {
    const source = new AbortController();
    const linked = linkSignals(source.signal);
    linked.dispose();
    source.abort('late');
    expect(linked.signal.aborted).toBe(false);
  });

  test('a long-lived source keeps nothing of the links made and disposed on it (AbortSignal.any, measured the same way, does)', async () => {
    const lifetime = new AbortController();
    const LINKS = 100_000;
    const growth = async (link: () => void): Promise<number> => {
      const before = await retainedHeap();
      for (let i = 0; i < LINKS; i++) link();
      return (await retainedHeap()) - before;
    };
    const anyGrowth = await growth(() => {
      AbortSignal.any([new AbortController().signal, lifetime.signal]);
    });
    const linkedGrowth = await growth(() => linkSignals(new AbortController().signal, lifetime.signal).dispose());
    // About 60 bytes a link stay with AbortSignal.any in Node 20: the measurement can see a leak.
    if (anyGrowth > 2 * 1024 * 1024) expect(linkedGrowth).toBeLessThan(anyGrowth / 10);
    expect(linkedGrowth).toBeLessThan(512 * 1024);
  });
});
