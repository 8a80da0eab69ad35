import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GiveUp, waitFor } from './waitFor';

export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export function requireBuild(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
}

/** A line of the exporter's log: pino's JSON, or { level: 0, msg } for a line that is not JSON. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface RunningExporter {
  readonly process: ChildProcessWithoutNullStreams;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  /** stderr, line by line, as written. */
  readonly logLines: string[];
  /** stderr lines parsed, in order. */
  logs(): LogLine[];
  /** Signals the exporter (SIGTERM unless told) if it still runs; resolves with how it exited. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the exit code, signal and time (performance.now()) of the exit, or rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export interface StartOptions {
  /** Another script than dist/main.js (the release bundle, say). */
  readonly script?: string;
  /** Added to the environment (NODE_OPTIONS is cleared, so that jest's do not reach the exporter). */
  readonly env?: NodeJS.ProcessEnv;
  /** Node's own arguments, before the script (`--require preload.js`). */
  readonly nodeArgs?: readonly string[];
  /** How long it may take to listen; default 10 s. */
  readonly timeoutMs?: number;
}

const started = new Set<ChildProcessWithoutNullStreams>();

/** Kills (SIGKILL, by pid) every exporter startExporter started that is still running. */
export function killStartedExporters(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  started.clear();
}

/**
 * Starts the built exporter (npm run build) on 127.0.0.1 with an ephemeral port, which it reports in
 * its "listening" log line; resolves once it listens, and fails at once if it exits before.
 */
export async function startExporter(args: readonly string[], options: StartOptions = {}): Promise<RunningExporter> {
  const script = options.script ?? MAIN;
  if (script === MAIN) requireBuild();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, '--web.listen-address=127.0.0.1:0', ...args], {
    stdio: 'pipe',
    env: { ...process.env, NODE_OPTIONS: '', ...options.env },
  });
  started.add(child);
  const logLines: string[] = [];
  const lines: LogLine[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    logLines.push(line);
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      lines.push({ level: 0, msg: line });
    }
  });
  child.stdout.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });

  const port = await waitFor(
    'the exporter to log "listening"',
    () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new GiveUp(`the exporter exited with ${child.exitCode ?? child.signalCode} before listening`);
      const address = lines.find((line) => line.msg === 'listening')?.['address'] as { port?: number } | undefined;
      return address?.port;
    },
    { timeoutMs: options.timeoutMs ?? 10_000, describe: () => logLines.join('\n') },
  );
  return {
    process: child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    logLines,
    logs: () => lines,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const { code, signal: exitSignal } = await exit;
      return { code, signal: exitSignal };
    },
    async exited(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`exporter did not exit within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
