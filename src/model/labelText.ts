import { detachedPrefix } from '../document/detachedPrefix';
import type { Diagnostics } from '../document/diagnostics';

// Lone surrogates cannot be written as UTF-8; JSON.parse lets them through from "\ud800" escapes.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// Control characters make labels unreadable in every UI and break naive log parsing.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/g;

/**
 * Makes a string written by a guest (or an admin) safe as a label value: well-formed UTF-16, no control
 * characters, at most `maxLength` code points (cut values are counted as label_truncated).
 */
export function toLabelText(value: string, maxLength: number, diagnostics: Diagnostics, what: string): string {
  let text = value;
  // Cut before cleaning so that a huge name is never copied whole; UTF-16 length is never below the
  // code point count, so short strings skip the walk.
  if (text.length > maxLength) {
    let end = 0;
    let count = 0;
    for (const codePoint of text) {
      if (count === maxLength) break;
      count++;
      end += codePoint.length;
    }
    if (end < text.length) {
      text = detachedPrefix(text, end);
      diagnostics.drop('label_truncated', `${what} longer than ${maxLength} characters`);
    }
  }
  // Each replacement swaps one code unit for one, so cleaning after cutting gives the same text.
  return text.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL, ' ');
}
