/**
 * One table of flags (src/cli/flags.ts) drives parsing, --help, validation and defaults; the flag
 * tables of README.md and docs/ must say the same: every flag, in the same order, with its default.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLAGS, parseCommandLine } from '../../src/cli/flags';

const root = join(__dirname, '..', '..');

/** The rows `| \`--flag\` | default | meaning |` of a markdown page. */
function flagRows(page: string): Array<{ flags: string[]; default: string }> {
  return readFileSync(join(root, page), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('| `--'))
    .map((line) => {
      const [, first = '', second = ''] = line.split('|');
      return { flags: [...first.matchAll(/`--([^`=]+)`/g)].map((m) => m[1]!), default: second.trim() };
    });
}

/** What a default cell must say for a flag: its default in backticks, "off" for a boolean, nothing for none. */
function defaultCell(name: string): string | null {
  const flag = FLAGS.find((f) => f.name === name)!;
  if (flag.type === 'boolean') return flag.to === undefined ? '' : 'off';
  // A default that the source chooses (--powershell.path) is said in the help, and in words in the docs.
  if (!('default' in flag)) return flag.help.includes('(default: ') ? null : '';
  // A default that depends on the platform is said in words.
  return typeof flag.default === 'string' ? `\`${flag.default}\`` : null;
}

describe("README's flag table and the flag table of the code", () => {
  const rows = flagRows('README.md');

  test('the same flags, in the same order', () => {
    expect(rows.flatMap((row) => row.flags)).toEqual(FLAGS.map((flag) => flag.name));
  });

  test.each(FLAGS.map((flag) => flag.name))('--%s: the default README gives is the default of the code', (name) => {
    const row = rows.find((r) => r.flags.includes(name))!;
    const expected = defaultCell(name);
    if (expected !== null) expect(row.default).toBe(expected);
  });

  test('the platform defaults in words are those of the code', () => {
    const row = (name: string): string => rows.find((r) => r.flags.includes(name))!.default;
    expect(row('source')).toBe('`powershell` on Windows, else `simulator`');
    const onLinux = parseCommandLine([], 'linux');
    const onWindows = parseCommandLine([], 'win32');
    expect(onLinux.kind === 'run' && onLinux.config.source).toBe('simulator');
    expect(onWindows.kind === 'run' && onWindows.config.source).toBe('powershell');
  });
});

describe('the flag tables of docs/', () => {
  const pages = readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`)
    .filter((page) => flagRows(page).length > 0);

  test.each(pages)('%s names only flags of the code, with their defaults', (page) => {
    for (const row of flagRows(page)) {
      for (const name of row.flags) {
        expect(FLAGS.map((flag) => flag.name)).toContain(name);
        const expected = defaultCell(name);
        if (expected !== null && row.flags.length === 1) expect({ name, default: row.default }).toEqual({ name, default: expected });
      }
    }
  });
});
