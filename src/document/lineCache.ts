import { hash } from 'node:crypto';
import { PauseInterrupted } from './pauseInterrupted';

/**
 * Parses a sample document written one instance per line, reusing what the previous sample parsed.
 *
 * The layout (what serializeDocument and the collection script write; it is ordinary JSON):
 *
 *   {"schemaVersion":1,"computerName":"HV01","collectedAt":"…","classes":{
 *   "Msvm_ComputerSystem":[
 *   {"Name":"HV01",…},
 *   {"Name":"5E1C…",…}
 *   ],
 *   "Msvm_HeartbeatComponent":[
 *   ],
 *   …
 *   "Msvm_GuestServiceInterfaceComponentSettingData":[
 *   {"InstanceID":"Microsoft:…",…}
 *   ]
 *   }}
 *
 * Lines may end in "\r\n"; a class may also be written whole on one line (`"Name":[]`, or a value that
 * is not an array), which is then parsed at every sample. Most instances
 * (every KVP pool, every setting) are the same text from one sample to the next, so only the lines
 * that changed are given to JSON.parse and the others are the very objects parsed before. Those
 * objects are frozen, because the next sample hands them out again; so is each class array whose
 * lines are all kept, because the next sample hands it out again as a whole when none changed.
 *
 * What is kept is bounded: a line longer than MAX_KEPT_LINE, and lines beyond MAX_KEPT_CHARACTERS in
 * all, are parsed at every sample and not remembered. A short line is kept as a copy (so the sample
 * text itself is not held once the sample is parsed); a long one (a KVP pool, some kilobytes) only as
 * its SHA-256 digest, as the objects it parsed to are kept anyway and hold about as much again.
 * Strings in arrays (KVP items: many VMs have the same operating system items) are shared between the
 * instances of a class, so each distinct item is held once.
 *
 * The result is always what JSON.parse of the whole text returns: any line that does not fit the
 * layout, and any line JSON.parse refuses, makes the whole text go through JSON.parse (which then
 * returns the same value, or throws the same error, as without this cache).
 */
export class InstanceLineCache {
  /** Per class, the instance lines of the last sample in order, with what each parsed to. */
  private current = new Map<string, ClassLines>();

  /** Instance lines of the last sample, how many were parsed and how many reused (for tests and the bench). */
  lastStats: LineCacheStats = { layout: false, lines: 0, parsed: 0, reused: 0 };

  /** The number of instance lines remembered: those of the last sample only. */
  get size(): number {
    let size = 0;
    for (const { lines } of this.current.values()) size += lines.length;
    return size;
  }

  /** JSON.parse(text), reusing the instances of the previous call where their lines are unchanged. */
  parse(text: string): unknown {
    const steps = this.lines(text);
    let step = steps.next();
    while (step.done !== true) step = steps.next();
    return this.finish(step.value, text);
  }

  /**
   * parse(text), with `pause()` awaited after every SLICE_CHARACTERS of instance lines. What `pause`
   * throws (an abort) is thrown as PauseInterrupted, and nothing of this text is kept then.
   */
  async parseInSlices(text: string, pause: () => Promise<void>): Promise<unknown> {
    const steps = this.lines(text);
    let step = steps.next();
    while (step.done !== true) {
      try {
        await pause();
      } catch (error) {
        throw new PauseInterrupted(error);
      }
      step = steps.next();
    }
    return this.finish(step.value, text);
  }

  private finish(value: unknown, text: string): unknown {
    if (value !== NOT_LINES) return value;
    this.lastStats = { layout: false, lines: 0, parsed: 0, reused: 0 };
    // Not this layout: nothing of the previous sample can be reused, and keeping it would only hold memory.
    this.current = new Map();
    return JSON.parse(text) as unknown;
  }

  /**
   * The work of parse, yielding after every SLICE_CHARACTERS of instance lines; returns the value, or
   * NOT_LINES when the text does not have the layout. Only the end of it changes what is kept.
   */
  private *lines(text: string): Generator<void, unknown, void> {
    // Cheap test first: the layout's first line ends with the opening of "classes".
    const firstBreak = text.indexOf('\n');
    if (firstBreak < 0) return NOT_LINES;
    const headerEnd = text.charCodeAt(firstBreak - 1) === 0x0d ? firstBreak - 1 : firstBreak;
    if (!text.startsWith(HEADER_END, headerEnd - HEADER_END.length)) return NOT_LINES;
    const lines = text.split('\n');
    const count = lines.length;
    // "\r\n" line ends (as the first line has them): drop the "\r", which JSON reads as white space.
    // A stray "\r" elsewhere makes a line fit no rule below, and the text goes to JSON.parse whole.
    if (headerEnd !== firstBreak) {
      for (let i = 0; i < count; i++) {
        const line = lines[i]!;
        if (line.charCodeAt(line.length - 1) === 0x0d) lines[i] = line.slice(0, -1);
      }
    }

    const header = parseHeader(lines[0]!);
    if (header === null) return NOT_LINES;
    const next = new Map<string, ClassLines>();
    const classes = header.classes;
    let parsed = 0;
    let reused = 0;
    let kept = 0;
    let sliced = 0;
    let i = 1;
    // Whether another class may follow (the previous one closed with "],"), and whether one has.
    let more = true;
    let first = true;
    for (;;) {
      if (i >= count) return NOT_LINES;
      const line = lines[i]!;
      if (line === '}}') {
        if (more && !first) return NOT_LINES; // "]," before the end
        break;
      }
      if (!more) return NOT_LINES;
      first = false;
      const open = classOpening(line);
      if (open === null) {
        // A class written whole on its line (not an array, say): parsed as it is, at every sample.
        const inline = inlineClass(line);
        if (inline === null || inline.name === '__proto__') return NOT_LINES;
        classes[inline.name] = inline.value;
        next.delete(inline.name);
        more = inline.comma;
        i++;
        continue;
      }
      // JSON.parse makes "__proto__" an own property; assignment would set the prototype.
      if (open.name === '__proto__') return NOT_LINES;
      i++;
      const instances: unknown[] = [];
      // What the next sample may reuse: the lines kept, and what each parsed to.
      const instanceLines: KeptLine[] = [];
      const instanceValues: unknown[] = [];
      const previous = this.current.get(open.name) ?? NO_LINES;
      // The class's shared array strings: those of the last sample, and those of lines parsed now.
      const strings = previous.strings ?? new StringPool();
      let pooledNew = false;
      // Whether every line so far is the previous sample's line at the same place.
      let unchanged = true;
      if (open.closed) {
        more = open.comma;
      } else {
        let byIdentity: Map<string, number> | null = null;
        // Where the previous sample's lines are expected to continue: usually the same position.
        let cursor = 0;
        let closed = false;
        let lastHadComma = false;
        while (i < count) {
          const instanceLine = lines[i]!;
          i++;
          sliced += instanceLine.length;
          if (sliced >= SLICE_CHARACTERS) {
            sliced = 0;
            yield;
          }
          if (instanceLine === ']' || instanceLine === '],') {
            // "…,\n]" is a trailing comma: not JSON.
            if (lastHadComma) return NOT_LINES;
            more = instanceLine === '],';
            closed = true;
            break;
          }
          // Two elements without a comma between them: not JSON.
          if (instances.length > 0 && !lastHadComma) return NOT_LINES;
          lastHadComma = instanceLine.charCodeAt(instanceLine.length - 1) === 0x2c;
          let value: unknown;
          // Lines are compared as they are, comma included; what the previous sample kept of the line
          // is kept again when the line is reused, a new copy or digest otherwise.
          const current = new LineInHand(instanceLine);
          let keptLine: KeptLine | null = null;
          const expected = previous.lines[cursor];
          if (expected !== undefined && current.isSame(expected)) {
            keptLine = expected;
            value = previous.values[cursor];
            cursor++;
            reused++;
          } else {
            unchanged = false;
            let at: number | undefined;
            if (expected !== undefined && identityOfKept(expected) === current.identity) {
              // The same instance at the same place, changed (a VM's uptime, say).
              at = cursor;
            } else {
              // Instances were added or removed: find this one by its first characters (the key
              // property comes first), then compare the whole line.
              byIdentity ??= identityIndex(previous.lines);
              at = byIdentity.get(current.identity);
            }
            if (at !== undefined) cursor = at + 1;
            const candidate = at === undefined ? undefined : previous.lines[at];
            if (candidate !== undefined && current.isSameWithoutComma(candidate)) {
              value = previous.values[at!];
              reused++;
            } else {
              try {
                value = freezeParsed(JSON.parse(current.withoutComma) as unknown, strings);
              } catch {
                return NOT_LINES;
              }
              parsed++;
              pooledNew = true;
            }
          }
          instances.push(value);
          if (instanceLine.length <= MAX_KEPT_LINE && kept + instanceLine.length <= MAX_KEPT_CHARACTERS) {
            kept += instanceLine.length;
            instanceLines.push(keptLine ?? current.toKept());
            instanceValues.push(value);
          } else {
            unchanged = false;
          }
        }
        if (!closed) return NOT_LINES;
      }
      // JSON.parse keeps the first position and the last value of a repeated key; so does assignment.
      if (unchanged && instances.length === previous.values.length && previous.instances !== null) {
        // Every line as in the last sample: the very same (frozen) array, so that what was made of
        // it can be reused as a whole.
        classes[open.name] = previous.instances;
        next.set(open.name, previous);
        continue;
      }
      // Strings of the lines that are gone are let go now and then, not at every sample.
      if (pooledNew) strings.prune(instanceValues);
      if (instanceLines.length === instances.length) {
        // Frozen: a class array that can come again as a whole (the next sample finds it by its lines).
        const frozen = Object.freeze(instances);
        classes[open.name] = frozen;
        next.set(open.name, { lines: instanceLines, values: instanceValues, instances: frozen, strings });
      } else {
        // Some line too long to keep: this class is parsed again at the next sample, partly.
        classes[open.name] = instances;
        next.set(open.name, { lines: instanceLines, values: instanceValues, instances: null, strings });
      }
    }
    // After "}}" only empty lines (the trailing newline) may follow.
    for (let j = i + 1; j < count; j++) if (!/^[ \t]*$/.test(lines[j]!)) return NOT_LINES;

    this.current = next;
    this.lastStats = { layout: true, lines: parsed + reused, parsed, reused };
    return header.value;
  }
}

export interface LineCacheStats {
  /** Whether the text had the one-instance-per-line layout (false: it went through JSON.parse whole). */
  readonly layout: boolean;
  readonly lines: number;
  readonly parsed: number;
  readonly reused: number;
}

interface ClassLines {
  readonly lines: readonly KeptLine[];
  readonly values: readonly unknown[];
  /** The class array handed out, when every line of it is kept (else null). */
  readonly instances: readonly unknown[] | null;
  readonly strings: StringPool | null;
}

const NO_LINES: ClassLines = { lines: [], values: [], instances: null, strings: null };

/** A line of the last sample: the line itself (a copy), or for a long line its digest. */
type KeptLine = string | LineDigest;

/** What is kept of a long line: enough to find it again and to know it is the same. */
interface LineDigest {
  readonly identity: string;
  /** The line's length, comma included. */
  readonly length: number;
  /** SHA-256 of the line without its trailing comma. */
  readonly digest: string;
  readonly comma: boolean;
}

/**
 * Lines at least this long (UTF-16 code units) are kept as digests. Below it, a copy costs about as
 * much memory as a digest and its identity, and comparing is cheaper than hashing.
 */
const DIGEST_FROM = 1024;

/** An instance line of the sample being parsed; its identity and digest are made once, when first needed. */
class LineInHand {
  private digestWithoutComma: string | null = null;
  private identityOfLine: string | null = null;
  readonly comma: boolean;

  constructor(readonly line: string) {
    this.comma = line.charCodeAt(line.length - 1) === 0x2c;
  }

  get withoutComma(): string {
    return this.comma ? this.line.slice(0, -1) : this.line;
  }

  get identity(): string {
    this.identityOfLine ??= identityOf(this.line);
    return this.identityOfLine;
  }

  /** Whether `kept` is this very line, comma included. */
  isSame(kept: KeptLine): boolean {
    if (typeof kept === 'string') return kept === this.line;
    return kept.comma === this.comma && kept.length === this.line.length && kept.digest === this.digest();
  }

  /** Whether `kept` is this line, but for a trailing comma. */
  isSameWithoutComma(kept: KeptLine): boolean {
    if (typeof kept === 'string') return withoutComma(kept) === this.withoutComma;
    return kept.length - (kept.comma ? 1 : 0) === this.line.length - (this.comma ? 1 : 0) && kept.digest === this.digest();
  }

  toKept(): KeptLine {
    // UTF-8 (what the digest is taken of) tells two strings apart only when they are well formed:
    // lone surrogates would all become U+FFFD. A line with one is kept as it is.
    if (this.line.length < DIGEST_FROM || !this.line.isWellFormed()) return copyOf(this.line);
    return { identity: copyOf(this.identity), length: this.line.length, digest: this.digest(), comma: this.comma };
  }

  private digest(): string {
    this.digestWithoutComma ??= hash('sha256', this.withoutComma, 'base64');
    return this.digestWithoutComma;
  }
}

function identityOfKept(kept: KeptLine): string {
  return typeof kept === 'string' ? identityOf(kept) : kept.identity;
}

/**
 * One string for each distinct string in the arrays of a class's instances. The pool only grows as
 * lines are parsed; it is rebuilt from the instances kept once it has doubled (in strings or in
 * characters), so the strings of instances that are gone do not stay for long, however large.
 */
class StringPool {
  private strings = new Map<string, string>();
  private characters = 0;
  private after = { size: 0, characters: 0 };

  /** The pool's string equal to `value`, which becomes it if there is none. */
  share(value: string): string {
    const shared = this.strings.get(value);
    if (shared !== undefined) return shared;
    this.strings.set(value, value);
    this.characters += value.length;
    return value;
  }

  prune(values: readonly unknown[]): void {
    if (this.strings.size <= 2 * this.after.size + 1024 && this.characters <= 2 * this.after.characters + POOL_SLACK_CHARACTERS) return;
    const strings = new Map<string, string>();
    for (const value of values) collectArrayStrings(value, strings);
    let characters = 0;
    for (const value of strings.keys()) characters += value.length;
    this.strings = strings;
    this.characters = characters;
    this.after = { size: strings.size, characters };
  }
}

/** Characters a pool may hold beyond twice what its instances had at the last rebuild. */
const POOL_SLACK_CHARACTERS = 1024 * 1024;

function collectArrayStrings(value: unknown, into: Map<string, string>): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const element of value) {
      if (typeof element === 'string') into.set(element, element);
      else collectArrayStrings(element, into);
    }
    return;
  }
  for (const key of Object.keys(value)) collectArrayStrings((value as Record<string, unknown>)[key], into);
}

/** Characters of instance lines compared (and hashed, parsed) between two pauses: about 1 ms of work. */
const SLICE_CHARACTERS = 1024 * 1024;

/** Longest instance line remembered (UTF-16 code units): a normal instance is well under 100 KiB. */
const MAX_KEPT_LINE = 1024 * 1024;
/** Most characters of instance lines remembered in all: 1024 VMs take about 10 Mi. */
const MAX_KEPT_CHARACTERS = 64 * 1024 * 1024;

/**
 * The same characters without a reference to the sample text: a line from split() is a slice that
 * would keep the whole text alive. (Flattening the concatenation makes a string of its own.)
 */
function copyOf(line: string): string {
  return ` ${line}`.slice(1);
}

/**
 * A line's first characters: they hold the instance's key property (Name, SystemName, InstanceID),
 * which the collection script selects first. Only a hint to find the previous line of the same
 * instance; reuse always needs the whole line to be equal.
 */
const IDENTITY_LENGTH = 128;

function withoutComma(line: string): string {
  return line.charCodeAt(line.length - 1) === 0x2c ? line.slice(0, -1) : line;
}

/** The first IDENTITY_LENGTH characters of a line, its trailing comma left out. */
function identityOf(line: string): string {
  const length = Math.min(IDENTITY_LENGTH, line.charCodeAt(line.length - 1) === 0x2c ? line.length - 1 : line.length);
  return line.length === length ? line : line.slice(0, length);
}

function identityIndex(lines: readonly KeptLine[]): Map<string, number> {
  const index = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const identity = identityOfKept(lines[i]!);
    if (!index.has(identity)) index.set(identity, i);
  }
  return index;
}

const NOT_LINES: unique symbol = Symbol('not the one-instance-per-line layout');

const HEADER_END = '"classes":{';

/** The first line: the document's own properties, ending with the opening of "classes". */
function parseHeader(line: string): { value: Record<string, unknown>; classes: Record<string, unknown> } | null {
  if (!line.endsWith(HEADER_END)) return null;
  let value: unknown;
  try {
    value = JSON.parse(`${line}}}`) as unknown;
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  // The object that the first line leaves open must be the value of the document's last key, "classes".
  if (keys[keys.length - 1] !== 'classes') return null;
  const classes = record['classes'];
  if (typeof classes !== 'object' || classes === null || Array.isArray(classes) || Object.keys(classes).length !== 0) return null;
  return { value: record, classes: classes as Record<string, unknown> };
}

/** `"Name":[` (instances follow), or `"Name":[]` / `"Name":[],` (an empty class on one line). */
function classOpening(line: string): { name: string; closed: boolean; comma: boolean } | null {
  let keyEnd: number;
  let closed = false;
  let comma = false;
  if (line.endsWith(':[')) keyEnd = line.length - 2;
  else if (line.endsWith(':[]')) (keyEnd = line.length - 3), (closed = true);
  else if (line.endsWith(':[],')) (keyEnd = line.length - 4), (closed = true), (comma = true);
  else return null;
  if (line.charCodeAt(0) !== 0x22 || line.charCodeAt(keyEnd - 1) !== 0x22) return null;
  let name: unknown;
  try {
    name = JSON.parse(line.slice(0, keyEnd)) as unknown;
  } catch {
    return null;
  }
  return typeof name === 'string' ? { name, closed, comma } : null;
}

/** `"Name":value` or `"Name":value,` on one line, value any JSON; null when the line is not that. */
function inlineClass(line: string): { name: string; value: unknown; comma: boolean } | null {
  if (line.charCodeAt(0) !== 0x22) return null;
  // The end of the name: the first quote not escaped.
  let end = 1;
  while (end < line.length) {
    const c = line.charCodeAt(end);
    if (c === 0x5c) end += 2;
    else if (c === 0x22) break;
    else end++;
  }
  if (line.charCodeAt(end + 1) !== 0x3a) return null;
  const comma = line.charCodeAt(line.length - 1) === 0x2c;
  try {
    const name = JSON.parse(line.slice(0, end + 1)) as unknown;
    const value = JSON.parse(line.slice(end + 2, comma ? -1 : undefined)) as unknown;
    return typeof name === 'string' ? { name, value, comma } : null;
  } catch {
    return null;
  }
}

/** Freezes what JSON.parse made, deeply, with each string in an array replaced by the pool's equal one. */
function freezeParsed<T>(value: T, strings: StringPool): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      value[i] = typeof element === 'string' ? strings.share(element) : freezeParsed(element, strings);
    }
  } else {
    for (const key of Object.keys(value)) freezeParsed((value as Record<string, unknown>)[key], strings);
  }
  return Object.freeze(value);
}
