import { SharedRender } from '../../src/metrics/sharedRender';

describe('SharedRender', () => {
  function setup(options: { maxAgeMs?: number; version?: () => unknown } = {}) {
    let now = 0;
    let renders = 0;
    let fail = false;
    const shared = new SharedRender(
      async () => {
        renders++;
        if (fail) throw new Error('render failed');
        return `text ${renders}`;
      },
      { ...options, now: () => now },
    );
    return { shared, renders: () => renders, advance: (ms: number) => (now += ms), failNext: (value: boolean) => (fail = value) };
  }

  test('renders once for all callers within maxAgeMs, callers during a render included', async () => {
    const { shared, renders, advance } = setup({ maxAgeMs: 1000 });
    const [a, b] = await Promise.all([shared.get(), shared.get()]);
    expect([a, b, renders()]).toEqual(['text 1', 'text 1', 1]);
    advance(999);
    expect(await shared.get()).toBe('text 1');
    advance(1);
    expect(await shared.get()).toBe('text 2');
  });

  test('renders again when the version changes, or after invalidate()', async () => {
    let version = 1;
    const { shared } = setup({ version: () => version });
    expect(await shared.get()).toBe('text 1');
    version = 2;
    expect(await shared.get()).toBe('text 2');
    expect(await shared.get()).toBe('text 2');
    shared.invalidate();
    expect(await shared.get()).toBe('text 3');
  });

  test('a failed render is not shared: the next caller renders again', async () => {
    const { shared, failNext } = setup();
    failNext(true);
    await expect(shared.get()).rejects.toThrow('render failed');
    failNext(false);
    expect(await shared.get()).toBe('text 2');
  });
});
