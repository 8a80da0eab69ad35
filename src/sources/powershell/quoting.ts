/**
 * Building PowerShell command lines from values. node-powershell's `$` template tag does not escape
 * (wmi.md §11), so every value the exporter puts into a command goes through these functions instead.
 * Every command is also sent as one line, because PowerShell reads `-Command -` input line by line.
 */

/**
 * PowerShell ends a single-quoted string at any of these characters, not only at the ASCII apostrophe
 * (the tokenizer treats the typographic single quotes as quotes too); inside the string each is escaped
 * by doubling it.
 */
const SINGLE_QUOTE_CHARACTERS = /['\u2018\u2019\u201A\u201B]/g;

/** Characters that would split the one-line command, or that have no business in a quoted value. */
const LINE_BREAKING_OR_CONTROL = /[\u0000-\u001F\u007F\u0085\u2028\u2029]/;

/**
 * A verbatim single-quoted PowerShell string literal: no variable expansion, no subexpressions, no
 * backtick escapes. Throws for control characters (a newline would end the command line early).
 */
export function quotePowerShellString(value: string): string {
  if (LINE_BREAKING_OR_CONTROL.test(value)) {
    throw new Error(`cannot quote a value containing control or line-break characters for PowerShell: ${JSON.stringify(value)}`);
  }
  return `'${value.replace(SINGLE_QUOTE_CHARACTERS, (quote) => quote + quote)}'`;
}

/**
 * A one-line PowerShell expression that evaluates to exactly `value`, whatever it contains. Printable
 * ASCII becomes a quoted literal; anything else travels as base64, because Windows PowerShell decodes
 * stdin in the console code page, which garbles non-ASCII text such as a path under C:\Users\Jürgen.
 */
export function powerShellStringExpression(value: string): string {
  if (/^[\u0020-\u007E]*$/.test(value)) return quotePowerShellString(value);
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  return `([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${base64}')))`;
}
