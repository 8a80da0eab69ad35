/**
 * Loads a `--web.config.file` in the exporter-toolkit format (docs/security.md), so the files
 * Prometheus users already have for node_exporter & co. work here unchanged. Everything is checked
 * once, at start, including the certificates and keys it names; a problem is reported as one line
 * naming the file and the key. What this exporter cannot honour is refused, never silently ignored.
 */
import { readFile } from 'node:fs/promises';
import { validateHeaderValue } from 'node:http';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureVersion } from 'node:tls';
import { YAMLError, parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  keyBelongsToCertificate,
  parseCertificateBundle,
  parseLeafCertificate,
  parsePrivateKey,
} from './tlsMaterial';
import {
  CERTIFICATE_REQUIRING_CLIENT_AUTH_TYPES,
  CLIENT_AUTH_TYPES,
  CURVES,
  LEGACY_CLIENT_AUTH_ALIASES,
  TLS12_CIPHER_SUITES,
  TLS13_CIPHER_SUITES,
  TLS_VERSIONS,
  UNSUPPORTED_TLS_VERSIONS,
  UNSUPPORTED_TLS_VERSION_REASON,
  VERIFYING_CLIENT_AUTH_TYPES,
  tlsVersionRank,
  type ClientAuthType,
} from './tlsVocabulary';

export type { ClientAuthType } from './tlsVocabulary';

export interface TlsServerConfig {
  /** PEM: the server certificate, optionally followed by its intermediates. */
  readonly certificatePem: Buffer;
  readonly privateKeyPem: Buffer;
  /** PEM bundle that client certificates are verified against. */
  readonly clientCaPem: Buffer | undefined;
  readonly clientAuthType: ClientAuthType;
  /** When set, a client certificate must carry one of these SANs (DNS, IP, e-mail or URI). */
  readonly clientAllowedSans: readonly string[] | undefined;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL cipher list for TLS 1.2; undefined keeps the Node.js defaults. */
  readonly tls12CipherList: string | undefined;
  /** OpenSSL group list; undefined keeps the Node.js defaults. */
  readonly curveList: string | undefined;
  readonly preferServerCipherSuites: boolean;
}

export interface WebConfig {
  /** Absolute path of the file this was loaded from, for log lines. */
  readonly path: string;
  /** Undefined: serve plain HTTP. */
  readonly tls: TlsServerConfig | undefined;
  /** Username → bcrypt hash. Empty: no basic auth. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** Added to every response. */
  readonly responseHeaders: ReadonlyMap<string, string>;
  /** `http2: true` was written explicitly; the server only speaks HTTP/1.1 and says so at start. */
  readonly http2Requested: boolean;
}

/** A web config problem, as one line: `web config "<file>": <key>: <reason>`. */
export class WebConfigError extends Error {
  constructor(
    readonly configPath: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`web config "${configPath}": ${key}: ${oneLine(reason)}`);
    this.name = 'WebConfigError';
  }
}

const optionalString = z.string().nullish();
const optionalStringList = z.array(z.string()).nullish();

const tlsServerConfigSchema = z.strictObject({
  cert: optionalString,
  key: optionalString,
  client_ca: optionalString,
  cert_file: optionalString,
  key_file: optionalString,
  client_auth_type: optionalString,
  client_ca_file: optionalString,
  client_allowed_sans: optionalStringList,
  min_version: optionalString,
  max_version: optionalString,
  cipher_suites: optionalStringList,
  prefer_server_cipher_suites: z.boolean().nullish(),
  curve_preferences: optionalStringList,
});
type TlsServerConfigDocument = z.infer<typeof tlsServerConfigSchema>;

const webConfigSchema = z
  .strictObject({
    tls_server_config: tlsServerConfigSchema.nullish(),
    http_server_config: z
      .strictObject({
        http2: z.boolean().nullish(),
        headers: z.record(z.string(), z.string()).nullish(),
      })
      .nullish(),
    basic_auth_users: z.record(z.string(), z.string()).nullish(),
  })
  // An empty file is a valid exporter-toolkit config: no TLS, no auth.
  .nullish();

/** exporter-toolkit options that exist elsewhere but that this exporter does not implement. */
const UNSUPPORTED_TOOLKIT_KEYS: Readonly<Record<string, string>> = {
  rate_limit: 'exporter-toolkit rate limiting is not supported; --web.max-requests bounds concurrent requests',
  auth_excluded_paths: 'not supported; every path requires the configured authentication',
  ip_socket_config: 'not supported',
};

/** The headers exporter-toolkit lets a config add, with the values it allows (none listed: any). */
const CONFIGURABLE_RESPONSE_HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

/** $2a$, $2b$ or $2y$, a two-digit cost, then 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 31;

export async function loadWebConfig(path: string): Promise<WebConfig> {
  const configPath = resolve(path);
  const fail = (key: string, reason: string): never => {
    throw new WebConfigError(configPath, key, reason);
  };

  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    return fail('(file)', `cannot read (${reasonOf(error)})`);
  }

  let document: unknown;
  try {
    // Duplicate keys are an error, as in exporter-toolkit's strict YAML decoding.
    document = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100, logLevel: 'error', prettyErrors: false });
  } catch (error) {
    return fail('(yaml)', `${reasonOf(error)}${yamlPosition(error, text)}`);
  }

  const parsed = webConfigSchema.safeParse(document);
  if (!parsed.success) {
    const { key, reason } = describeSchemaIssue(parsed.error.issues[0]);
    return fail(key, reason);
  }
  const config = parsed.data ?? {};
  const directory = dirname(configPath);

  return {
    path: configPath,
    tls: await loadTlsServerConfig(config.tls_server_config ?? {}, directory, fail),
    basicAuthUsers: checkBasicAuthUsers(config.basic_auth_users ?? {}, fail),
    responseHeaders: checkResponseHeaders(config.http_server_config?.headers ?? {}, fail),
    http2Requested: config.http_server_config?.http2 === true,
  };
}

type Fail = (key: string, reason: string) => never;

async function loadTlsServerConfig(
  section: TlsServerConfigDocument,
  directory: string,
  fail: Fail,
): Promise<TlsServerConfig | undefined> {
  // Unlike exporter-toolkit, a section holding only e.g. min_version is an error rather than a
  // silent fallback to plain HTTP: whoever wrote it meant TLS.
  if (Object.values(section).every(isUnset)) return undefined;
  const key = (name: keyof TlsServerConfigDocument): string => `tls_server_config.${name}`;

  const certificatePem = await inlineOrFile(section, 'cert', 'cert_file', directory, fail);
  const privateKeyPem = await inlineOrFile(section, 'key', 'key_file', directory, fail);
  const clientCaPem = await inlineOrFile(section, 'client_ca', 'client_ca_file', directory, fail);
  if (certificatePem === undefined) return fail(key('cert_file'), 'required when TLS is configured (or inline "cert")');
  if (privateKeyPem === undefined) return fail(key('key_file'), 'required when TLS is configured (or inline "key")');

  const certificateKey = key(isUnset(section.cert_file) ? 'cert' : 'cert_file');
  const privateKeyKey = key(isUnset(section.key_file) ? 'key' : 'key_file');
  const clientCaKey = key(isUnset(section.client_ca_file) ? 'client_ca' : 'client_ca_file');
  const leaf = attempt(() => parseLeafCertificate(certificatePem), certificateKey, fail);
  const privateKey = attempt(() => parsePrivateKey(privateKeyPem), privateKeyKey, fail);
  if (!keyBelongsToCertificate(privateKey, leaf)) fail(privateKeyKey, `does not belong to the certificate in ${certificateKey}`);
  if (clientCaPem !== undefined) attempt(() => parseCertificateBundle(clientCaPem), clientCaKey, fail);

  const clientAuthType = parseClientAuthType(section.client_auth_type, key('client_auth_type'), fail);
  if (clientCaPem !== undefined && clientAuthType === 'NoClientCert') {
    fail(clientCaKey, 'a client CA is configured but client_auth_type is NoClientCert; set client_auth_type');
  }
  if (clientCaPem === undefined && VERIFYING_CLIENT_AUTH_TYPES.has(clientAuthType)) {
    fail(key('client_ca_file'), `required when client_auth_type is ${clientAuthType} (or inline "client_ca")`);
  }

  const clientAllowedSans = section.client_allowed_sans ?? undefined;
  if (clientAllowedSans !== undefined) {
    if (!CERTIFICATE_REQUIRING_CLIENT_AUTH_TYPES.has(clientAuthType)) {
      fail(key('client_allowed_sans'), 'requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
    }
    if (clientAllowedSans.length === 0) fail(key('client_allowed_sans'), 'lists no SAN, so no client could connect');
  }

  const minVersion = parseTlsVersion(section.min_version, 'TLS12', key('min_version'), fail);
  const maxVersion = parseTlsVersion(section.max_version, 'TLS13', key('max_version'), fail);
  if (tlsVersionRank(minVersion) > tlsVersionRank(maxVersion)) {
    fail(key('min_version'), `is above max_version (${section.max_version ?? 'TLS13'})`);
  }

  const tls: TlsServerConfig = {
    certificatePem,
    privateKeyPem,
    clientCaPem,
    clientAuthType,
    clientAllowedSans,
    minVersion,
    maxVersion,
    tls12CipherList: parseCipherSuites(section.cipher_suites ?? [], key('cipher_suites'), fail),
    curveList: parseCurves(section.curve_preferences ?? [], key('curve_preferences'), fail),
    preferServerCipherSuites: section.prefer_server_cipher_suites ?? true,
  };
  // Last word goes to OpenSSL itself: what it refuses here it would refuse at the first handshake.
  attempt(
    () =>
      createSecureContext({
        cert: tls.certificatePem,
        key: tls.privateKeyPem,
        ca: tls.clientCaPem,
        minVersion: tls.minVersion,
        maxVersion: tls.maxVersion,
        ...(tls.tls12CipherList === undefined ? {} : { ciphers: tls.tls12CipherList }),
        ...(tls.curveList === undefined ? {} : { ecdhCurve: tls.curveList }),
      }),
    'tls_server_config',
    fail,
  );
  return tls;
}

async function inlineOrFile(
  section: TlsServerConfigDocument,
  inlineKey: 'cert' | 'key' | 'client_ca',
  fileKey: 'cert_file' | 'key_file' | 'client_ca_file',
  directory: string,
  fail: Fail,
): Promise<Buffer | undefined> {
  const inline = section[inlineKey];
  const file = section[fileKey];
  if (!isUnset(inline) && !isUnset(file)) {
    return fail(`tls_server_config.${fileKey}`, `set either ${fileKey} or ${inlineKey}, not both`);
  }
  if (!isUnset(inline)) return Buffer.from(inline, 'utf8');
  if (isUnset(file)) return undefined;
  // Relative to the config file, as exporter-toolkit resolves them.
  const filePath = resolve(directory, file);
  try {
    return await readFile(filePath);
  } catch (error) {
    return fail(`tls_server_config.${fileKey}`, `cannot read "${filePath}" (${reasonOf(error)})`);
  }
}

function parseClientAuthType(value: string | null | undefined, key: string, fail: Fail): ClientAuthType {
  if (isUnset(value)) return 'NoClientCert';
  const known = CLIENT_AUTH_TYPES.find((type) => type === value) ?? LEGACY_CLIENT_AUTH_ALIASES[value];
  return known ?? fail(key, `unknown value "${value}"; expected one of ${CLIENT_AUTH_TYPES.join(', ')}`);
}

function parseTlsVersion(value: string | null | undefined, fallback: string, key: string, fail: Fail): SecureVersion {
  const name = isUnset(value) ? fallback : value;
  if (UNSUPPORTED_TLS_VERSIONS.has(name)) return fail(key, `${name} is not supported: ${UNSUPPORTED_TLS_VERSION_REASON}`);
  return TLS_VERSIONS[name] ?? fail(key, `unknown TLS version "${name}"; expected one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
}

function parseCipherSuites(names: readonly string[], key: string, fail: Fail): string | undefined {
  const tls12Names: string[] = [];
  for (const name of names) {
    const openSslName = TLS12_CIPHER_SUITES[name];
    if (openSslName !== undefined) tls12Names.push(openSslName);
    else if (!TLS13_CIPHER_SUITES.has(name)) {
      fail(key, `unknown cipher suite "${name}"; supported: ${[...Object.keys(TLS12_CIPHER_SUITES), ...TLS13_CIPHER_SUITES].join(', ')}`);
    }
  }
  return tls12Names.length > 0 ? tls12Names.join(':') : undefined;
}

function parseCurves(names: readonly string[], key: string, fail: Fail): string | undefined {
  const groups = names.map(
    (name) => CURVES[name] ?? fail(key, `unknown curve "${name}"; expected one of ${Object.keys(CURVES).join(', ')}`),
  );
  return groups.length > 0 ? groups.join(':') : undefined;
}

function checkBasicAuthUsers(users: Record<string, string>, fail: Fail): ReadonlyMap<string, string> {
  for (const [username, hash] of Object.entries(users)) {
    const key = `basic_auth_users.${username}`;
    // Basic auth splits user and password at the first colon: such a user could never log in.
    if (username.includes(':')) fail(key, 'a username cannot contain ":"');
    // Never echo the value: it might be a plain password written where the hash belongs.
    const cost = BCRYPT_HASH.exec(hash)?.[1];
    if (cost === undefined) fail(key, 'is not a bcrypt hash ($2a$, $2b$ or $2y$ followed by cost and 53 characters)');
    const rounds = Number(cost);
    if (rounds < BCRYPT_MIN_COST || rounds > BCRYPT_MAX_COST) {
      fail(key, `bcrypt cost ${rounds} is outside ${BCRYPT_MIN_COST}..${BCRYPT_MAX_COST}`);
    }
  }
  return new Map(Object.entries(users));
}

function checkResponseHeaders(headers: Record<string, string>, fail: Fail): ReadonlyMap<string, string> {
  const checked = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const key = `http_server_config.headers.${name}`;
    if (!Object.hasOwn(CONFIGURABLE_RESPONSE_HEADERS, name)) {
      fail(key, `this header cannot be configured; allowed: ${Object.keys(CONFIGURABLE_RESPONSE_HEADERS).join(', ')}`);
    }
    if (value === '') continue; // "Unset if blank", as documented by exporter-toolkit.
    const allowedValues = CONFIGURABLE_RESPONSE_HEADERS[name];
    if (allowedValues !== undefined && !allowedValues.includes(value)) {
      fail(key, `invalid value "${value}"; expected one of ${allowedValues.join(', ')}`);
    }
    attempt(() => validateHeaderValue(name, value), key, fail);
    checked.set(name, value);
  }
  return checked;
}

function describeSchemaIssue(issue: z.core.$ZodIssue | undefined): { key: string; reason: string } {
  if (issue === undefined) return { key: '(root)', reason: 'invalid' };
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const unknownKey = issue.keys[0] ?? '';
    const key = [...path, unknownKey].join('.');
    return { key, reason: UNSUPPORTED_TOOLKIT_KEYS[key] ?? 'unknown key' };
  }
  return {
    key: path.length > 0 ? path.join('.') : '(root)',
    reason: issue.message.replace(/^Invalid input: /, ''),
  };
}

function yamlPosition(error: unknown, text: string): string {
  if (!(error instanceof YAMLError)) return '';
  const offset = error.pos[0];
  const line = text.slice(0, offset).split('\n').length;
  const column = offset - text.lastIndexOf('\n', offset - 1);
  return ` (line ${line}, column ${column})`;
}

function attempt<T>(check: () => T, key: string, fail: Fail): T {
  try {
    return check();
  } catch (error) {
    return fail(key, reasonOf(error));
  }
}

function isUnset(value: unknown): value is null | undefined | '' {
  return value === undefined || value === null || value === '';
}

function reasonOf(error: unknown): string {
  // Not `instanceof Error`: errors from Node's core can come from another realm (e.g. under jest).
  const message =
    typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string'
      ? error.message
      : String(error);
  // fs messages end in ", open '<path>'"; the path is already part of our message.
  return oneLine(message.replace(/, \w+ '[^']*'$/, ''));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
