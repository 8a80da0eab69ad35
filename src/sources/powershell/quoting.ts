import { isIPv4, isIPv6 } from 'node:net';

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

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** IPv6 with an optional zone index; the zone is kept to letters and digits (interface names or numbers). */
const IPV6_CHARACTERS = /^[0-9A-Fa-f:.]+(?:%[0-9A-Za-z]+)?$/;

export class InvalidComputerNameError extends Error {
  constructor(value: string, why: string) {
    super(`invalid --powershell.computer-name ${JSON.stringify(value)}: ${why} (expected a DNS name, an IPv4 or an IPv6 address)`);
    this.name = 'InvalidComputerNameError';
  }
}

/**
 * Checks a `--powershell.computer-name` value and returns it in the form passed to New-CimSession:
 * a DNS host name (letters, digits, hyphens; a trailing dot is dropped), an IPv4 address, or an IPv6
 * address (surrounding brackets are dropped). Anything else is refused, so that no configuration value
 * can carry PowerShell syntax even before it is quoted.
 */
export function validateComputerName(value: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new InvalidComputerNameError(value, 'it is empty');

  const unbracketed = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  if (isIPv6(unbracketed)) {
    if (!IPV6_CHARACTERS.test(unbracketed)) throw new InvalidComputerNameError(value, 'the IPv6 zone index may only hold letters and digits');
    return unbracketed;
  }
  if (unbracketed !== trimmed) throw new InvalidComputerNameError(value, 'brackets are only allowed around an IPv6 address');
  if (isIPv4(trimmed)) return trimmed;

  const name = trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
  if (name.length > 253) throw new InvalidComputerNameError(value, 'a DNS name has at most 253 characters');
  const labels = name.split('.');
  for (const label of labels) {
    if (!DNS_LABEL.test(label)) {
      throw new InvalidComputerNameError(value, `${JSON.stringify(label)} is not a DNS label (1-63 letters, digits or inner hyphens)`);
    }
  }
  // "10.0.0.300" is made of valid labels but is a mistyped address, not a host name.
  if (labels.every((label) => /^[0-9]+$/.test(label))) throw new InvalidComputerNameError(value, 'it is not a valid IPv4 address');
  return name;
}
