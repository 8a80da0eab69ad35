import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CONTENT_TYPE } from './metrics/exposition';
import type { ExporterMetrics } from './metrics/exporterMetrics';
import type { ScrapeBody } from './metrics/scrapeBody';
import type { SamplerState } from './sampling/sampler';
import { landingPage } from './server/landingPage';

export interface AppDependencies {
  readonly telemetryPath: string;
  readonly version: string;
  readonly source: string;
  readonly state: () => SamplerState;
  readonly body: ScrapeBody;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
}

function acceptsGzip(request: Request): boolean {
  const header = request.headers['accept-encoding'];
  return typeof header === 'string' && /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[\d.]+)?\s*(,|$)/i.test(header);
}

/**
 * The HTTP app, without a port: main puts it behind the (TLS, auth) server. It only serves what the
 * last sample published; no handler waits for a sample.
 */
export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.get(deps.telemetryPath, async (request, response) => {
    const { body, gzip } = deps.body.compose(await deps.metrics.render(), acceptsGzip(request));
    response.writeHead(200, {
      'Content-Type': CONTENT_TYPE,
      'Content-Length': body.length,
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    response.end(body);
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
