import { isIP } from 'node:net';
import type { Diagnostics } from '../document/diagnostics';
import { preview } from '../document/diagnostics';
import type { KvpItem } from '../document/kvp';
import type { Limits } from '../document/limits';
import type { GuestAddress } from './hostModel';

const LISTS = [
  ['NetworkAddressIPv4', 'ipv4', 4],
  ['NetworkAddressIPv6', 'ipv6', 6],
] as const;

/** 127.0.0.0/8 and ::1: the guest talking about itself, of no use to anyone outside. */
function isLoopback(family: 'ipv4' | 'ipv6', address: string): boolean {
  return family === 'ipv4' ? address.startsWith('127.') : address === '::1';
}

/** The canonical text of an address, so that one address is one series however the guest wrote it. */
function canonical(family: 'ipv4' | 'ipv6', address: string): string {
  return family === 'ipv4' ? address : new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * The guest's addresses from its intrinsic KVP items NetworkAddressIPv4 and NetworkAddressIPv6, as
 * Linux and FreeBSD daemons and Windows write them: `;`-separated, sometimes with a trailing `;`,
 * IPv6 with a zone index (`fe80::1%6`, dropped). Written by the guest, so each entry must parse as an
 * address of its family (the rest are counted as guest_address_invalid); loopback is left out,
 * repeats are kept once, and at most maxGuestAddressesPerVm are kept (the rest are counted).
 */
export function guestAddressesFrom(items: readonly KvpItem[], limits: Limits, diagnostics: Diagnostics): GuestAddress[] {
  const addresses: GuestAddress[] = [];
  const seen = new Set<string>();
  let overLimit = 0;
  for (const [name, family, version] of LISTS) {
    const list = items.find((item) => item.name === name)?.data;
    if (list === undefined) continue;
    for (const entry of list.split(';')) {
      const trimmed = entry.trim();
      if (trimmed === '') continue;
      const address = family === 'ipv6' ? trimmed.replace(/%[^%]*$/, '') : trimmed;
      if (isIP(address) !== version) {
        diagnostics.drop('guest_address_invalid', `${name} entry ${preview(trimmed)}`);
        continue;
      }
      const text = canonical(family, address);
      if (isLoopback(family, text) || seen.has(text)) continue;
      seen.add(text);
      if (addresses.length < limits.maxGuestAddressesPerVm) addresses.push({ family, address: text });
      else overLimit++;
    }
  }
  if (overLimit > 0) diagnostics.drop('guest_address_over_limit', `${overLimit + limits.maxGuestAddressesPerVm} addresses`, overLimit);
  return addresses;
}
