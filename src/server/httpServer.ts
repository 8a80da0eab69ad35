/**
 * The HTTP(S) server around the exporter's request handler: TLS and client certificates from the web
 * config, basic auth, and the limits that keep an endpoint on the host network from being held or
 * flooded (GET/HEAD only, but for the paths the caller names with their own methods; header/request/
 * keep-alive timeouts, a cap on concurrent requests). It knows nothing else of the exporter's paths;
 * the handler does.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { createBasicAuthVerifier, type BasicAuthVerifier } from './authBasic';
import { clientCertificateRejection, secureServerOptions } from './tlsServerOptions';
import { loadWebConfig, WebConfigError, type TlsServerConfig, type WebConfig } from './webConfig';

export interface HttpServerTimeouts {
  /** Time a client gets to send the complete request headers (and, with TLS, to finish the handshake). */
  readonly headersMs: number;
  /** Time a client gets to send the complete request; also the longest a request may make no progress. */
  readonly requestMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  readonly keepAliveMs: number;
}

export const DEFAULT_HTTP_SERVER_TIMEOUTS: HttpServerTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  // Longer than the common 15 s and 30 s scrape intervals, so Prometheus reuses its connection (and
  // skips a TLS handshake) between scrapes.
  keepAliveMs: 35_000,
};

export interface HttpServerOptions {
  /** From `--web.config.file`; absent: plain HTTP without authentication. */
  readonly webConfig?: WebConfig | undefined;
  /** Concurrent requests above this get 503 at once; 0 means no limit. */
  readonly maxRequests: number;
  readonly logger: Logger;
  readonly timeouts?: Partial<HttpServerTimeouts> | undefined;
  /**
   * Paths (exactly, without the query) that take other methods than GET and HEAD, with the methods they
   * take, e.g. `/-/reload` → POST. Every other path takes GET and HEAD only. A method a path does not
   * take is refused with 405 before authentication, as any method was before.
   */
  readonly pathMethods?: ReadonlyMap<string, readonly string[]> | undefined;
  /** The classes each request and response is made of (node's own by default): see app.ts's requestClassesOf. */
  readonly requestClasses?: RequestClasses | undefined;
}

/** The classes node's HTTP server makes each request and response of. */
export type RequestClasses = Required<Pick<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'>>;

const BASIC_AUTH_CHALLENGE = 'Basic realm="hyperv-ic-exporter", charset="UTF-8"';
const DEFAULT_METHODS: readonly string[] = ['GET', 'HEAD'];

/** The server and what SIGHUP does to it. */
export interface HttpServerHandle {
  readonly server: http.Server | https.Server;
  /**
   * Reads the web config file again (SIGHUP, POST /-/reload) and applies it to new requests and
   * connections: basic auth users, response headers, certificates and TLS settings. A file that does not
   * validate, or a change that needs a new listener (TLS on or off, a client-certificate mode that
   * changes whether one is asked for), rejects with a WebConfigError (one line naming the file) and the
   * running configuration is kept; requests in flight are not dropped. Without a file: nothing to do.
   */
  reloadWebConfig(): Promise<void>;
}

/** What each request and connection reads at its start; replaced whole by a reload. */
interface ActiveConfig {
  readonly webConfig: WebConfig | undefined;
  readonly responseHeaders: ReadonlyMap<string, string>;
  readonly verifier: BasicAuthVerifier | undefined;
}

function activeConfigOf(webConfig: WebConfig | undefined): ActiveConfig {
  const users = webConfig?.basicAuthUsers ?? new Map<string, string>();
  return { webConfig, responseHeaders: webConfig?.responseHeaders ?? new Map(), verifier: users.size > 0 ? createBasicAuthVerifier(users) : undefined };
}

function sameUsers(a: ReadonlyMap<string, string> | undefined, b: ReadonlyMap<string, string> | undefined): boolean {
  const left = a ?? new Map<string, string>();
  const right = b ?? new Map<string, string>();
  return left.size === right.size && [...left].every(([user, hash]) => right.get(user) === hash);
}

/** Returns the server unstarted: the caller listens (and closes) it. */
export function createHttpServer(handler: http.RequestListener, options: HttpServerOptions): http.Server | https.Server {
  return createReloadableHttpServer(handler, options).server;
}

/** createHttpServer, with a way to read `webConfigFile` again. */
export function createReloadableHttpServer(handler: http.RequestListener, options: HttpServerOptions & { readonly webConfigFile?: string }): HttpServerHandle {
  const { webConfig, logger } = options;
  const timeouts = checkedTimeouts(options.timeouts);
  if (!Number.isInteger(options.maxRequests) || options.maxRequests < 0) {
    throw new RangeError(`maxRequests must be an integer >= 0 (0 = unlimited), got ${options.maxRequests}`);
  }
  let active = activeConfigOf(webConfig);
  const listener = guardRequests(handler, {
    maxRequests: options.maxRequests,
    active: () => active,
    requestMs: timeouts.requestMs,
    pathMethods: options.pathMethods ?? new Map(),
    logger,
  });

  const httpOptions: http.ServerOptions = {
    ...options.requestClasses,
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks the two timeouts above only this often (30 s by default), which would let a
    // slow client overstay them by that much.
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(timeouts.headersMs / 4))),
  };
  const tls = webConfig?.tls;
  const server =
    tls === undefined
      ? http.createServer(httpOptions, listener)
      : https.createServer({ ...httpOptions, ...secureServerOptions(tls, timeouts.headersMs) }, listener);
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  server.timeout = timeouts.requestMs;

  if (tls !== undefined) enforceClientCertificatePolicy(server as https.Server, () => active.webConfig?.tls ?? tls, logger);
  // The password checks' worker thread goes with the server (it is unref'd, so it never holds the process).
  server.on('close', () => void active.verifier?.close().catch(() => undefined));
  logConfiguration(options, logger);

  const reloadWebConfig = async (): Promise<void> => {
    const path = options.webConfigFile;
    if (path === undefined) return;
    // A file that does not validate rejects with its one line (WebConfigError); the caller logs it.
    const next = await loadWebConfig(path);
    const before = active.webConfig?.tls;
    const after = next.tls;
    if ((before === undefined) !== (after === undefined)) {
      throw new WebConfigError(next.path, 'tls_server_config', `turning TLS ${after === undefined ? 'off' : 'on'} needs a restart`);
    }
    if (before !== undefined && after !== undefined) {
      const asked = (t: TlsServerConfig): string => `${t.clientAuthType !== 'NoClientCert'}/${t.clientAuthType === 'RequireAndVerifyClientCert'}`;
      if (asked(before) !== asked(after)) {
        throw new WebConfigError(next.path, 'tls_server_config.client_auth_type', 'a change of whether a client certificate is asked for needs a restart');
      }
      (server as https.Server).setSecureContext(secureServerOptions(after, timeouts.headersMs));
    }
    const previous = active;
    const verifier = sameUsers(previous.webConfig?.basicAuthUsers, next.basicAuthUsers) ? previous.verifier : activeConfigOf(next).verifier;
    active = { webConfig: next, responseHeaders: next.responseHeaders, verifier };
    if (previous.verifier !== undefined && previous.verifier !== verifier) {
      // Checks already under way finish with the old users; the old worker ends after them.
      setTimeout(() => void previous.verifier?.close().catch(() => undefined), timeouts.requestMs).unref();
    }
    logConfiguration({ ...options, webConfig: next }, logger);
    logger.info({ webConfig: next.path }, 'web config reloaded');
  };
  return { server, reloadWebConfig };
}

interface RequestGuardOptions {
  readonly maxRequests: number;
  /** Paths with methods of their own; the others take GET and HEAD. */
  readonly pathMethods: ReadonlyMap<string, readonly string[]>;
  /** The response headers and the verifier in force when a request arrives. */
  readonly active: () => ActiveConfig;
  readonly requestMs: number;
  readonly logger: Logger;
}

/**
 * Headers, methods, basic auth, then a `--web.max-requests` slot for the handler. Credentials are
 * checked before a slot is taken: a request waiting for a bcrypt comparison holds no slot (the
 * verifier bounds and queues those itself), so a flood of bad logins cannot take the slots that a
 * client with remembered credentials needs; that client passes the check at once.
 */
function guardRequests(handler: http.RequestListener, guard: RequestGuardOptions): http.RequestListener {
  let inFlight = 0;
  const slotsTaken = (): boolean => guard.maxRequests > 0 && inFlight >= guard.maxRequests;
  const refuseTooMany = (response: http.ServerResponse): void => {
    guard.logger.debug({ inFlight, maxRequests: guard.maxRequests }, 'request refused: too many concurrent requests');
    refuse(response, 503);
  };

  const admit = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    if (slotsTaken()) {
      refuseTooMany(response);
      return;
    }
    inFlight += 1;
    // A response normally emits 'close' when done or aborted; the socket's own 'close' covers a
    // pipelined request whose response never got the socket. Either way the slot is freed once.
    const socket = request.socket;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      inFlight -= 1;
      socket.off('close', release);
    };
    response.once('close', release);
    socket.once('close', release);
    serve(handler, request, response, guard.logger);
  };

  return (request, response) => {
    const active = guard.active();
    for (const [name, value] of active.responseHeaders) response.setHeader(name, value);
    // Keep-alive turns the socket's inactivity timeout off after the first request; a response
    // that a client stops reading must still not hold the socket forever.
    response.setTimeout(guard.requestMs);

    const url = request.url ?? '';
    const query = url.indexOf('?');
    const methods = guard.pathMethods.get(query === -1 ? url : url.slice(0, query)) ?? DEFAULT_METHODS;
    if (request.method === undefined || !methods.includes(request.method)) {
      refuse(response, 405, { Allow: methods.join(', ') });
      return;
    }
    const verifier = active.verifier;
    if (verifier === undefined) {
      admit(request, response);
      return;
    }
    // Not worth a bcrypt comparison: the request could not be served anyway.
    if (slotsTaken()) {
      refuseTooMany(response);
      return;
    }
    const socket = request.socket;
    const clientGone = new AbortController();
    const abort = (): void => clientGone.abort();
    socket.once('close', abort);
    verifier
      .check(request.headers.authorization, { clientAddress: socket.remoteAddress, signal: clientGone.signal })
      .then(
        (outcome) => {
          socket.off('close', abort);
          if (response.destroyed || socket.destroyed) return;
          if (outcome === 'authorized') {
            admit(request, response);
          } else if (outcome === 'unauthorized') {
            refuse(response, 401, { 'WWW-Authenticate': BASIC_AUTH_CHALLENGE });
          } else {
            // Not a 401: the password was not checked, and the client may well have the right one.
            guard.logger.debug(
              { remoteAddress: socket.remoteAddress },
              'request refused: too many requests waiting for a password check',
            );
            refuse(response, 503, { 'Retry-After': '1' });
          }
        },
        (error: unknown) => {
          socket.off('close', abort);
          guard.logger.error({ err: error }, 'basic auth check failed');
          refuse(response, 500);
        },
      );
  };
}

function serve(
  handler: http.RequestListener,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  logger: Logger,
): void {
  const onError = (error: unknown): void => {
    // The details go to the log only: a response must never carry a stack trace.
    logger.error({ err: error, url: request.url }, 'request handler failed');
    refuse(response, 500);
  };
  try {
    const result: unknown = handler(request, response);
    if (result instanceof Promise) result.catch(onError);
  } catch (error) {
    onError(error);
  }
}

/** A short plain-text answer; the connection is closed so a refused client has to start over. */
function refuse(response: http.ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.statusCode = status;
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.setHeader('Connection', 'close');
  response.end(`${http.STATUS_CODES[status] ?? 'Error'}\n`);
}

function enforceClientCertificatePolicy(server: https.Server, tls: () => TlsServerConfig, logger: Logger): void {
  server.on('secureConnection', (socket) => {
    const reason = clientCertificateRejection(socket, tls());
    if (reason === undefined) return;
    logger.debug({ remoteAddress: socket.remoteAddress, reason }, 'TLS connection refused');
    socket.destroy();
  });
  server.on('tlsClientError', (error, socket) => {
    logger.debug({ remoteAddress: socket.remoteAddress, err: error.message }, 'TLS handshake failed');
    socket.destroy();
  });
}

function checkedTimeouts(overrides: Partial<HttpServerTimeouts> | undefined): HttpServerTimeouts {
  const timeouts = { ...DEFAULT_HTTP_SERVER_TIMEOUTS, ...overrides };
  for (const [name, value] of Object.entries(timeouts)) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`timeouts.${name} must be a positive integer (ms), got ${value}`);
  }
  // Node refuses this combination; say so in our terms.
  if (timeouts.headersMs > timeouts.requestMs) {
    throw new RangeError(`timeouts.headersMs (${timeouts.headersMs}) must not exceed timeouts.requestMs (${timeouts.requestMs})`);
  }
  return timeouts;
}

function logConfiguration({ webConfig, maxRequests }: HttpServerOptions, logger: Logger): void {
  const tls = webConfig?.tls;
  const basicAuthUsers = webConfig?.basicAuthUsers.size ?? 0;
  logger.info(
    {
      webConfig: webConfig?.path,
      tls: tls !== undefined,
      ...(tls === undefined
        ? {}
        : { clientAuthType: tls.clientAuthType, minVersion: tls.minVersion, maxVersion: tls.maxVersion }),
      basicAuthUsers,
      maxRequests,
    },
    'HTTP server configured',
  );
  if (tls !== undefined) {
    const certificate = new X509Certificate(tls.certificatePem);
    if (Date.parse(certificate.validTo) < Date.now()) {
      logger.warn({ subject: certificate.subject, validTo: certificate.validTo }, 'the TLS server certificate has expired');
    }
  }
  if (basicAuthUsers > 0 && tls === undefined) {
    logger.warn('basic auth without TLS: passwords cross the network in clear text; configure tls_server_config');
  }
  if (webConfig?.http2Requested === true) {
    logger.warn('http_server_config.http2 is true, but this exporter serves HTTP/1.1 only; clients negotiate HTTP/1.1');
  }
}
