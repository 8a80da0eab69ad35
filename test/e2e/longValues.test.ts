/**
 * Flag values of 100 000 characters, given to the built exporter (dist/main.js): the exporter exits 2
 * with ONE short line on stderr that shows the value abbreviated, and the line is always complete.
 * These values used to be echoed whole: a 100 KB error line, sometimes cut at 65 536 bytes because the
 * process exited before stderr had drained. Each case runs several times at once, with stderr to a pipe
 * and to a file, and the line must be whole every time.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN as builtMain, requireBuild } from '../helpers/exporterProcess';

jest.setTimeout(40_000);

let dir = '';
let runs = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hyperv-long-values-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RUNS = 4;

/** Runs the exporter with `args`, its stderr to a pipe or to a file (as a service manager may have it); resolves at exit. */
async function run(args: readonly string[], stderrTo: 'pipe' | 'file'): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: Buffer; stdout: string }> {
  requireBuild();
  const file = join(dir, `stderr-${++runs}.txt`);
  const fd = stderrTo === 'file' ? openSync(file, 'w') : null;
  const child = spawn(process.execPath, [builtMain, '--log.format=json', ...args], { stdio: ['ignore', 'pipe', fd ?? 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  if (fd !== null) closeSync(fd);
  const chunks: Buffer[] = [];
  let stdout = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (c, s) => resolve({ code: c, signal: s })));
  clearTimeout(killer);
  return { code, signal, stderr: fd === null ? Buffer.concat(chunks) : readFileSync(file), stdout };
}

const LONG = 100_000;

describe('a flag value of 100 000 characters: exit 2, one short and complete line with the value abbreviated', () => {
  test.each([
    ['--web.listen-address', [`--web.listen-address=${'a'.repeat(LONG)}`], 'a'],
    ['--powershell.computer-name', ['--source=powershell', `--powershell.computer-name=${'b'.repeat(LONG)}`], 'b'],
    ['--powershell.computer-name (not a name at all)', ['--source=powershell', `--powershell.computer-name=${'$('.repeat(LONG / 2)}`], '$('],
    ['--sample.interval', [`--sample.interval=${'9'.repeat(LONG)}s`], '9'],
  ])('%s', async (flag, args, character) => {
    // The runs at once: each is a process of its own, with a pipe or a file of its own.
    const results = await Promise.all(Array.from({ length: RUNS }, (_, i) => run(['--web.listen-address=127.0.0.1:0', ...args], i % 2 === 0 ? 'pipe' : 'file')));
    for (const [i, { code, signal, stderr, stdout }] of results.entries()) {
      expect({ run: i, code, signal }).toEqual({ run: i, code: 2, signal: null });
      expect(stdout).toBe('');
      const text = stderr.toString('utf8');
      expect(stderr.length).toBeLessThan(500);
      // One line, ended by its newline: complete.
      expect(text.endsWith('\n')).toBe(true);
      expect(text.slice(0, -1)).not.toContain('\n');
      expect(text.startsWith(`hyperv-ic-exporter: ${flag.split(' ')[0]}`)).toBe(true);
      // The value abbreviated: its beginning and how long it was.
      expect(text).toContain(`"${character.repeat(40 / character.length)}`);
      expect(text).toMatch(new RegExp(`\\(${String(LONG + (flag === '--sample.interval' ? 1 : 0))} characters\\)`));
    }
  });

  // A [host]:port address with a 100 000-character host: the host is checked as a flag (an IP address,
  // or a DNS name of at most 253 characters), not left for getaddrinfo to fail on at start.
  test('--web.listen-address=<100 000-character host>:10062 is refused as a flag: exit 2, one line', async () => {
    const { code, stderr } = await run([`--web.listen-address=${'h'.repeat(LONG - 6)}:10062`, '--source=simulator'], 'pipe');
    expect(code).toBe(2);
    const text = stderr.toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toContain('\n');
    expect(stderr.length).toBeLessThan(500);
    expect(text).toContain(`(${LONG - 6} characters)`);
  });
});
