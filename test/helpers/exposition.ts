import { execFile, spawnSync } from 'node:child_process';

/**
 * A strict, fast checker of the Prometheus text exposition format 0.0.4, for tests that check many
 * outputs (fuzzing) where starting `promtool check metrics` each time would be too slow. It parses
 * and returns the series so that tests can also assert on label values; it throws ExpositionError
 * with the line number on the first violation.
 *
 * What it enforces (stricter than Prometheus where our output has no reason to be lax):
 * - the text is empty or ends with "\n", and is well-formed UTF-16 (so it encodes to valid UTF-8);
 * - `# HELP name text` and `# TYPE name type` at most once per family, TYPE before the family's samples;
 *   HELP text escapes only `\\` and `\n`;
 * - metric and label names match the format's grammar; label names are unique per sample and do not
 *   start with `__`; label values escape only `\\`, `\"` and `\n` and hold no raw newline;
 * - values are Go floats (NaN and ±Inf in any case, as Go reads them); an optional integer timestamp;
 * - the samples of one family are contiguous, and no series (name + label set) appears twice.
 */

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    message: string,
    readonly text: string,
  ) {
    super(`line ${line}: ${message}: ${JSON.stringify(text.slice(0, 200))}`);
    this.name = 'ExpositionError';
  }
}

export interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly series: readonly Series[];
  readonly types: ReadonlyMap<string, string>;
  readonly helps: ReadonlyMap<string, string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)$/;
// Go's strconv.ParseFloat, which Prometheus uses, takes these case-insensitively (prom-client writes "Nan").
const SPECIAL_VALUE = /^([+-]?)(inf|infinity|nan)$/i;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The family a sample belongs to: histogram and summary samples carry a suffix. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_created']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const type = types.get(base);
      if (type === 'histogram' || type === 'summary') return base;
    }
  }
  return name;
}

function unescapeHelp(text: string, line: number): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else throw new ExpositionError(line, `invalid escape \\${next ?? ''} in HELP`, text);
  }
  return out;
}

/** Parses `{a="x",b="y"}` starting at `start` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number, lineNumber: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = start + 1;
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 };
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i, i + 256));
    if (nameMatch === null) throw new ExpositionError(lineNumber, 'expected a label name', line);
    const name = nameMatch[0];
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new ExpositionError(lineNumber, `invalid label name ${name}`, line);
    if (name in labels) throw new ExpositionError(lineNumber, `duplicate label ${name}`, line);
    i += name.length;
    if (line[i] !== '=' || line[i + 1] !== '"') throw new ExpositionError(lineNumber, `expected =" after label ${name}`, line);
    i += 2;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new ExpositionError(lineNumber, `unterminated value of label ${name}`, line);
      if (c === '"') break;
      if (c === '\\') {
        const next = line[i + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new ExpositionError(lineNumber, `invalid escape \\${next ?? ''} in label ${name}`, line);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++; // the closing quote
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new ExpositionError(lineNumber, `expected , or } after label ${name}`, line);
  }
}

function parseValue(text: string, lineNumber: number, line: string): number {
  const special = SPECIAL_VALUE.exec(text);
  if (special !== null) return special[2]?.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (!FLOAT.test(text)) throw new ExpositionError(lineNumber, `invalid value ${text}`, line);
  return Number(text);
}

export function parseExposition(text: string): Exposition {
  if (text !== '' && !text.endsWith('\n')) throw new ExpositionError(0, 'text does not end with a newline', text.slice(-200));
  if (LONE_SURROGATE.test(text)) throw new ExpositionError(0, 'text holds a lone surrogate (not encodable as UTF-8)', text);
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const series: Series[] = [];
  const seenSeries = new Set<string>();
  const closedFamilies = new Set<string>();
  let currentFamily: string | null = null;
  const enterFamily = (family: string, lineNumber: number, line: string): void => {
    if (family === currentFamily) return;
    if (closedFamilies.has(family)) throw new ExpositionError(lineNumber, `family ${family} is not contiguous`, line);
    if (currentFamily !== null) closedFamilies.add(currentFamily);
    currentFamily = family;
  };

  const lines = text.split('\n');
  lines.pop(); // after the final newline
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (line === '') return;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (meta === null) return; // another comment
      const [, keyword, name = '', rest = ''] = meta;
      if (!METRIC_NAME.test(name)) throw new ExpositionError(lineNumber, `invalid metric name ${name}`, line);
      enterFamily(name, lineNumber, line);
      if (keyword === 'HELP') {
        if (helps.has(name)) throw new ExpositionError(lineNumber, `second HELP for ${name}`, line);
        helps.set(name, unescapeHelp(rest, lineNumber));
      } else {
        if (types.has(name)) throw new ExpositionError(lineNumber, `second TYPE for ${name}`, line);
        if (!TYPES.has(rest)) throw new ExpositionError(lineNumber, `invalid type ${rest}`, line);
        if (series.some((s) => familyOf(s.name, types) === name)) throw new ExpositionError(lineNumber, `TYPE after samples of ${name}`, line);
        types.set(name, rest);
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (nameMatch === null) throw new ExpositionError(lineNumber, 'expected a metric name', line);
    const name = nameMatch[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i, lineNumber));
    if (line[i] !== ' ') throw new ExpositionError(lineNumber, 'expected a space before the value', line);
    const fields = line.slice(i + 1).split(' ');
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new ExpositionError(lineNumber, 'expected a value and an optional timestamp', line);
    const value = parseValue(fields[0] ?? '', lineNumber, line);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new ExpositionError(lineNumber, `invalid timestamp ${fields[1]}`, line);
    enterFamily(familyOf(name, types), lineNumber, line);
    const key = `${name}{${Object.keys(labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(labels[k])}`)
      .join(',')}}`;
    if (seenSeries.has(key)) throw new ExpositionError(lineNumber, `duplicate series ${key}`, line);
    seenSeries.add(key);
    series.push({ name, labels: { ...labels }, value });
  });
  return { series, types, helps };
}

/** The series of one metric name whose labels include all of `labels`. */
export function findSeries(exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): Series[] {
  return exposition.series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one series matching; throws when none or several match. */
export function valueOf(exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const found = findSeries(exposition, name, labels);
  if (found.length !== 1) throw new Error(`expected one series ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return (found[0] as Series).value;
}

/**
 * `promtool check metrics` on `text`: '' when promtool accepts it, else its complaint (with the exit
 * status). promtool lints too (naming, HELP), so an accepted text is valid and idiomatic.
 */
export function promtoolCheck(promtool: string, text: string | Buffer): string {
  const result = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) return `promtool did not run: ${result.error.message}`;
  return promtoolVerdict(result.status, `${result.stdout}${result.stderr}`);
}

/** '' when promtool exited 0 and said nothing, else its complaint with the exit status. */
function promtoolVerdict(status: number | null, output: string): string {
  const said = output.trim();
  return status === 0 && said === '' ? '' : `exit ${String(status)}: ${said}`;
}

/**
 * promtoolCheck on several texts, a few promtool processes at a time (`check metrics` reads one
 * exposition from stdin, so each text needs a process of its own; one after the other, their start-up
 * is most of the time): the verdicts, in the order of `texts`, each '' or the complaint as promtoolCheck has it.
 */
export async function promtoolCheckAll(promtool: string, texts: ReadonlyArray<string | Buffer>, concurrency = 4): Promise<string[]> {
  const check = (text: string | Buffer): Promise<string> =>
    new Promise((resolve) => {
      const child = execFile(promtool, ['check', 'metrics'], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        if (error !== null && status === null) return resolve(`promtool did not run: ${error.message}`);
        resolve(promtoolVerdict(status, `${stdout}${stderr}`));
      });
      child.stdin?.on('error', () => undefined); // a promtool that quits before reading all of it: its exit says why
      child.stdin?.end(text);
    });
  const verdicts: string[] = new Array<string>(texts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < texts.length) {
      const index = next++;
      verdicts[index] = await check(texts[index] as string | Buffer);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, texts.length) }, worker));
  return verdicts;
}

/** An exposition without the series that depend on when and how long a sample took. */
export function withoutTimingSeries(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^hyperv_(sample_duration_seconds|sample_timestamp_seconds|collector_duration_seconds|vm_seen_since_timestamp_seconds)[ {]/.test(line))
    .join('\n');
}
