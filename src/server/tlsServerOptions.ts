/**
 * Turns a loaded TLS config into Node.js server options, plus the client-certificate checks that
 * OpenSSL cannot make on its own during the handshake (Go's RequireAnyClientCert and
 * VerifyClientCertIfGiven have no direct OpenSSL flag, nor does exporter-toolkit's client_allowed_sans).
 */
import { isIPv6 } from 'node:net';
import type { ServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { TlsServerConfig } from './webConfig';

export function secureServerOptions(tls: TlsServerConfig, handshakeTimeoutMs: number): ServerOptions {
  return {
    cert: tls.certificatePem,
    key: tls.privateKeyPem,
    ...(tls.clientCaPem === undefined ? {} : { ca: tls.clientCaPem }),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ...(tls.tls12CipherList === undefined ? {} : { ciphers: tls.tls12CipherList }),
    ...(tls.curveList === undefined ? {} : { ecdhCurve: tls.curveList }),
    honorCipherOrder: tls.preferServerCipherSuites,
    requestCert: tls.clientAuthType !== 'NoClientCert',
    // Only this mode lets OpenSSL itself refuse the handshake; the others are checked afterwards.
    rejectUnauthorized: tls.clientAuthType === 'RequireAndVerifyClientCert',
    handshakeTimeout: handshakeTimeoutMs,
    // The server speaks HTTP/1.1 only; saying so in ALPN keeps HTTP/2 clients from trying h2.
    ALPNProtocols: ['http/1.1'],
  };
}

/**
 * Why an established TLS connection must be closed before any request is read, or undefined if it
 * may proceed. Called once per connection, right after the handshake.
 */
export function clientCertificateRejection(socket: TLSSocket, tls: TlsServerConfig): string | undefined {
  const certificate = socket.getPeerX509Certificate();
  switch (tls.clientAuthType) {
    case 'RequireAnyClientCert':
      if (certificate === undefined) return 'no client certificate';
      break;
    case 'VerifyClientCertIfGiven':
      if (certificate !== undefined && !socket.authorized) {
        return `client certificate not verified (${String(socket.authorizationError)})`;
      }
      break;
    case 'NoClientCert':
    case 'RequestClientCert':
    case 'RequireAndVerifyClientCert':
      break;
  }
  if (tls.clientAllowedSans !== undefined) {
    const sans = parseSubjectAltNames(certificate?.subjectAltName);
    const allowed = new Set(tls.clientAllowedSans.map(canonicalSan));
    if (!sans.some((san) => allowed.has(san))) return 'client certificate has none of client_allowed_sans';
  }
  return undefined;
}

/**
 * The values of Node's `subjectAltName` string ("DNS:a, IP Address:1.2.3.4, email:x, URI:y"), in
 * the form Go prints them, since that is what exporter-toolkit users write in client_allowed_sans.
 * Node quotes a value as a JSON string when it contains a separator.
 */
function parseSubjectAltNames(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const entry = /([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  const values: string[] = [];
  let match: RegExpExecArray | null;
  while (entry.lastIndex < subjectAltName.length && (match = entry.exec(subjectAltName)) !== null) {
    const rawValue = match[2] ?? '';
    const value = rawValue.startsWith('"') ? (JSON.parse(rawValue) as string) : rawValue;
    values.push(canonicalSan(value));
  }
  return values;
}

/** OpenSSL prints IPv6 addresses uncompressed, Go compressed; compare them compressed. */
function canonicalSan(value: string): string {
  return isIPv6(value) ? new URL(`http://[${value}]/`).hostname.slice(1, -1) : value;
}
