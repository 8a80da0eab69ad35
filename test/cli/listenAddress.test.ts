import { createServer, type Server } from 'node:net';
import { listenFailure, parseListenAddress, readListenAddress } from '../../src/cli/listenAddress';

function errorWithCode(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen ${code}`), { code });
}

describe('--web.listen-address', () => {
  test.each([
    [':10062', { host: '', port: 10062 }],
    ['0.0.0.0:10062', { host: '0.0.0.0', port: 10062 }],
    ['[::1]:9999', { host: '::1', port: 9999 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ])('%s', (text, address) => {
    expect(parseListenAddress(text)).toEqual(address);
    expect(readListenAddress(text)).toEqual(address);
  });
});

// Issue #20, item 2: a port in use (or not allowed, or not here) names the flag, the address and the fix.
describe('a listen() that fails: one line naming --web.listen-address', () => {
  test.each([
    [
      'EADDRINUSE',
      'linux',
      { host: '127.0.0.1', port: 10062 },
      "--web.listen-address=127.0.0.1:10062: port 10062 is already in use (EADDRINUSE); stop what listens there (ss -ltnp 'sport = :10062' shows it) or give another port",
    ],
    [
      'EADDRINUSE',
      'win32',
      { host: '', port: 10062 },
      '--web.listen-address=:10062: port 10062 is already in use (EADDRINUSE); stop what listens there (Get-NetTCPConnection -LocalPort 10062 shows it) or give another port',
    ],
    [
      'EACCES',
      'linux',
      { host: '', port: 80 },
      '--web.listen-address=:80: permission denied (EACCES): ports below 1024 need root or CAP_NET_BIND_SERVICE; give another port, such as the default 10062',
    ],
    [
      'EACCES',
      'win32',
      { host: '', port: 50000 },
      '--web.listen-address=:50000: permission denied (EACCES): port 50000 is reserved or taken (netsh interface ipv4 show excludedportrange protocol=tcp lists the reserved ranges); give another port, such as the default 10062',
    ],
    [
      'EADDRNOTAVAIL',
      'linux',
      { host: '::2', port: 10062 },
      '--web.listen-address=[::2]:10062: ::2 is not an address of this machine (EADDRNOTAVAIL); give one of its addresses, or none (--web.listen-address=:10062) to listen on all of them',
    ],
    [
      'ENOTFOUND',
      'linux',
      { host: 'nosuchhost', port: 10062 },
      '--web.listen-address=nosuchhost:10062: the host name nosuchhost does not resolve (ENOTFOUND); give an IP address of this machine, or no host (--web.listen-address=:10062) to listen on all of them',
    ],
  ] as const)('%s on %s', (code, platform, address, line) => {
    expect(listenFailure(errorWithCode(code), address, platform)).toBe(line);
  });

  test('another error keeps its own message', () => {
    expect(listenFailure(errorWithCode('EMFILE'), { host: '', port: 1 }, 'linux')).toBeNull();
    expect(listenFailure(new Error('no code'), { host: '', port: 1 }, 'linux')).toBeNull();
  });

  test('the error of a real listen() on a port in use', async () => {
    const first: Server = createServer();
    await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
    const port = (first.address() as { port: number }).port;
    const second = createServer();
    const error = await new Promise<unknown>((resolve) => {
      second.once('error', resolve);
      second.listen(port, '127.0.0.1');
    });
    first.close();
    expect(listenFailure(error, { host: '127.0.0.1', port }, 'linux')).toBe(
      `--web.listen-address=127.0.0.1:${port}: port ${port} is already in use (EADDRINUSE); stop what listens there (ss -ltnp 'sport = :${port}' shows it) or give another port`,
    );
  });
});
