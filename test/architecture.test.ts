import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The layer rules of ../shared/design.md, checked on every import in src/: each room imports only
 * the rooms below it, so that the data goes one way (source → document → model → exposition → HTTP)
 * and no change can quietly tie two rooms together.
 */

const SRC = resolve(__dirname, '..', 'src');

/** Room → the rooms it may import (besides itself). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  contract: [],
  document: ['contract'],
  model: ['contract', 'document'],
  metrics: ['contract', 'document', 'model'],
  sources: ['contract', 'document'],
  sampling: ['contract', 'document', 'model', 'metrics'],
  config: ['contract', 'cli'],
  cli: ['contract', 'config'],
  server: ['contract', 'document', 'model', 'metrics', 'sampling'],
  logger: ['config'],
  version: [],
  runtimeSettings: [],
  windowsAccount: [],
  // Declarations for the compiler only.
  types: [],
  app: ['contract', 'document', 'model', 'metrics', 'sampling', 'server'],
  // The samplers of one host or many, with their sources: what main wires to the server.
  hosts: ['contract', 'document', 'model', 'metrics', 'sources', 'sampling', 'config', 'cli'],
  // main wires everything.
  main: ['contract', 'document', 'model', 'metrics', 'sources', 'sampling', 'config', 'cli', 'server', 'logger', 'version', 'runtimeSettings', 'windowsAccount', 'app', 'hosts'],
};

/** Packages only one room may use. */
const PACKAGE_OWNERS: Readonly<Record<string, string>> = {
  'node-powershell': 'sources/powershell',
};

function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** src/sampling/scheduler.ts → sampling; src/main.ts → main. */
function roomOf(file: string): string {
  const [first] = relative(SRC, file).split(/[\\/]/);
  return (first ?? '').replace(/\.ts$/, '');
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|require\('([^']+)'\)|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

const files = filesUnder(SRC);

describe('layers: each room imports only the rooms below it', () => {
  test('every room of src/ has a rule', () => {
    expect(files.map(roomOf).filter((room) => MAY_IMPORT[room] === undefined)).toEqual([]);
  });

  test('no import crosses a layer the wrong way', () => {
    const violations: string[] = [];
    for (const file of files) {
      const room = roomOf(file);
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = roomOf(resolve(dirname(file), specifier));
        if (target !== room && !(MAY_IMPORT[room] ?? []).includes(target)) violations.push(`${relative(SRC, file)} imports ${specifier} (${room} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
  });

  test('packages with one owner are imported only there', () => {
    const violations: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        const owner = PACKAGE_OWNERS[specifier];
        if (owner !== undefined && !relative(SRC, file).startsWith(owner)) violations.push(`${relative(SRC, file)} imports ${specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  test('the checker sees imports (it would catch a violation)', () => {
    // A file known to import across rooms: the checker must find those imports.
    expect(importsOf(join(SRC, 'sampling', 'sampleStep.ts'))).toEqual(expect.arrayContaining(['../contract/sample', '../metrics/renderModel']));
    expect(roomOf(join(SRC, 'sources', 'powershell', 'session.ts'))).toBe('sources');
    expect(MAY_IMPORT['metrics']).not.toContain('sampling');
    expect(MAY_IMPORT['document']).not.toContain('sources');
  });
});

describe('the pure rooms stay plain', () => {
  const pure = files.filter((file) => ['document', 'model', 'metrics'].includes(roomOf(file)));

  test('src/document, src/model and src/metrics together stay within 2,100 lines', () => {
    const lines = pure.reduce((sum, file) => sum + readFileSync(file, 'utf8').split('\n').length, 0);
    expect(lines).toBeLessThanOrEqual(2_100);
  });

  test('no "frozen means reusable" protocol and no module-level cache', () => {
    const found: string[] = [];
    for (const file of pure) {
      const text = readFileSync(file, 'utf8');
      if (text.includes('Object.isFrozen')) found.push(`${relative(SRC, file)}: Object.isFrozen`);
      // A Map, Set or WeakMap made at module level is a cache unless it is a read-only table.
      for (const match of text.matchAll(/^(?:export )?(?:const|let|var) (\w+)(: [^=]+)? = new (?:Weak)?(?:Map|Set)\b/gm)) {
        if (!(match[2] ?? '').includes('Readonly')) found.push(`${relative(SRC, file)}: ${match[1]}`);
      }
    }
    expect(found).toEqual([]);
  });
});
