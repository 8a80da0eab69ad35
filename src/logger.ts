import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config';

/** Logs go to stderr, so that the `sample` subcommand's stdout holds nothing but the document. */
export function createLogger(log: Config['log']): Logger {
  const destination = log.format === 'pretty' ? pretty({ destination: 2, colorize: process.stderr.isTTY }) : pino.destination({ dest: 2, sync: true });
  return pino({ level: log.level, base: { name: 'hyperv-ic-exporter' } }, destination);
}
