import { isIPv4, isIPv6 } from 'node:net';

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** IPv6 with an optional zone index; the zone is kept to letters and digits (interface names or numbers). */
const IPV6_CHARACTERS = /^[0-9A-Fa-f:.]+(?:%[0-9A-Za-z]+)?$/;

/** Why a host address is refused; the caller says where the value came from. */
export class InvalidHostAddressError extends Error {
  constructor(value: string, why: string) {
    super(`${abbreviate(value)} is not a host address: ${why} (expected a DNS name, an IPv4 or an IPv6 address)`);
    this.name = 'InvalidHostAddressError';
  }
}

/** A value as JSON, cut to its first characters: error lines stay short whatever was given. */
export function abbreviate(value: string, maxLength = 80): string {
  return value.length <= maxLength ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, maxLength))}… (${value.length} characters)`;
}

/**
 * Checks the address of a Hyper-V host (`--powershell.computer-name`, a configured host's `address`, a
 * cluster node's name) and returns it in the form passed to New-CimSession:
 * a DNS host name (letters, digits, hyphens; a trailing dot is dropped), an IPv4 address, or an IPv6
 * address (surrounding brackets are dropped). Anything else is refused, so that no configuration value
 * can carry PowerShell syntax even before it is quoted.
 */
export function validateHostAddress(value: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new InvalidHostAddressError(value, 'it is empty');

  const unbracketed = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  if (isIPv6(unbracketed)) {
    if (!IPV6_CHARACTERS.test(unbracketed)) throw new InvalidHostAddressError(value, 'the IPv6 zone index may only hold letters and digits');
    return unbracketed;
  }
  if (unbracketed !== trimmed) throw new InvalidHostAddressError(value, 'brackets are only allowed around an IPv6 address');
  if (isIPv4(trimmed)) return trimmed;

  const name = trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
  if (name.length > 253) throw new InvalidHostAddressError(value, 'a DNS name has at most 253 characters');
  const labels = name.split('.');
  for (const label of labels) {
    if (!DNS_LABEL.test(label)) {
      throw new InvalidHostAddressError(value, `${abbreviate(label)} is not a DNS label (1-63 letters, digits or inner hyphens)`);
    }
  }
  // "10.0.0.300" is made of valid labels but is a mistyped address, not a host name.
  if (labels.every((label) => /^[0-9]+$/.test(label))) throw new InvalidHostAddressError(value, 'it is not a valid IPv4 address');
  return name;
}
