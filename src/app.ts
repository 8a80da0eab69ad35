import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CONTENT_TYPE } from './metrics/exposition';
import type { Body, CurrentSample } from './sampling/currentSample';
import { landingPage, type LandingHost } from './server/landingPage';

/** A group of targets in Prometheus' HTTP service-discovery format. */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** What the app serves: everything was published before; nothing here waits for a sample. */
export interface AppDependencies {
  readonly telemetryPath: string;
  readonly version: string;
  /** What the exporter samples: its source (one host), or `config` (--config.file). */
  readonly source: string;
  /** The body of the telemetry path; null only before the first publication. */
  readonly metrics: () => Body | null;
  /** The hosts, for the landing page. */
  readonly hosts: () => readonly LandingHost[];
  /** /-/ready: 200 once this holds. */
  readonly ready: () => boolean;
  /**
   * With --config.file: a host's last published sample by /probe target; undefined for a name that is
   * no configured or discovered host. Absent: one host, no /probe.
   */
  readonly probe?: (target: string) => CurrentSample | null | undefined;
  /** With --config.file: the hosts as Prometheus HTTP service discovery wants them (/targets). */
  readonly targets?: () => readonly TargetGroup[];
  readonly logger: Logger;
}

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

/** The host a scrape of /probe names, when it names exactly one known host; else undefined. */
function probedHost(deps: AppDependencies, query: string): CurrentSample | null | undefined {
  const targets = new URLSearchParams(query).getAll('target');
  return targets.length === 1 && targets[0] !== '' ? deps.probe?.(targets[0] as string) : undefined;
}

/**
 * The request listener main serves: scrapes (the telemetry path, and /probe of a known host) are
 * answered directly, everything else by the express app, which also answers a /probe it cannot (400,
 * 404). Scrapes are the one hot path (megabytes at 1024 VMs); express's per-request work would cost a
 * measurable share of throughput there (docs/performance.md).
 */
export function createRequestListener(deps: AppDependencies): RequestListener {
  const app = createApp(deps);
  return (request, response) => {
    const url = request.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (request.method === 'GET' || request.method === 'HEAD') {
      if (path === deps.telemetryPath) {
        sendBody(request, response, deps.metrics());
        return;
      }
      if (path === '/probe' && deps.probe !== undefined && query !== -1) {
        const current = probedHost(deps, url.slice(query + 1));
        if (current !== undefined) {
          sendBody(request, response, current?.body ?? null);
          return;
        }
      }
    }
    app(request, response);
  };
}

/**
 * The HTTP app, without a port: main puts it behind the (TLS, auth) server. It only serves what the
 * samples published; no handler waits for a sample.
 */
export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // ?target=a&target=b must stay a string or an array of strings, never an object (qs's extended syntax).
  app.set('query parser', 'simple');

  app.get(deps.telemetryPath, (request, response) => sendBody(request, response, deps.metrics()));

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
