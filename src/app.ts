import { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CONTENT_TYPE } from './metrics/exposition';
import type { Body } from './sampling/currentSample';
import type { ServedSamples } from './sampling/servedSamples';
import type { RequestClasses } from './server/httpServer';
import { landingPage } from './server/landingPage';

export type { TargetGroup } from './sampling/servedSamples';

/** What the app serves: the samples (ServedSamples, which hosts.ts makes) and what main adds. */
export interface AppDependencies extends ServedSamples {
  readonly telemetryPath: string;
  readonly version: string;
  /**
   * With --web.enable-lifecycle: what `POST /-/reload` runs, the reload SIGHUP runs (main serializes
   * the two). Absent: the lifecycle API is off and `POST /-/reload` is answered 403, as Prometheus does.
   */
  readonly reload?: () => Promise<ReloadOutcome>;
  readonly logger: Logger;
}

/** How a reload went: every file read again and applied, or the one-line reason it was not (the running configuration kept). */
export type ReloadOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** The path of the reload endpoint; the HTTP server lets POST through for it alone (main passes it on). */
export const RELOAD_PATH = '/-/reload';

function acceptsGzip(request: IncomingMessage): boolean {
  const header = request.headers['accept-encoding'];
  return typeof header === 'string' && /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[\d.]+)?\s*(,|$)/i.test(header);
}

/** Writes a published body as it is: compressed where the client takes gzip. Nothing is rendered here. */
function sendBody(request: IncomingMessage, response: ServerResponse, body: Body | null): void {
  if (body === null) {
    response.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Starting\n');
    return;
  }
  const gzip = acceptsGzip(request);
  const bytes = gzip ? body.gzip : body.identity;
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': bytes.length,
    Vary: 'Accept-Encoding',
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
  });
  response.end(request.method === 'HEAD' ? undefined : bytes);
}

/** A literal path as an express 5 route (path-to-regexp 8): `(`, `:`, `*`, `{` and the like stand for themselves. */
function literalRoute(path: string): string {
  return path.replace(/[()[\]?+!*:{}\\]/g, '\\$&');
}

/**
 * The classes for the server to make each request and response of, so that they have `app`'s
 * prototypes from the start. Express gives every request and response its own prototypes
 * (Object.setPrototypeOf in app.handle); on an object that already has them that is a no-op, where a
 * changed prototype makes V8 leave its fast paths for node's HTTP code: about 80 µs of CPU per request,
 * most of what express costs a scrape (docs/performance.md). Every request is still routed by express.
 */
export function requestClassesOf(app: express.Express): RequestClasses {
  // node constructs these with `new`; they run node's own constructors on objects of express's prototypes.
  function AppRequest(this: IncomingMessage, ...args: ConstructorParameters<typeof IncomingMessage>): void {
    IncomingMessage.apply(this, args);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, ...args: ConstructorParameters<typeof ServerResponse>): void {
    ServerResponse.apply(this, args);
  }
  AppResponse.prototype = app.response;
  return { IncomingMessage: AppRequest as unknown as typeof IncomingMessage, ServerResponse: AppResponse as unknown as typeof ServerResponse };
}

/**
 * The HTTP app, without a port, which main serves behind the (TLS, auth) server: express routes every
 * request, scrapes included (what that costs against a bare node:http server is measured in
 * docs/performance.md). It only serves what the samples published; no handler waits for a sample.
 */
export function createRequestListener(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // ?target=a&target=b must stay a string or an array of strings, never an object (qs's extended syntax).
  app.set('query parser', 'simple');

  app.get(literalRoute(deps.telemetryPath), (request, response) => sendBody(request, response, deps.metrics()));

  const probe = deps.probe;
  if (probe !== undefined) {
    // The multi-target pattern of blackbox and snmp exporters: Prometheus asks for one host by name.
    // Only configured or discovered hosts answer: the exporter is no open proxy.
    app.get('/probe', (request, response) => {
      const target = request.query['target'];
      if (typeof target !== 'string' || target === '') {
        response.status(400).type('text/plain').send('Missing the target parameter: /probe?target=<host name>\n');
        return;
      }
      const current = probe(target);
      if (current === undefined) {
        response.status(404).type('text/plain').send('Unknown target: not a configured or discovered host\n');
        return;
      }
      sendBody(request, response, current?.body ?? null);
    });
  }

  const targets = deps.targets;
  if (targets !== undefined) {
    app.get('/targets', (_request, response) => {
      response.type('application/json').send(`${JSON.stringify(targets())}\n`);
    });
  }

  app.get('/', (request, response) => {
    const page = request.query['page'];
    response.type('html').send(landingPage({ version: deps.version, source: deps.source, telemetryPath: deps.telemetryPath, hosts: deps.hosts(), multiHost: probe !== undefined, page: typeof page === 'string' ? page : undefined }));
  });

  app.get('/-/healthy', (_request, response) => {
    response.type('text/plain').send('Healthy\n');
  });

  app.get('/-/ready', (_request, response) => {
    const ready = deps.ready();
    response.status(ready ? 200 : 503).type('text/plain').send(ready ? 'Ready\n' : 'Not ready: no sample yet\n');
  });

  // The lifecycle API of Prometheus and Alertmanager, reload only: the same reload as SIGHUP, for
  // Windows (which has no SIGHUP) and for anyone who wants to know whether it worked.
  const reload = deps.reload;
  app.all(RELOAD_PATH, (request, response, next) => {
    if (request.method !== 'POST') {
      response.status(405).set('Allow', 'POST').type('text/plain').send('Method Not Allowed\n');
      return;
    }
    if (reload === undefined) {
      response.status(403).type('text/plain').send('Lifecycle API is not enabled.\n');
      return;
    }
    reload().then(
      (outcome) => {
        if (outcome.ok) response.type('text/plain').send('Reloaded\n');
        else response.status(500).type('text/plain').send(`failed to reload config: ${outcome.reason.replace(/\s+/g, ' ').trim()}\n`);
      },
      next,
    );
  });

  app.use((_request, response) => {
    response.status(404).type('text/plain').send('Not found\n');
  });

  // Errors are logged with their stack; the client gets a generic line, never the stack.
  app.use((error: unknown, request: Request, response: Response, next: NextFunction) => {
    deps.logger.error({ err: error, path: request.path }, 'request failed');
    if (response.headersSent) return next(error);
    response.status(500).type('text/plain').send('Internal server error\n');
  });

  return app;
}
