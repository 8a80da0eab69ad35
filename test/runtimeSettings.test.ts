import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { missingSettings, parseShebang, runtimeSettingsOf } from '../src/runtimeSettings';
import { startExporter } from './helpers/exporterProcess';

const ROOT = join(__dirname, '..');

describe('parseShebang', () => {
  test('reads the environment and the node options of an env -S line', () => {
    expect(parseShebang('#!/usr/bin/env -S A=1 B_C=x=y node --one --two=2\r')).toEqual({ env: { A: '1', B_C: 'x=y' }, nodeOptions: ['--one', '--two=2'] });
    expect(parseShebang('#!/usr/bin/env -S node')).toEqual({ env: {}, nodeOptions: [] });
  });

  test.each(['#!/usr/bin/env node', '#!/usr/bin/env -S A=1 deno run', '// no shebang'])('refuses %s', (line) => {
    expect(() => parseShebang(line)).toThrow();
  });
});

describe('missingSettings', () => {
  const settings = { env: { MALLOC_ARENA_MAX: '2' }, nodeOptions: ['--a=1', '--b'] };
  test('lists the node options not given, and on Linux the environment not set to its value', () => {
    expect(missingSettings(settings, { execArgv: ['--b', '--a=1'], env: { MALLOC_ARENA_MAX: '2' }, platform: 'linux' })).toEqual([]);
    expect(missingSettings(settings, { execArgv: ['--a=2'], env: { MALLOC_ARENA_MAX: '4' }, platform: 'linux' })).toEqual(['--a=1', '--b', 'MALLOC_ARENA_MAX=2']);
    expect(missingSettings(settings, { execArgv: ['--a=1', '--b'], env: {}, platform: 'win32' })).toEqual([]);
  });
});

describe('the runtime settings of src/main.ts', () => {
  const settings = runtimeSettingsOf(join(ROOT, 'src', 'main.ts'));

  test('are the ones docs/performance.md measures, and the build keeps them in dist/main.js', () => {
    expect(settings.env).toEqual({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' });
    expect(settings.nodeOptions).toEqual(['--max-semi-space-size=8', '--heap-growing-percent=25']);
    expect(runtimeSettingsOf(join(ROOT, 'dist', 'main.js'))).toEqual(settings);
    // Linux before 5.1 reads only the first 127 characters of a #! line.
    expect(readFileSync(join(ROOT, 'src', 'main.ts'), 'utf8').indexOf('\n')).toBeLessThan(128);
  });

  test('every node option is one this node accepts', () => {
    const result = spawnSync(process.execPath, [...settings.nodeOptions, '-e', '0'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  const linux = process.platform === 'linux' ? test : test.skip;
  linux('npm start (scripts/start.js) runs the exporter with them, passes flags on and forwards SIGTERM', async () => {
    const launcher = spawn(process.execPath, [join(ROOT, 'scripts', 'start.js'), '--source=simulator', '--simulator.vms=2', '--web.listen-address=127.0.0.1:0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    const logLines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the exporter did not start')), 10_000);
      createInterface({ input: launcher.stderr! }).on('line', (line) => {
        logLines.push(line);
        if (line.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const children = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          // The parent pid is the second field after the command name in parentheses.
          return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(launcher.pid);
        } catch {
          return false;
        }
      });
    expect(children).toHaveLength(1);
    const commandLine = readFileSync(`/proc/${children[0]!}/cmdline`, 'utf8').split('\0').filter((word) => word !== '');
    expect(commandLine.slice(1)).toEqual([...settings.nodeOptions, join(ROOT, 'dist', 'main.js'), '--source=simulator', '--simulator.vms=2', '--web.listen-address=127.0.0.1:0']);
    const environment = readFileSync(`/proc/${children[0]!}/environ`, 'utf8').split('\0');
    for (const [name, value] of Object.entries(settings.env)) expect(environment).toContain(`${name}=${value}`);
    expect(logLines.filter((line) => line.includes('started without the runtime settings'))).toEqual([]);
    launcher.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  test('the exporter says so in its log when it was started without them', async () => {
    const exporter = await startExporter(['--source=simulator', '--simulator.vms=2']);
    try {
      const line = exporter.logLines.find((text) => text.includes('started without the runtime settings'));
      expect(line).toBeDefined();
      expect((JSON.parse(line!) as { missing: string[] }).missing).toEqual(expect.arrayContaining(settings.nodeOptions));
    } finally {
      await exporter.stop();
    }
  });
});
