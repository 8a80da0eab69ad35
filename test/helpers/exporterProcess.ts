import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface RunningExporter {
  readonly process: ChildProcessWithoutNullStreams;
  readonly baseUrl: string;
  readonly logLines: string[];
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the built exporter (npm run build; or another script, such as the release bundle) on 127.0.0.1 with an ephemeral port, which it reports in
 * its "listening" log line; resolves once it listens.
 */
export async function startExporter(args: string[], timeoutMs = 10_000, options: { readonly script?: string; readonly env?: NodeJS.ProcessEnv } = {}): Promise<RunningExporter> {
  const child = spawn(process.execPath, [options.script ?? MAIN, '--web.listen-address=127.0.0.1:0', '--log.level=info', ...args], {
    stdio: 'pipe',
    env: { ...process.env, ...options.env },
  });
  const logLines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exporter did not listen within ${timeoutMs} ms: ${logLines.join('\n')}`)), timeoutMs);
    createInterface({ input: child.stderr }).on('line', (line) => {
      logLines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: { port?: number } };
        if (entry.msg === 'listening' && typeof entry.address?.port === 'number') {
          clearTimeout(timer);
          resolve(entry.address.port);
        }
      } catch {
        // not a JSON log line
      }
    });
    void exited.then(({ code }) => reject(new Error(`exporter exited with ${code}: ${logLines.join('\n')}`)));
  });
  return {
    process: child,
    baseUrl: `http://127.0.0.1:${port}`,
    logLines,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
