import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { loadWebConfig, WebConfigError } from '../../src/server/webConfig';
import { createTestPki, type TestPki } from './tls/testPki';

let pki: TestPki;
let configCount = 0;
const passwordHash = bcrypt.hashSync('s3cret', 4);

beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());

/** Writes a web config next to the certificates, so relative paths resolve against the PKI directory. */
function writeConfig(text: string): string {
  configCount += 1;
  const path = join(pki.directory, `web-config-${configCount}.yml`);
  writeFileSync(path, text);
  return path;
}

const serverTls = `
tls_server_config:
  cert_file: server.pem
  key_file: server.key
`;

describe('loadWebConfig: valid files', () => {
  it('reads a minimal TLS config, resolving paths against the config file directory, with exporter-toolkit defaults', async () => {
    const path = writeConfig(serverTls);
    const config = await loadWebConfig(path);

    expect(config.path).toBe(path);
    expect(config.tls?.certificatePem.equals(pki.read('serverCertificate'))).toBe(true);
    expect(config.tls?.privateKeyPem.equals(pki.read('serverKey'))).toBe(true);
    expect(config.tls).toMatchObject({
      clientAuthType: 'NoClientCert',
      clientCaPem: undefined,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      tls12CipherList: undefined,
      curveList: undefined,
      preferServerCipherSuites: true,
    });
    expect(config.basicAuthUsers.size).toBe(0);
    expect(config.responseHeaders.size).toBe(0);
    expect(config.http2Requested).toBe(false);
  });

  it('reads every supported key', async () => {
    const config = await loadWebConfig(
      writeConfig(`
tls_server_config:
  cert_file: ${pki.path('serverCertificate')}
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  client_allowed_sans: [${'prometheus.example'}, "::1"]
  min_version: TLS12
  max_version: TLS12
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  prometheus: '${passwordHash}'
  "12345": '${passwordHash.replace(/^\$2b/, '$2y')}'
`),
    );

    expect(config.tls?.clientCaPem?.equals(pki.read('caCertificate'))).toBe(true);
    expect(config.tls).toMatchObject({
      clientAuthType: 'RequireAndVerifyClientCert',
      clientAllowedSans: ['prometheus.example', '::1'],
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      // TLS 1.3 names are accepted and, as in Go, have no effect.
      tls12CipherList: 'ECDHE-ECDSA-AES256-GCM-SHA384:AES128-SHA',
      curveList: 'X25519:P-256',
      preferServerCipherSuites: false,
    });
    expect([...config.responseHeaders]).toEqual([
      ['X-Frame-Options', 'deny'],
      ['X-Content-Type-Options', 'nosniff'],
      ['Strict-Transport-Security', 'max-age=31536000'],
    ]);
    expect([...config.basicAuthUsers.keys()].sort()).toEqual(['12345', 'prometheus']);
    expect(config.http2Requested).toBe(true);
  });

  it('treats an empty file and empty sections as plain HTTP without auth', async () => {
    for (const text of ['', '# nothing\n', 'tls_server_config:\nbasic_auth_users:\nhttp_server_config:\n']) {
      const config = await loadWebConfig(writeConfig(text));
      expect(config.tls).toBeUndefined();
      expect(config.basicAuthUsers.size).toBe(0);
    }
  });

  it('accepts basic auth without TLS', async () => {
    const config = await loadWebConfig(writeConfig(`basic_auth_users:\n  alice: ${passwordHash}\n`));
    expect(config.tls).toBeUndefined();
    expect(config.basicAuthUsers.get('alice')).toBe(passwordHash);
  });

  it('accepts inline PEM cert, key and client_ca', async () => {
    const indent = (pem: Buffer): string => pem.toString().trim().split('\n').join('\n    ');
    const config = await loadWebConfig(
      writeConfig(`
tls_server_config:
  cert: |
    ${indent(pki.read('serverCertificate'))}
  key: |
    ${indent(pki.read('serverKey'))}
  client_ca: |
    ${indent(pki.read('caCertificate'))}
  client_auth_type: VerifyClientCertIfGiven
`),
    );
    expect(config.tls?.clientAuthType).toBe('VerifyClientCertIfGiven');
    expect(config.tls?.certificatePem.toString().trim()).toBe(pki.read('serverCertificate').toString().trim());
  });

  it('accepts the legacy client_auth_type spelling RequireClientCert as RequireAnyClientCert', async () => {
    const config = await loadWebConfig(writeConfig(`${serverTls}  client_auth_type: RequireClientCert\n`));
    expect(config.tls?.clientAuthType).toBe('RequireAnyClientCert');
  });
});

describe('loadWebConfig: invalid files are refused with one line naming the file and the key', () => {
  const cases: Array<[description: string, text: () => string, key: string, reason: RegExp]> = [
    ['unknown top-level key', () => `${serverTls}tls_config: {}\n`, 'tls_config', /unknown key/],
    ['unknown tls_server_config key', () => `${serverTls}  cert_path: x\n`, 'tls_server_config.cert_path', /unknown key/],
    ['unknown http_server_config key', () => 'http_server_config:\n  gzip: true\n', 'http_server_config.gzip', /unknown key/],
    ['exporter-toolkit rate_limit', () => 'rate_limit:\n  interval: 1s\n  burst: 5\n', 'rate_limit', /--web\.max-requests/],
    ['duplicate key', () => `${serverTls}  cert_file: other.pem\n`, '(yaml)', /[Dd]uplicate|unique/],
    ['YAML syntax error', () => 'tls_server_config: [\n', '(yaml)', /./],
    ['a list instead of a mapping', () => '- a\n- b\n', '(root)', /expected object/],
    ['wrong type', () => 'basic_auth_users: [alice]\n', 'basic_auth_users', /expected record/],
    ['http2 as a string', () => 'http_server_config:\n  http2: "yes"\n', 'http_server_config.http2', /expected boolean/],
    ['unreadable cert_file', () => 'tls_server_config:\n  cert_file: missing.pem\n  key_file: server.key\n', 'tls_server_config.cert_file', /cannot read ".*missing\.pem".*ENOENT/],
    ['unreadable key_file', () => 'tls_server_config:\n  cert_file: server.pem\n  key_file: missing.key\n', 'tls_server_config.key_file', /cannot read/],
    ['cert_file that is not a certificate', () => 'tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n', 'tls_server_config.cert_file', /contains no PEM certificate/],
    ['key_file that is not a key', () => 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.ext\n', 'tls_server_config.key_file', /not a usable/],
    ['key that belongs to another certificate', () => 'tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n', 'tls_server_config.key_file', /does not belong to the certificate/],
    ['key without certificate', () => 'tls_server_config:\n  key_file: server.key\n', 'tls_server_config.cert_file', /required/],
    ['empty cert_file', () => 'tls_server_config:\n  cert_file: ""\n  key_file: server.key\n', 'tls_server_config.cert_file', /required/],
    ['certificate without key', () => 'tls_server_config:\n  cert_file: server.pem\n', 'tls_server_config.key_file', /required/],
    ['only min_version (exporter-toolkit would silently serve plain HTTP)', () => 'tls_server_config:\n  min_version: TLS13\n', 'tls_server_config.cert_file', /required/],
    ['cert and cert_file together', () => `${serverTls}  cert: "x"\n`, 'tls_server_config.cert_file', /either cert_file or cert/],
    ['unknown client_auth_type', () => `${serverTls}  client_auth_type: RequireValidCert\n`, 'tls_server_config.client_auth_type', /unknown value "RequireValidCert".*RequireAndVerifyClientCert/],
    ['RequireAndVerifyClientCert without client CA', () => `${serverTls}  client_auth_type: RequireAndVerifyClientCert\n`, 'tls_server_config.client_ca_file', /required when client_auth_type is RequireAndVerifyClientCert/],
    ['VerifyClientCertIfGiven without client CA', () => `${serverTls}  client_auth_type: VerifyClientCertIfGiven\n`, 'tls_server_config.client_ca_file', /required when client_auth_type is VerifyClientCertIfGiven/],
    ['client CA with NoClientCert', () => `${serverTls}  client_ca_file: ca.pem\n`, 'tls_server_config.client_ca_file', /client_auth_type/],
    ['client CA file without certificates', () => `${serverTls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n`, 'tls_server_config.client_ca_file', /contains no PEM certificate/],
    ['client_allowed_sans when a client may send no certificate', () => `${serverTls}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n  client_allowed_sans: [a]\n`, 'tls_server_config.client_allowed_sans', /RequireAnyClientCert or RequireAndVerifyClientCert/],
    ['empty client_allowed_sans', () => `${serverTls}  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: []\n`, 'tls_server_config.client_allowed_sans', /no SAN/],
    ['min_version TLS10', () => `${serverTls}  min_version: TLS10\n`, 'tls_server_config.min_version', /TLS10 is not supported.*OpenSSL/],
    ['max_version TLS11', () => `${serverTls}  max_version: TLS11\n`, 'tls_server_config.max_version', /TLS11 is not supported/],
    ['unknown TLS version', () => `${serverTls}  min_version: TLSv1.2\n`, 'tls_server_config.min_version', /unknown TLS version "TLSv1\.2"; expected one of TLS12, TLS13/],
    ['min_version above max_version', () => `${serverTls}  min_version: TLS13\n  max_version: TLS12\n`, 'tls_server_config.min_version', /above max_version/],
    ['unknown cipher suite', () => `${serverTls}  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n`, 'tls_server_config.cipher_suites', /unknown cipher suite "ECDHE-RSA-AES128-GCM-SHA256"/],
    ['insecure cipher suite', () => `${serverTls}  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n`, 'tls_server_config.cipher_suites', /unknown cipher suite/],
    ['unknown curve', () => `${serverTls}  curve_preferences: [P-256]\n`, 'tls_server_config.curve_preferences', /unknown curve "P-256"; expected one of CurveP256/],
    ['header exporter-toolkit does not allow', () => 'http_server_config:\n  headers:\n    Server: x\n', 'http_server_config.headers.Server', /cannot be configured/],
    ['X-Frame-Options value', () => 'http_server_config:\n  headers:\n    X-Frame-Options: allow-from x\n', 'http_server_config.headers.X-Frame-Options', /expected one of deny, sameorigin/],
    ['header value with a line break', () => 'http_server_config:\n  headers:\n    Content-Security-Policy: "a\\r\\nSet-Cookie: x"\n', 'http_server_config.headers.Content-Security-Policy', /Invalid character/],
    ['username with a colon', () => `basic_auth_users:\n  "a:b": '${passwordHash}'\n`, 'basic_auth_users.a:b', /cannot contain ":"/],
    ['bcrypt cost out of range', () => `basic_auth_users:\n  alice: '${passwordHash.replace('$04$', '$03$')}'\n`, 'basic_auth_users.alice', /cost 3 is outside 4\.\.31/],
    ['truncated bcrypt hash', () => `basic_auth_users:\n  alice: '${passwordHash.slice(0, -1)}'\n`, 'basic_auth_users.alice', /is not a bcrypt hash/],
  ];

  it.each(cases)('%s', async (_description, text, key, reason) => {
    const path = writeConfig(text());
    const error = await loadWebConfig(path).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    expect(error).toBeInstanceOf(WebConfigError);
    const message = (error as WebConfigError).message;
    expect(message.startsWith(`web config "${path}": ${key}: `)).toBe(true);
    expect((error as WebConfigError).key).toBe(key);
    expect((error as WebConfigError).reason).toMatch(reason);
    expect(message).not.toContain('\n');
  });

  it('does not echo a plain password written where the bcrypt hash belongs', async () => {
    const path = writeConfig('basic_auth_users:\n  alice: hunter2-plaintext\n');
    await expect(loadWebConfig(path)).rejects.toThrow(/basic_auth_users\.alice: is not a bcrypt hash/);
    await expect(loadWebConfig(path)).rejects.not.toThrow(/hunter2/);
  });

  it('names a config file that cannot be read', async () => {
    const path = join(pki.directory, 'no-such-web-config.yml');
    await expect(loadWebConfig(path)).rejects.toThrow(`web config "${path}": (file): cannot read (ENOENT: no such file or directory)`);
  });
});
