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
  let text = value.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL, ' ');
  // Fast path: UTF-16 length is never below the code point count.
  if (text.length > maxLength) {
    const codePoints = Array.from(text);
    if (codePoints.length > maxLength) {
      text = codePoints.slice(0, maxLength).join('');
      diagnostics.drop('label_truncated', `${what} longer than ${maxLength} characters`);
    }
  }
  return text;
}
