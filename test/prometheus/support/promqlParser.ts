/**
 * A PromQL parser for the dashboard-lint tests: enough of Prometheus' grammar (promql/parser) to find
 * every vector selector of an expression with its label matchers, every range and the function or
 * aggregation around it, as github.com/grafana/dashboard-linter does with parser.ExtractSelectors and
 * parser.Walk. It parses the queries of this repository and rejects what Prometheus rejects in them;
 * promql.test.ts checks it against expressions with known trees, and dashboardLint.test.ts checks
 * that promtool accepts every expression this parser accepts.
 *
 * Grafana variables outside strings ($name, ${name}, [[name]]) are tokens of their own: a number or
 * a duration, by where they stand. So the positions of the nodes are those of the dashboard's text.
 */

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

interface NodeBase {
  /** Offsets in the source text: [start, end). */
  readonly start: number;
  readonly end: number;
}

export interface VectorSelector extends NodeBase {
  readonly kind: 'VectorSelector';
  /** The metric name written before the braces, or '' when there is none (`{__name__=~"…"}`). */
  readonly name: string;
  /** The matchers written in braces (the metric name is not among them). */
  readonly matchers: readonly LabelMatcher[];
  /** Offsets of `{` and `}`, or null when the selector is a bare metric name. */
  readonly braces: readonly [number, number] | null;
}

export interface MatrixSelector extends NodeBase {
  readonly kind: 'MatrixSelector';
  readonly selector: VectorSelector;
  /** The range as written: a duration (`5m`) or a Grafana variable (`$__rate_interval`). */
  readonly range: string;
}

export interface SubqueryExpr extends NodeBase {
  readonly kind: 'SubqueryExpr';
  readonly expr: Expr;
  readonly range: string;
  readonly step: string;
}

export interface Call extends NodeBase {
  readonly kind: 'Call';
  readonly func: string;
  readonly args: readonly Expr[];
}

export interface AggregateExpr extends NodeBase {
  readonly kind: 'AggregateExpr';
  readonly op: string;
  readonly grouping: readonly string[];
  readonly without: boolean;
  readonly param: Expr | null;
  readonly expr: Expr;
}

export interface BinaryExpr extends NodeBase {
  readonly kind: 'BinaryExpr';
  readonly op: string;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly bool: boolean;
  readonly matching: { readonly on: boolean; readonly labels: readonly string[]; readonly group: 'left' | 'right' | null; readonly include: readonly string[] } | null;
}

export interface UnaryExpr extends NodeBase {
  readonly kind: 'UnaryExpr';
  readonly op: '+' | '-';
  readonly expr: Expr;
}

export interface ParenExpr extends NodeBase {
  readonly kind: 'ParenExpr';
  readonly expr: Expr;
}

export interface NumberLiteral extends NodeBase {
  readonly kind: 'NumberLiteral';
  readonly text: string;
}

export interface StringLiteral extends NodeBase {
  readonly kind: 'StringLiteral';
  readonly value: string;
}

export type Expr = VectorSelector | MatrixSelector | SubqueryExpr | Call | AggregateExpr | BinaryExpr | UnaryExpr | ParenExpr | NumberLiteral | StringLiteral;

/** Functions of Prometheus 2.x (promql/parser/functions.go): a call to anything else is an error. */
const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'avg_over_time', 'ceil', 'changes', 'clamp',
  'clamp_max', 'clamp_min', 'cos', 'cosh', 'count_over_time', 'days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'deg',
  'delta', 'deriv', 'exp', 'floor', 'histogram_quantile', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_replace',
  'label_join', 'last_over_time', 'ln', 'log10', 'log2', 'max_over_time', 'min_over_time', 'minute', 'month', 'pi', 'predict_linear',
  'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sin', 'sinh', 'sort', 'sort_desc',
  'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'tan', 'tanh', 'time', 'timestamp', 'vector', 'year',
]);
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);
const PARAMETERIZED = new Set(['count_values', 'bottomk', 'topk', 'quantile']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2']);

/** Binary operators by precedence, lowest first (promql/parser/lex.go). `^` is right-associative. */
const PRECEDENCE: ReadonlyArray<readonly string[]> = [['or'], ['and', 'unless'], ['==', '!=', '<=', '<', '>=', '>'], ['+', '-'], ['*', '/', '%', 'atan2'], ['^']];
const SET_OPERATORS = new Set(['and', 'or', 'unless']);
const COMPARISONS = new Set(['==', '!=', '<=', '<', '>=', '>']);

type TokenKind = 'ident' | 'number' | 'duration' | 'variable' | 'string' | 'op' | 'punct' | 'eof';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** For strings: the unquoted value. */
  readonly value?: string;
}

export class PromQLSyntaxError extends Error {}

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+/;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Ii][Nn][Ff]|[Nn][Aa][Nn])(?![A-Za-z0-9_:])/;
const VARIABLE = /^(?:\$\{[^}]+\}|\$[A-Za-z0-9_]+|\[\[[^[\]]+\]\])/;

function unquote(raw: string, at: number): string {
  const quote = raw[0];
  const body = raw.slice(1, -1);
  if (quote === '`') return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = body[++i];
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
    if (next !== undefined && next in simple) out += simple[next];
    else throw new PromQLSyntaxError(`unknown escape sequence \\${String(next)} in string at ${at}`);
  }
  return out;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  // A `[` after a selector, `)` or `]` opens a range; elsewhere `[[name]]` is a Grafana variable.
  while (i < source.length) {
    const rest = source.slice(i);
    const c = source[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      const newline = source.indexOf('\n', i);
      i = newline === -1 ? source.length : newline;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\' && c !== '`') j++;
        if (source[j] === '\n' && c !== '`') throw new PromQLSyntaxError(`unterminated string at ${i}`);
        j++;
      }
      if (j >= source.length) throw new PromQLSyntaxError(`unterminated string at ${i}`);
      const raw = source.slice(i, j + 1);
      tokens.push({ kind: 'string', text: raw, start: i, end: j + 1, value: unquote(raw, i) });
      i = j + 1;
      continue;
    }
    const previous = tokens[tokens.length - 1];
    const opensRange = previous !== undefined && (previous.kind === 'ident' || previous.text === ')' || previous.text === '}' || previous.text === ']');
    // In a range, `:` separates a subquery's range from its step (elsewhere it may start a metric name).
    if (c === ':' && previous !== undefined && ['duration', 'variable', 'number'].includes(previous.kind) && tokens.slice(-2, -1)[0]?.text === '[') {
      tokens.push({ kind: 'punct', text: ':', start: i, end: i + 1 });
      i++;
      continue;
    }
    const variable = VARIABLE.exec(rest);
    if (variable && !(variable[0].startsWith('[[') && opensRange)) {
      tokens.push({ kind: 'variable', text: variable[0], start: i, end: i + variable[0].length });
      i += variable[0].length;
      continue;
    }
    const duration = DURATION.exec(rest);
    if (duration && !/^[A-Za-z0-9_]/.test(rest.slice(duration[0].length))) {
      tokens.push({ kind: 'duration', text: duration[0], start: i, end: i + duration[0].length });
      i += duration[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number && (/^[\d.]/.test(c) || !/^[A-Za-z_:]/.test(rest.slice(number[0].length)))) {
      tokens.push({ kind: 'number', text: number[0], start: i, end: i + number[0].length });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], start: i, end: i + ident[0].length });
      i += ident[0].length;
      continue;
    }
    const op = /^(?:==|!=|=~|!~|<=|>=|[-+*/%^<>=])/.exec(rest);
    if (op) {
      tokens.push({ kind: 'op', text: op[0], start: i, end: i + op[0].length });
      i += op[0].length;
      continue;
    }
    if ('(){}[],:@'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, start: i, end: i + 1 });
      i++;
      continue;
    }
    throw new PromQLSyntaxError(`unexpected character ${JSON.stringify(c)} at ${i}`);
  }
  tokens.push({ kind: 'eof', text: '', start: source.length, end: source.length });
  return tokens;
}

class Parser {
  private position = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly source: string,
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.position + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.position++;
    return token;
  }

  private fail(message: string, token = this.peek()): never {
    throw new PromQLSyntaxError(`${message} at ${token.start} (${JSON.stringify(token.text)}) in ${this.source}`);
  }

  private expect(text: string): Token {
    const token = this.next();
    if (token.text !== text || token.kind === 'string') this.fail(`expected ${JSON.stringify(text)}`, token);
    return token;
  }

  parse(): Expr {
    const expr = this.expression(0);
    if (this.peek().kind !== 'eof') this.fail('unexpected text after the expression');
    return expr;
  }

  private binaryOperatorAt(level: number): string | null {
    const token = this.peek();
    const ops = PRECEDENCE[level] ?? [];
    if ((token.kind === 'op' || token.kind === 'ident') && ops.includes(token.text.toLowerCase())) return token.text.toLowerCase();
    return null;
  }

  private expression(level: number): Expr {
    if (level >= PRECEDENCE.length) return this.unary();
    let lhs = this.expression(level + 1);
    for (let op = this.binaryOperatorAt(level); op !== null; op = this.binaryOperatorAt(level)) {
      this.next();
      let bool = false;
      if (this.peek().kind === 'ident' && this.peek().text === 'bool') {
        if (!COMPARISONS.has(op)) this.fail('bool modifier can only be used on comparison operators');
        this.next();
        bool = true;
      }
      const matching = this.vectorMatching();
      // `^` is right-associative: its right-hand side is parsed at the same level.
      const rhs = op === '^' ? this.expression(level) : this.expression(level + 1);
      if (SET_OPERATORS.has(op)) {
        for (const side of [lhs, rhs]) if (isScalar(side)) this.fail(`set operator "${op}" not allowed in binary scalar expression`);
      }
      lhs = { kind: 'BinaryExpr', op, lhs, rhs, bool, matching, start: lhs.start, end: rhs.end };
      if (op === '^') break;
    }
    return lhs;
  }

  private vectorMatching(): BinaryExpr['matching'] {
    const token = this.peek();
    if (token.kind !== 'ident' || (token.text !== 'on' && token.text !== 'ignoring')) return null;
    this.next();
    const labels = this.labelList();
    let group: 'left' | 'right' | null = null;
    let include: string[] = [];
    const groupToken = this.peek();
    if (groupToken.kind === 'ident' && (groupToken.text === 'group_left' || groupToken.text === 'group_right')) {
      this.next();
      group = groupToken.text === 'group_left' ? 'left' : 'right';
      if (this.peek().text === '(') include = this.labelList();
    }
    return { on: token.text === 'on', labels, group, include };
  }

  private labelList(): string[] {
    this.expect('(');
    const labels: string[] = [];
    while (this.peek().text !== ')') {
      const label = this.next();
      if (label.kind !== 'ident' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(label.text)) this.fail('expected a label name', label);
      labels.push(label.text);
      if (this.peek().text === ',') this.next();
      else if (this.peek().text !== ')') this.fail('expected "," or ")" in the label list');
    }
    this.expect(')');
    return labels;
  }

  private unary(): Expr {
    const token = this.peek();
    if (token.kind === 'op' && (token.text === '-' || token.text === '+')) {
      this.next();
      const expr = this.unary();
      return { kind: 'UnaryExpr', op: token.text, expr, start: token.start, end: expr.end };
    }
    return this.postfix(this.primary());
  }

  /** Ranges, subqueries, offset and @ after a primary expression. */
  private postfix(expr: Expr): Expr {
    let result = expr;
    for (;;) {
      const token = this.peek();
      if (token.text === '[' && token.kind === 'punct') {
        this.next();
        const range = this.durationOrVariable();
        if (this.peek().text === ':') {
          this.next();
          const step = this.peek().text === ']' ? '' : this.durationOrVariable();
          const close = this.expect(']');
          result = { kind: 'SubqueryExpr', expr: result, range, step, start: result.start, end: close.end };
        } else {
          const close = this.expect(']');
          if (result.kind !== 'VectorSelector') this.fail('ranges only allowed for vector selectors', token);
          result = { kind: 'MatrixSelector', selector: result, range, start: result.start, end: close.end };
        }
        continue;
      }
      if (token.kind === 'ident' && token.text === 'offset') {
        if (!['VectorSelector', 'MatrixSelector', 'SubqueryExpr'].includes(result.kind)) this.fail('offset modifier must be preceded by a selector or a subquery', token);
        this.next();
        if (this.peek().kind === 'op' && this.peek().text === '-') this.next();
        this.durationOrVariable();
        continue;
      }
      if (token.text === '@') {
        if (!['VectorSelector', 'MatrixSelector', 'SubqueryExpr'].includes(result.kind)) this.fail('@ modifier must be preceded by a selector or a subquery', token);
        this.next();
        const at = this.next();
        if (at.kind === 'ident' && (at.text === 'start' || at.text === 'end')) {
          this.expect('(');
          this.expect(')');
        } else if (at.kind !== 'number' && at.kind !== 'variable') this.fail('expected a timestamp after @', at);
        continue;
      }
      return result;
    }
  }

  private durationOrVariable(): string {
    const token = this.next();
    if (token.kind === 'duration' || token.kind === 'variable') return token.text;
    if (token.kind === 'number' && /^\d+$/.test(token.text)) return token.text;
    return this.fail('expected a duration', token);
  }

  private primary(): Expr {
    const token = this.peek();
    switch (token.kind) {
      case 'number':
      case 'variable':
        this.next();
        return { kind: 'NumberLiteral', text: token.text, start: token.start, end: token.end };
      case 'duration':
        // A bare duration is no number in Prometheus 2.x.
        return this.fail('unexpected duration');
      case 'string':
        this.next();
        return { kind: 'StringLiteral', value: token.value ?? '', start: token.start, end: token.end };
      case 'punct':
        if (token.text === '(') {
          this.next();
          const expr = this.expression(0);
          const close = this.expect(')');
          return { kind: 'ParenExpr', expr, start: token.start, end: close.end };
        }
        if (token.text === '{') return this.selector('', token.start);
        return this.fail('unexpected token');
      case 'ident':
        return this.identifier();
      default:
        return this.fail('unexpected end of the expression');
    }
  }

  private identifier(): Expr {
    const token = this.next();
    const name = token.text;
    const after = this.peek();
    if (AGGREGATIONS.has(name.toLowerCase()) && (after.text === '(' || (after.kind === 'ident' && (after.text === 'by' || after.text === 'without')))) {
      return this.aggregation(name.toLowerCase(), token.start);
    }
    if (after.text === '(' && after.kind === 'punct') {
      if (!FUNCTIONS.has(name)) this.fail(`unknown function with name ${JSON.stringify(name)}`, token);
      this.next();
      const args: Expr[] = [];
      while (this.peek().text !== ')') {
        args.push(this.expression(0));
        if (this.peek().text === ',') this.next();
        else if (this.peek().text !== ')') this.fail('expected "," or ")" in the arguments');
      }
      const close = this.expect(')');
      return { kind: 'Call', func: name, args, start: token.start, end: close.end };
    }
    if (KEYWORDS.has(name.toLowerCase())) this.fail(`unexpected keyword ${JSON.stringify(name)}`, token);
    if (this.peek().text === '{') return this.selector(name, token.start);
    return { kind: 'VectorSelector', name, matchers: [], braces: null, start: token.start, end: token.end };
  }

  private aggregation(op: string, start: number): Expr {
    let grouping: string[] = [];
    let without = false;
    const before = this.peek();
    if (before.kind === 'ident' && (before.text === 'by' || before.text === 'without')) {
      this.next();
      without = before.text === 'without';
      grouping = this.labelList();
    }
    this.expect('(');
    let param: Expr | null = null;
    if (PARAMETERIZED.has(op)) {
      param = this.expression(0);
      this.expect(',');
    }
    const expr = this.expression(0);
    let close = this.expect(')');
    const afterToken = this.peek();
    if (afterToken.kind === 'ident' && (afterToken.text === 'by' || afterToken.text === 'without')) {
      if (before.kind === 'ident' && (before.text === 'by' || before.text === 'without')) this.fail('grouping given twice');
      this.next();
      without = afterToken.text === 'without';
      grouping = this.labelList();
      close = this.tokens[this.position - 1] as Token;
    }
    return { kind: 'AggregateExpr', op, grouping, without, param, expr, start, end: close.end };
  }

  private selector(name: string, start: number): VectorSelector {
    const open = this.expect('{');
    const matchers: LabelMatcher[] = [];
    while (this.peek().text !== '}' || this.peek().kind === 'string') {
      const label = this.next();
      if (label.kind !== 'ident' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(label.text)) this.fail('expected a label name in the label matchers', label);
      const type = this.next();
      if (type.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(type.text)) this.fail('expected a label matching operator', type);
      const value = this.next();
      if (value.kind !== 'string') this.fail('expected a string as the label value', value);
      if (type.text === '=~' || type.text === '!~') {
        try {
          new RegExp(`^(?:${value.value ?? ''})$`);
        } catch (error) {
          this.fail(`invalid regular expression: ${(error as Error).message}`, value);
        }
      }
      matchers.push({ name: label.text, type: type.text as MatchType, value: value.value ?? '' });
      if (this.peek().text === ',') this.next();
      else if (this.peek().text !== '}') this.fail('expected "," or "}" in the label matchers');
    }
    const close = this.expect('}');
    if (name === '' && !matchers.some((m) => m.type === '=' ? m.value !== '' : !new RegExp(`^(?:${m.value})$`).test(''))) {
      this.fail('vector selector must contain at least one non-empty matcher', open);
    }
    return { kind: 'VectorSelector', name, matchers, braces: [open.start, close.start], start, end: close.end };
  }
}

function isScalar(expr: Expr): boolean {
  switch (expr.kind) {
    case 'NumberLiteral':
      return true;
    case 'ParenExpr':
      return isScalar(expr.expr);
    case 'UnaryExpr':
      return isScalar(expr.expr);
    case 'BinaryExpr':
      return isScalar(expr.lhs) && isScalar(expr.rhs);
    case 'Call':
      return expr.func === 'time' || expr.func === 'scalar' || expr.func === 'pi';
    default:
      return false;
  }
}

export function parsePromQL(source: string): Expr {
  return new Parser(tokenize(source), source).parse();
}

/** The children of a node, in order. */
export function children(node: Expr): Expr[] {
  switch (node.kind) {
    case 'MatrixSelector':
      return [node.selector];
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      return [node.expr];
    case 'Call':
      return [...node.args];
    case 'AggregateExpr':
      return node.param === null ? [node.expr] : [node.param, node.expr];
    case 'BinaryExpr':
      return [node.lhs, node.rhs];
    default:
      return [];
  }
}

/** Visits every node with its ancestors (closest last), as parser.Walk does. */
export function walk(node: Expr, visit: (node: Expr, parents: readonly Expr[]) => void, parents: readonly Expr[] = []): void {
  visit(node, parents);
  for (const child of children(node)) walk(child, visit, [...parents, node]);
}

/** Every vector selector of an expression (parser.ExtractSelectors), including those in ranges. */
export function vectorSelectors(node: Expr): VectorSelector[] {
  const found: VectorSelector[] = [];
  walk(node, (n) => {
    if (n.kind === 'VectorSelector') found.push(n);
  });
  return found;
}
