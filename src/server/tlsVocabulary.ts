/**
 * The names exporter-toolkit web config files use for TLS settings (Go's crypto/tls names) and what
 * they mean to Node.js / OpenSSL. Kept in one place so the config loader and the docs agree.
 */
import type { SecureVersion } from 'node:tls';

/** exporter-toolkit `client_auth_type` values (Go's tls.ClientAuthType names). */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** exporter-toolkit still accepts this old spelling of RequireAnyClientCert; so do we. */
export const LEGACY_CLIENT_AUTH_ALIASES: Readonly<Record<string, ClientAuthType>> = {
  RequireClientCert: 'RequireAnyClientCert',
};

/** Client auth types under which the client certificate is checked against client_ca_file. */
export const VERIFYING_CLIENT_AUTH_TYPES: ReadonlySet<ClientAuthType> = new Set<ClientAuthType>([
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
]);

/** Client auth types under which a connection without a client certificate is refused. */
export const CERTIFICATE_REQUIRING_CLIENT_AUTH_TYPES: ReadonlySet<ClientAuthType> = new Set<ClientAuthType>([
  'RequireAnyClientCert',
  'RequireAndVerifyClientCert',
]);

/**
 * `min_version` / `max_version` values. TLS10 and TLS11 are exporter-toolkit names, but OpenSSL 3 (as
 * built into Node.js) refuses those protocols at its default security level, so accepting them would
 * promise something the server cannot do: the loader rejects them with this explanation.
 */
export const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
export const UNSUPPORTED_TLS_VERSIONS: ReadonlySet<string> = new Set(['TLS10', 'TLS11']);
export const UNSUPPORTED_TLS_VERSION_REASON =
  'TLS 1.0 and 1.1 are refused by OpenSSL 3 in Node.js at its default security level; use TLS12 or TLS13';

/** Orders versions so min_version <= max_version can be checked. */
export function tlsVersionRank(version: SecureVersion): number {
  return ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'].indexOf(version);
}

/**
 * `cipher_suites` values exporter-toolkit accepts for TLS 1.2 (IANA names, as Go spells them) and
 * their OpenSSL names.
 */
export const TLS12_CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
};

/**
 * TLS 1.3 suite names Go accepts in `cipher_suites` but never applies (TLS 1.3 suites are not
 * configurable in Go). We accept them the same way so existing files keep loading; docs/security.md
 * says so.
 */
export const TLS13_CIPHER_SUITES: ReadonlySet<string> = new Set([
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
]);

/** `curve_preferences` values (Go's tls.CurveID names) and their OpenSSL group names. */
export const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};
