/**
 * The first `end` UTF-16 code units of `text` as a string of their own. V8 represents `slice` as a
 * view that keeps the whole original alive, so a 128-character label cut from a 10 MB name would
 * retain 10 MB for as long as the label lives; copying the code units breaks that link.
 */
export function detachedPrefix(text: string, end: number): string {
  return Buffer.from(text.slice(0, end), 'utf16le').toString('utf16le');
}
