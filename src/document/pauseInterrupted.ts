/** What a pause between slices of work threw (an abort, say): passed on as it is, not taken for a parse error. */
export class PauseInterrupted extends Error {
  constructor(override readonly cause: unknown) {
    super('interrupted between slices', { cause });
  }
}
