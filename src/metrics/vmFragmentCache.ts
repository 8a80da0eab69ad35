/**
 * What a collector rendered for each VM, kept from one render to the next and handed back while the
 * VM's inputs are the same. Inputs are compared one by one with ===; an object input counts only when
 * it is frozen (the host model freezes the parts it reuses between samples), so a reused rendering
 * can never be stale. Only the VMs of the last render are kept.
 */
export class VmFragmentCache {
  private current = new Map<string, Entry>();
  private previous = new Map<string, Entry>();

  /** Call at the start of each render, before the first get. */
  startRender(): void {
    this.previous = this.current;
    this.current = new Map();
  }

  /** Call at the end of each render: what the render did not use is forgotten. */
  endRender(): void {
    this.previous = new Map();
  }

  /** The fragments set for `id` with these very inputs in the last render, or undefined. */
  get(id: string, inputs: readonly unknown[]): readonly string[] | undefined {
    const entry = this.previous.get(id);
    if (entry === undefined || !sameInputs(entry.inputs, inputs)) return undefined;
    this.current.set(id, entry);
    return entry.fragments;
  }

  /** Remembers the fragments rendered for `id` from `inputs` (unless an input cannot be trusted to stay the same). */
  set(id: string, inputs: readonly unknown[], fragments: readonly string[]): void {
    for (const input of inputs) if (typeof input === 'object' && input !== null && !Object.isFrozen(input)) return;
    this.current.set(id, { inputs, fragments });
  }

  /** VMs remembered for the next render. */
  get size(): number {
    return this.current.size;
  }
}

interface Entry {
  readonly inputs: readonly unknown[];
  readonly fragments: readonly string[];
}

function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
