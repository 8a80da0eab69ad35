/**
 * The HTTP(S) server around the exporter's request handler: TLS and client certificates from the web
 * config, basic auth, and the limits that keep an endpoint on the host network from being held or
 * flooded (GET/HEAD only, header/request/keep-alive timeouts, a cap on concurrent requests).
 * It knows nothing about the exporter's paths; the handler does.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { createBasicAuthVerifier, type BasicAuthVerifier } from './authBasic';
import { clientCertificateRejection, secureServerOptions } from './tlsServerOptions';
import type { TlsServerConfig, WebConfig } from './webConfig';

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
}

const BASIC_AUTH_CHALLENGE = 'Basic realm="hyperv-ic-exporter", charset="UTF-8"';
const ALLOWED_METHODS = new Set(['GET', 'HEAD']);

/** Returns the server unstarted: the caller listens (and closes) it. */
export function createHttpServer(handler: http.RequestListener, options: HttpServerOptions): http.Server | https.Server {
  const { webConfig, logger } = options;
  const timeouts = checkedTimeouts(options.timeouts);
  if (!Number.isInteger(options.maxRequests) || options.maxRequests < 0) {
    throw new RangeError(`maxRequests must be an integer >= 0 (0 = unlimited), got ${options.maxRequests}`);
  }
  const basicAuthUsers = webConfig?.basicAuthUsers ?? new Map<string, string>();
  const listener = guardRequests(handler, {
    maxRequests: options.maxRequests,
    responseHeaders: webConfig?.responseHeaders ?? new Map(),
    verifier: basicAuthUsers.size > 0 ? createBasicAuthVerifier(basicAuthUsers) : undefined,
    requestMs: timeouts.requestMs,
    logger,
  });

  const httpOptions: http.ServerOptions = {
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

  if (tls !== undefined) enforceClientCertificatePolicy(server as https.Server, tls, logger);
  logConfiguration(options, logger);
  return server;
}

interface RequestGuardOptions {
  readonly maxRequests: number;
  readonly responseHeaders: ReadonlyMap<string, string>;
  readonly verifier: BasicAuthVerifier | undefined;
  readonly requestMs: number;
  readonly logger: Logger;
}

function guardRequests(handler: http.RequestListener, guard: RequestGuardOptions): http.RequestListener {
  let inFlight = 0;
  return (request, response) => {
    for (const [name, value] of guard.responseHeaders) response.setHeader(name, value);
    if (guard.maxRequests > 0 && inFlight >= guard.maxRequests) {
      guard.logger.debug({ inFlight, maxRequests: guard.maxRequests }, 'request refused: too many concurrent requests');
      refuse(response, 503);
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
    // Keep-alive turns the socket's inactivity timeout off after the first request; a response
    // that a client stops reading must still not hold the socket forever.
    response.setTimeout(guard.requestMs);

    if (request.method === undefined || !ALLOWED_METHODS.has(request.method)) {
      refuse(response, 405, { Allow: 'GET, HEAD' });
      return;
    }
    if (guard.verifier === undefined) {
      serve(handler, request, response, guard.logger);
      return;
    }
    guard.verifier.isAuthorized(request.headers.authorization).then(
      (authorized) => {
        if (response.destroyed || socket.destroyed) return;
        if (authorized) serve(handler, request, response, guard.logger);
        else refuse(response, 401, { 'WWW-Authenticate': BASIC_AUTH_CHALLENGE });
      },
      (error: unknown) => {
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

function enforceClientCertificatePolicy(server: https.Server, tls: TlsServerConfig, logger: Logger): void {
  server.on('secureConnection', (socket) => {
    const reason = clientCertificateRejection(socket, tls);
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
