import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CONTENT_TYPE } from './metrics/exposition';
import type { ScrapeBody } from './metrics/scrapeBody';
import type { SamplerState } from './sampling/sampler';
import { landingPage } from './server/landingPage';

export interface AppDependencies {
  readonly telemetryPath: string;
  readonly version: string;
  readonly source: string;
  readonly state: () => SamplerState;
  readonly body: ScrapeBody;
  /** The exporter's own metrics as text, rendered per scrape or shared between close scrapes. */
  readonly exporterMetricsText: () => Promise<string>;
  readonly logger: Logger;
}

function acceptsGzip(request: IncomingMessage): boolean {
  const header = request.headers['accept-encoding'];
  return typeof header === 'string' && /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[\d.]+)?\s*(,|$)/i.test(header);
}

/** Serves the telemetry path: the last published model metrics and the exporter's own metrics. */
function createMetricsHandler(deps: AppDependencies): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    const { chunks, length, gzip } = deps.body.compose(await deps.exporterMetricsText(), acceptsGzip(request));
    response.writeHead(200, {
      'Content-Type': CONTENT_TYPE,
      'Content-Length': length,
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    if (chunks.length === 1) {
      response.end(chunks[0]);
      return;
    }
    // Several buffers (an uncompressed body not kept whole): written together, without a copy.
    response.cork();
    for (const chunk of chunks) response.write(chunk);
    response.end();
    response.uncork();
  };
}

/**
 * The request listener main serves: the telemetry path is answered directly, everything else by the
 * express app. Scrapes are the one hot path (every few seconds, megabytes at 1024 VMs); express's
 * per-request work costs a measurable share of throughput there (docs/performance.md).
 */
export function createRequestListener(deps: AppDependencies): RequestListener {
  const app = createApp(deps);
  const metrics = createMetricsHandler(deps);
  return (request, response) => {
    const url = request.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path === deps.telemetryPath && (request.method === 'GET' || request.method === 'HEAD')) {
      metrics(request, response).catch((error: unknown) => {
        deps.logger.error({ err: error, path }, 'request failed');
        if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal server error\n');
        else response.destroy();
      });
      return;
    }
    app(request, response);
  };
}

/**
 * The HTTP app, without a port: main puts it behind the (TLS, auth) server. It only serves what the
 * last sample published; no handler waits for a sample.
 */
export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  const metrics = createMetricsHandler(deps);
  app.get(deps.telemetryPath, (request, response, next) => {
    metrics(request, response).catch(next);
  });

  app.get('/', (_request, response) => {
    const state = deps.state();
    response
      .type('html')
      .send(landingPage({ version: deps.version, source: deps.source, telemetryPath: deps.telemetryPath, model: state.model, lastSuccessAt: state.lastSuccessAt }));
  });

  app.get('/-/healthy', (_request, response) => {
    response.type('text/plain').send('Healthy\n');
  });

  app.get('/-/ready', (_request, response) => {
    const ready = deps.state().ready;
    response.status(ready ? 200 : 503).type('text/plain').send(ready ? 'Ready\n' : 'Not ready: no successful sample yet\n');
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
