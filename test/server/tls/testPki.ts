/**
 * A throwaway PKI made with the openssl CLI for one test file: a CA, a server certificate for
 * 127.0.0.1/localhost and a client certificate it signed, and a foreign CA with a client
 * certificate it signed (trusted by nobody). EC P-256 keys keep generation well under a second.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly directory: string;
  /** File names relative to `directory`, as a web config next to them would reference them. */
  readonly files: {
    readonly caCertificate: string;
    readonly serverCertificate: string;
    readonly serverKey: string;
    readonly clientCertificate: string;
    readonly clientKey: string;
    readonly foreignCaCertificate: string;
    readonly foreignClientCertificate: string;
    readonly foreignClientKey: string;
  };
  /** Absolute path of one of `files`. */
  path(name: keyof TestPki['files']): string;
  /** Contents of one of `files`. */
  read(name: keyof TestPki['files']): Buffer;
  remove(): void;
}

/** SAN of the trusted client certificate, for client_allowed_sans tests. */
export const CLIENT_SAN = 'prometheus.example';
/** SAN of the foreign client certificate. */
export const FOREIGN_CLIENT_SAN = 'intruder.example';

export function createTestPki(): TestPki {
  const directory = mkdtempSync(join(tmpdir(), 'hyperv-ic-exporter-pki-'));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  const makeCa = (name: string): void => {
    openssl('req', '-x509', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
  };
  const makeLeaf = (name: string, ca: string, extensions: string): void => {
    openssl('req', '-new', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(join(directory, `${name}.ext`), extensions);
    openssl(
      'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`,
    );
  };

  makeCa('ca');
  makeLeaf('server', 'ca', 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeLeaf('client', 'ca', `basicConstraints=CA:FALSE\nsubjectAltName=DNS:${CLIENT_SAN}\nextendedKeyUsage=clientAuth\n`);
  makeCa('foreign-ca');
  makeLeaf(
    'foreign-client',
    'foreign-ca',
    `basicConstraints=CA:FALSE\nsubjectAltName=DNS:${FOREIGN_CLIENT_SAN}\nextendedKeyUsage=clientAuth\n`,
  );

  const files = {
    caCertificate: 'ca.pem',
    serverCertificate: 'server.pem',
    serverKey: 'server.key',
    clientCertificate: 'client.pem',
    clientKey: 'client.key',
    foreignCaCertificate: 'foreign-ca.pem',
    foreignClientCertificate: 'foreign-client.pem',
    foreignClientKey: 'foreign-client.key',
  };
  return {
    directory,
    files,
    path: (name) => join(directory, files[name]),
    read: (name) => readFileSync(join(directory, files[name])),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}
