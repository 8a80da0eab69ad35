/**
 * Real clients for the server tests: Node's http/https (one fresh connection per request, so TLS
 * settings are negotiated every time), curl, and a raw TCP socket for misbehaving clients.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface ClientResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Negotiated TLS version and cipher (OpenSSL names); undefined over plain HTTP. */
  readonly tlsProtocol: string | undefined;
  readonly tlsCipher: string | undefined;
}

export type ClientOptions = https.RequestOptions & { readonly body?: string };

export function send(url: string, options: ClientOptions = {}): Promise<ClientResponse> {
  const { body, ...requestOptions } = options;
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, { agent: false, ...requestOptions }, (response) => {
      const socket = response.socket as Partial<TLSSocket>;
      const tlsProtocol = socket.getProtocol?.() ?? undefined;
      const tlsCipher = socket.getCipher?.().name;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          tlsProtocol,
          tlsCipher,
        }),
      );
    });
    request.on('error', reject);
    request.setTimeout(5_000, () => request.destroy(new Error('client timeout')));
    request.end(body);
  });
}

export interface CurlResult {
  readonly exitCode: number;
  /** Undefined when no HTTP response came back (e.g. the TLS handshake failed). */
  readonly status: number | undefined;
  readonly body: string;
  readonly stderr: string;
}

const STATUS_MARKER = '\n--curl-status:';

/** Runs curl asynchronously: the server under test lives in this process and must keep serving. */
export function curl(args: readonly string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['--silent', '--show-error', '--max-time', '5', '--write-out', `${STATUS_MARKER}%{http_code}`, ...args],
      { encoding: 'utf8' },
      (error, stdout, stderr) => {
        const markerAt = stdout.lastIndexOf(STATUS_MARKER);
        const statusText = markerAt < 0 ? '000' : stdout.slice(markerAt + STATUS_MARKER.length);
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({
          exitCode,
          status: statusText === '000' ? undefined : Number(statusText),
          body: markerAt < 0 ? stdout : stdout.slice(0, markerAt),
          stderr,
        });
      },
    );
  });
}

export interface RawConnection {
  readonly socket: net.Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with the milliseconds from connect until the server closed the connection. */
  readonly closed: Promise<number>;
}

export function connectRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    const connectedAt = Date.now();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    const closed = new Promise<number>((resolveClosed) => socket.on('close', () => resolveClosed(Date.now() - connectedAt)));
    // A reset by the server is an expected outcome here, not a test failure.
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}
