/**
 * Signals and fatal errors of the built exporter as a process (dist/main.js, replay source, 127.0.0.1):
 * - SIGTERM and SIGINT: sampling stops, the server closes, exit 0 within a few seconds — also while a
 *   client holds a request open and while a sample is wedged in the source;
 * - a second signal during shutdown exits at once;
 * - an uncaught exception or unhandled rejection is logged (fatal) and exits non-zero, leaving no
 *   half-alive process (the port is closed).
 * The fatal error is injected without touching src/: a `--require` preload (written by the test) throws
 * from a SIGUSR2 listener, or rejects a promise nobody handles; main's process-wide handlers take it
 * from there exactly as they would take a bug.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killStartedExporters, startExporter, type RunningExporter } from '../helpers/exporterProcess';
import { sleep, waitFor } from '../helpers/waitFor';
import { cleanDocument, httpGet } from '../sampling/support';

jest.setTimeout(30_000);

let dir = '';
let documentFile = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hyperv-signals-'));
  documentFile = join(dir, 'host.json');
  writeFileSync(documentFile, JSON.stringify(cleanDocument(2)));
});
afterAll(() => {
  killStartedExporters();
  rmSync(dir, { recursive: true, force: true });
});

async function startReady(extra: readonly string[] = [], nodeArgs: readonly string[] = []): Promise<RunningExporter> {
  const exporter = await startExporter(['--source=replay', `--replay.file=${documentFile}`, '--sample.interval=200ms', ...extra], { nodeArgs });
  await waitFor('ready', async () => (await httpGet(`${exporter.baseUrl}/-/ready`)).status === 200, { timeoutMs: 10_000, intervalMs: 50 });
  return exporter;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A client that sent half a request and waits: its connection is not idle, so close() cannot drop it. */
function halfRequest(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('timeout', () => reject(new Error('connect timed out')));
    socket.setTimeout(5_000);
  });
}

const messages = (exporter: RunningExporter): string[] => exporter.logs().map((line) => line.msg);

describe('signals', () => {
  test.each(['SIGTERM', 'SIGINT'] as const)('%s: exit 0 within a few seconds, port closed, shutdown logged', async (signal) => {
    const exporter = await startReady();
    const sentAt = performance.now();
    exporter.process.kill(signal);
    const { code, at } = await exporter.exited(5_000);
    expect(code).toBe(0);
    expect(at - sentAt).toBeLessThan(3_000);
    expect(await accepts(exporter.port)).toBe(false);
    expect(messages(exporter)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
    expect(exporter.logs().find((line) => line.msg === 'shutting down')?.['signal']).toBe(signal);
    expect(exporter.logs().filter((line) => line.level >= 50)).toEqual([]);
  });

  test('SIGTERM while a client holds a request half-sent: still exit 0 within a few seconds', async () => {
    const exporter = await startReady();
    const socket = await halfRequest(exporter.port);
    try {
      const sentAt = performance.now();
      exporter.process.kill('SIGTERM');
      const { code, at } = await exporter.exited(5_000);
      expect(code).toBe(0);
      expect(at - sentAt).toBeLessThan(3_000);
    } finally {
      socket.destroy();
    }
  });

  test('a second signal during shutdown exits at once', async () => {
    const exporter = await startReady();
    // The half-sent request keeps the first shutdown busy (for up to 1 s, until connections are cut).
    const socket = await halfRequest(exporter.port);
    try {
      exporter.process.kill('SIGTERM');
      await waitFor('"shutting down" in the log', () => messages(exporter).includes('shutting down'), { timeoutMs: 2_000, intervalMs: 5 });
      const secondAt = performance.now();
      exporter.process.kill('SIGINT');
      const { code, at } = await exporter.exited(5_000);
      expect(at - secondAt).toBeLessThan(500);
      expect(code).not.toBe(0);
      expect(messages(exporter)).toContain('second signal: exiting now');
      expect(messages(exporter)).not.toContain('stopped');
    } finally {
      socket.destroy();
    }
  });

  // SIGUSR1 used to open Node's inspector on 127.0.0.1:9229: any local user could attach and run code
  // as the exporter's account. The exporter must never open it on a signal, and must go on serving.
  test('SIGUSR1 opens no inspector: nothing listens on 9229, the exporter serves on and SIGTERM still stops it', async () => {
    const inspectorPort = 9229;
    const listeningBefore = await accepts(inspectorPort);
    const exporter = await startReady();
    exporter.process.kill('SIGUSR1');
    exporter.process.kill('SIGUSR1');
    // Node opens the inspector within milliseconds of the signal, and prints where it listens.
    await sleep(1_000);
    const stderr = exporter.logs().map((line) => line.msg);
    expect(stderr.filter((line) => /Debugger listening|inspector|ws:\/\//i.test(line))).toEqual([]);
    const printed = stderr.join('\n').match(/ws:\/\/[^:/]+:(\d+)\//);
    if (printed?.[1] !== undefined) expect(await accepts(Number(printed[1]))).toBe(false);
    if (!listeningBefore) expect(await accepts(inspectorPort)).toBe(false);
    // Still the same process, still serving.
    expect(exporter.process.exitCode).toBeNull();
    expect((await httpGet(`${exporter.baseUrl}/metrics`)).status).toBe(200);
    expect((await httpGet(`${exporter.baseUrl}/-/healthy`)).status).toBe(200);
    exporter.process.kill('SIGTERM');
    const { code } = await exporter.exited(5_000);
    expect(code).toBe(0);
    expect(messages(exporter)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
  });

  // The listener of src/main.ts is in place only once main.js runs; a SIGUSR1 that comes while node
  // starts (about the first 100 ms here) opens the inspector, which main.ts then closes. Made
  // deterministic with a preload that signals the process before main.js loads.
  test('a SIGUSR1 while node starts leaves no inspector open once the exporter listens', async () => {
    const preload = join(dir, 'early-sigusr1.js');
    writeFileSync(preload, "// Test-only preload: a SIGUSR1 that arrives before src/main.ts runs.\nprocess.kill(process.pid, 'SIGUSR1');\n");
    const listeningBefore = await accepts(9229);
    const exporter = await startReady([], ['--require', preload]);
    try {
      await sleep(300);
      const printed = exporter.logs().map((line) => line.msg).join('\n').match(/ws:\/\/[^:/]+:(\d+)\//);
      if (printed?.[1] !== undefined) expect(await accepts(Number(printed[1]))).toBe(false);
      if (!listeningBefore) expect(await accepts(9229)).toBe(false);
      expect((await httpGet(`${exporter.baseUrl}/metrics`)).status).toBe(200);
    } finally {
      exporter.process.kill('SIGKILL');
      await exporter.exited(5_000);
    }
  });

  // BUG (reported): with a FIFO as --replay.file the first sample blocks a libuv thread in open(2).
  // Shutdown itself is quick ("stopped" is logged at once), but process.exit() joins the thread pool and
  // never returns: the process stays alive with its port closed until SIGKILL, and the 10 s forced exit
  // cannot fire (the event loop has stopped). Fix: the replay source refuses anything but a regular file
  // (test/sampling/replayFaults.test.ts). Any source that blocks a thread-pool thread has the same effect.
  const fifoTest = process.platform === 'win32' ? test.skip : test;
  fifoTest('SIGTERM with a FIFO as the replay file (a read blocked in the kernel): exit 0 within a few seconds', async () => {
    const fifo = join(dir, 'wedged.json');
    execFileSync('mkfifo', [fifo]);
    const exporter = await startExporter(['--source=replay', `--replay.file=${fifo}`, '--sample.interval=200ms', '--sample.timeout=20s']);
    await sleep(500); // the first sample is now stuck in open()
    const sentAt = performance.now();
    exporter.process.kill('SIGTERM');
    try {
      const { code, at } = await exporter.exited(5_000);
      expect(at - sentAt).toBeLessThan(3_000);
      expect(code).toBe(0);
    } finally {
      // The process may be stuck in exit: do not leave it behind.
      if (exporter.process.exitCode === null && exporter.process.signalCode === null) exporter.process.kill('SIGKILL');
    }
  });
});

describe('fatal errors', () => {
  const preload = (): string => {
    const file = join(dir, 'inject-fatal.js');
    writeFileSync(
      file,
      `// Test-only preload: turns SIGUSR2 into a fatal error of the kind named by INJECT_FATAL.
process.on('SIGUSR2', () => {
  if (process.env.INJECT_FATAL === 'rejection') Promise.reject(new Error('injected unhandled rejection'));
  else throw new Error('injected uncaught exception');
});
`,
    );
    return file;
  };

  test.each([
    ['an uncaught exception', 'exception', 'injected uncaught exception'],
    ['an unhandled rejection', 'rejection', 'injected unhandled rejection'],
  ])('%s: logged as fatal, exit non-zero at once, nothing left listening', async (_what, kind, message) => {
    process.env.INJECT_FATAL = kind;
    let exporter: RunningExporter;
    try {
      exporter = await startReady([], ['--require', preload()]);
    } finally {
      delete process.env.INJECT_FATAL;
    }
    // Serving normally before the fault.
    expect((await httpGet(`${exporter.baseUrl}/metrics`)).status).toBe(200);
    const sentAt = performance.now();
    exporter.process.kill('SIGUSR2');
    const { code, at } = await exporter.exited(5_000);
    expect(code).toBe(1);
    expect(at - sentAt).toBeLessThan(2_000);
    const fatal = exporter.logs().filter((line) => line.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.msg).toBe('unexpected error; exiting');
    expect(JSON.stringify(fatal[0]?.['err'])).toContain(message);
    expect(await accepts(exporter.port)).toBe(false);
  });
});
