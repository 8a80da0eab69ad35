import { InvalidHostAddressError, validateHostAddress } from '../contract/hostAddress';
import { got, ValueProblem } from './values';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** `:10062`, `0.0.0.0:10062`, `127.0.0.1:0`, `[::1]:10062`, `localhost:10062` → host and port. */
export function parseListenAddress(text: string): ListenAddress | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  if (match === null) return null;
  const port = Number(match[3]);
  if (port > 65535) return null;
  return { host: match[1] ?? match[2] ?? '', port };
}

/** --web.listen-address as a person gives it, checked: the host must be an address or a DNS name. */
export function readListenAddress(text: string): ListenAddress {
  const address = parseListenAddress(text);
  if (address === null) {
    const port = /:(\d+)$/.exec(text)?.[1];
    if (port !== undefined && Number(port) > 65535 && parseListenAddress(text.replace(/\d+$/, '0')) !== null) {
      throw new ValueProblem(`must have a port from 0 to 65535, ${got(text)}`);
    }
    throw new ValueProblem(`must be [host]:port such as :10062, 127.0.0.1:10062 or [::1]:10062, ${got(text)}`);
  }
  try {
    if (address.host !== '') validateHostAddress(address.host);
  } catch (error) {
    if (error instanceof InvalidHostAddressError) throw new ValueProblem(error.message);
    throw error;
  }
  return address;
}

/**
 * The line a failed listen() ends the exporter with: the flag, the address, what went wrong and
 * what to do, for the errors a person can fix; null for any other error (its own message is shown).
 */
export function listenFailure(error: unknown, address: ListenAddress, platform: NodeJS.Platform = process.platform): string | null {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  const where = `--web.listen-address=${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  const port = address.port;
  switch (code) {
    case 'EADDRINUSE': {
      const find = platform === 'win32' ? `Get-NetTCPConnection -LocalPort ${port}` : `ss -ltnp 'sport = :${port}'`;
      return `${where}: port ${port} is already in use (EADDRINUSE); stop what listens there (${find} shows it) or give another port`;
    }
    case 'EACCES': {
      const why =
        platform === 'win32'
          ? `port ${port} is reserved or taken (netsh interface ipv4 show excludedportrange protocol=tcp lists the reserved ranges)`
          : port < 1024
            ? `ports below 1024 need root or CAP_NET_BIND_SERVICE`
            : `the system does not allow this account to listen on port ${port}`;
      return `${where}: permission denied (EACCES): ${why}; give another port, such as the default 10062`;
    }
    case 'EADDRNOTAVAIL':
      return `${where}: ${address.host} is not an address of this machine (EADDRNOTAVAIL); give one of its addresses, or none (--web.listen-address=:${port}) to listen on all of them`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return `${where}: the host name ${address.host} does not resolve (${code}); give an IP address of this machine, or no host (--web.listen-address=:${port}) to listen on all of them`;
    default:
      return null;
  }
}
