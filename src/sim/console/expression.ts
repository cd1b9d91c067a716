/**
 * kd's MASM expression evaluator, as far as the pool-leak procedure uses it: hex by default,
 * `0x`/`0n`/`0t`/`0y` prefixes, backtick-split 64-bit numbers, `h` suffix, symbols
 * (`nt!poolhittag`, case-insensitive), registers (`@eax`, `rcx`), pseudo-registers
 * (`@$t0`…`@$t19`, `$ip`), `poi()`/`dwo()`/`qwo()`/`wo()`/`by()`, arithmetic, comparisons,
 * and multi-character constants (`' cbA'`: first character in the most significant byte).
 *
 * Parsing stops at the first character that cannot continue the expression, so a caller can
 * read `dq rcx + 0x98 L2` as the expression `rcx + 0x98` followed by `L2`.
 */

/** What an expression can look up on the target. */
export interface EvalContext {
  pointerSize: 4 | 8;
  resolveSymbol(name: string): bigint | undefined;
  /** Register or pseudo-register by lowercase name without `@` (`eax`, `$t0`, `$ip`). */
  register(name: string): bigint | undefined;
  readMemory(address: bigint, length: number): Uint8Array | undefined;
}

/** Why an expression failed, in kd's words. */
export class ExpressionError extends Error {
  readonly code = 'KD_EXPRESSION';
  constructor(
    /** `resolve` → `Couldn't resolve error at '…'`; `syntax` → `Syntax error at '…'`; `memory` → `Memory access error at '…'`. */
    readonly kind: 'resolve' | 'syntax' | 'memory',
    /** The text kd quotes: the input from the failing point to its end. */
    readonly subject: string,
    /** 0-based position of the failing point in the input. */
    readonly position: number,
  ) {
    super(ExpressionError.describe(kind, subject));
    this.name = 'ExpressionError';
  }

  /** The one-line reply kd prints for this failure. */
  static describe(kind: 'resolve' | 'syntax' | 'memory', subject: string): string {
    if (kind === 'resolve') return `Couldn't resolve error at '${subject}'`;
    if (kind === 'memory') return `Memory access error at '${subject}'`;
    return `Syntax error at '${subject}'`;
  }
}

const MASK64 = (1n << 64n) - 1n;

/** The result of parsing an expression at the start of a string. */
export interface ParsedValue {
  value: bigint;
  /** Index just after the expression (whitespace after it skipped). */
  end: number;
}

/** Evaluate the expression that starts at `start` in `text`; throws ExpressionError. */
export function evaluatePrefix(text: string, start: number, context: EvalContext): ParsedValue {
  const parser = new Parser(text, start, context);
  const value = parser.parseComparison();
  parser.skipSpace();
  return { value: value & MASK64, end: parser.position };
}

/** Evaluate a whole string as one expression; anything left over is a syntax error. */
export function evaluate(text: string, context: EvalContext): bigint {
  const parsed = evaluatePrefix(text, 0, context);
  if (parsed.end < text.length) throw new ExpressionError('syntax', text.slice(parsed.end), parsed.end);
  return parsed.value;
}

// Binary operators by precedence level, loosest first (MASM: comparisons < or < xor < and < shifts < additive < multiplicative).
const LEVELS: readonly (readonly string[])[] = [
  ['==', '!=', '<=', '>=', '=', '<', '>'],
  ['or', '|'],
  ['xor', '^'],
  ['and', '&'],
  ['<<', '>>>', '>>'],
  ['+', '-'],
  ['*', '/', 'mod', '%'],
];

// A recursive-descent parser over one string, with kd's error subjects.
class Parser {
  position: number;
  constructor(
    private readonly text: string,
    start: number,
    private readonly context: EvalContext,
  ) {
    this.position = start;
  }

  // Skip blanks between tokens.
  skipSpace(): void {
    while (this.position < this.text.length && /[ \t]/.test(this.text[this.position])) this.position++;
  }

  // The operator of this level at the current position, if any (word operators need a word boundary).
  private peekOperator(level: readonly string[]): string | undefined {
    this.skipSpace();
    const rest = this.text.slice(this.position);
    for (const operator of level) {
      if (/^[a-z]/.test(operator)) {
        const match = new RegExp(`^${operator}(?![A-Za-z0-9_!$@])`, 'i').exec(rest);
        if (match) return operator;
      } else if (rest.startsWith(operator)) {
        // `<` must not be the start of `<<`, `>` not of `>>`.
        if ((operator === '<' && rest.startsWith('<<')) || (operator === '>' && rest.startsWith('>>'))) continue;
        return operator;
      }
    }
    return undefined;
  }

  // Comparisons, the loosest level.
  parseComparison(): bigint {
    return this.parseLevel(0);
  }

  // One precedence level: operands of the next level joined by this level's operators.
  private parseLevel(level: number): bigint {
    if (level >= LEVELS.length) return this.parseUnary();
    let left = this.parseLevel(level + 1);
    for (;;) {
      const operator = this.peekOperator(LEVELS[level]);
      if (!operator) return left;
      const at = this.position;
      this.position += operator.length;
      this.skipSpace();
      if (this.position >= this.text.length) throw new ExpressionError('syntax', '<EOL>', this.position);
      const right = this.parseLevel(level + 1);
      left = applyOperator(operator, left, right, this.text, at);
    }
  }

  // Unary minus, plus, `not`, `~`.
  private parseUnary(): bigint {
    this.skipSpace();
    const char = this.text[this.position];
    if (char === '-') {
      this.position++;
      return (-this.parseUnary()) & MASK64;
    }
    if (char === '+') {
      this.position++;
      return this.parseUnary();
    }
    if (char === '~') {
      this.position++;
      return ~this.parseUnary() & MASK64;
    }
    if (/^not(?![A-Za-z0-9_])/i.test(this.text.slice(this.position))) {
      this.position += 3;
      return this.parseUnary() === 0n ? 1n : 0n;
    }
    return this.parsePrimary();
  }

  // Numbers, character constants, parentheses, memory functions, registers and symbols.
  private parsePrimary(): bigint {
    this.skipSpace();
    const start = this.position;
    const rest = this.text.slice(start);
    if (rest.length === 0) throw new ExpressionError('syntax', '<EOL>', start);
    if (rest[0] === '(') {
      this.position++;
      const value = this.parseComparison();
      this.skipSpace();
      if (this.text[this.position] !== ')') throw new ExpressionError('syntax', this.text.slice(this.position) || '<EOL>', this.position);
      this.position++;
      return value;
    }
    if (rest[0] === "'") return this.parseCharacters();
    const memory = /^(poi|dwo|qwo|wo|by)\s*\(/i.exec(rest);
    if (memory) {
      this.position += memory[0].length - 1;
      const address = this.parsePrimary();
      const sizes: Record<string, number> = { poi: this.context.pointerSize, dwo: 4, qwo: 8, wo: 2, by: 1 };
      const size = sizes[memory[1].toLowerCase()];
      const bytes = this.context.readMemory(address, size);
      if (!bytes) throw new ExpressionError('memory', this.text.slice(start), start);
      return readLittleEndian(bytes);
    }
    const register = /^@(\$?[A-Za-z][A-Za-z0-9_]*)/.exec(rest) ?? /^(\$[A-Za-z][A-Za-z0-9_]*)/.exec(rest);
    if (register) {
      const value = this.context.register(register[1].toLowerCase());
      if (value === undefined) throw new ExpressionError(rest[0] === '@' ? 'syntax' : 'resolve', rest, start);
      this.position += register[0].length;
      return value;
    }
    const number = /^(0x[0-9a-f`]+|0n[0-9]+|0t[0-7]+|0y[01]+|[0-9a-f][0-9a-f`]*h?)(?![A-Za-z0-9_!$?@:.])/i.exec(rest);
    if (number) {
      this.position += number[0].length;
      return parseNumber(number[0]);
    }
    const word = /^[A-Za-z_$?][A-Za-z0-9_$?@]*(?:![A-Za-z0-9_$?@:]+)?|^[A-Za-z0-9_]+![A-Za-z0-9_$?@:]+/.exec(rest);
    if (word) {
      const name = word[0];
      const registerValue = name.includes('!') ? undefined : this.context.register(name.toLowerCase());
      if (registerValue !== undefined) {
        this.position += name.length;
        return registerValue;
      }
      const symbol = this.context.resolveSymbol(name);
      if (symbol === undefined) throw new ExpressionError('resolve', rest.trimEnd(), start);
      this.position += name.length;
      return symbol;
    }
    throw new ExpressionError('syntax', rest, start);
  }

  // `'abcd'`: up to 8 characters, the first in the most significant byte (MASM).
  private parseCharacters(): bigint {
    const start = this.position;
    const close = this.text.indexOf("'", start + 1);
    if (close < 0) throw new ExpressionError('syntax', this.text.slice(start), start);
    const characters = this.text.slice(start + 1, close);
    if (characters.length === 0 || characters.length > 8) throw new ExpressionError('syntax', this.text.slice(start), start);
    let value = 0n;
    for (const character of characters) value = (value << 8n) | BigInt(character.charCodeAt(0) & 0xff);
    this.position = close + 1;
    return value;
  }
}

// Apply one binary operator with kd's results (comparisons give 1 or 0).
function applyOperator(operator: string, left: bigint, right: bigint, text: string, at: number): bigint {
  switch (operator.toLowerCase()) {
    case '+': return (left + right) & MASK64;
    case '-': return (left - right) & MASK64;
    case '*': return (left * right) & MASK64;
    case '/':
    case 'mod':
    case '%':
      if (right === 0n) throw new ExpressionError('syntax', text.slice(at), at);
      return operator === '/' ? left / right : left % right;
    case '<<': return (left << (right & 63n)) & MASK64;
    case '>>':
    case '>>>': return left >> (right & 63n);
    case 'and':
    case '&': return left & right;
    case 'or':
    case '|': return left | right;
    case 'xor':
    case '^': return left ^ right;
    case '=':
    case '==': return left === right ? 1n : 0n;
    case '!=': return left !== right ? 1n : 0n;
    case '<': return toSigned(left) < toSigned(right) ? 1n : 0n;
    case '>': return toSigned(left) > toSigned(right) ? 1n : 0n;
    case '<=': return toSigned(left) <= toSigned(right) ? 1n : 0n;
    case '>=': return toSigned(left) >= toSigned(right) ? 1n : 0n;
    default: throw new ExpressionError('syntax', text.slice(at), at);
  }
}

// Compare as signed 64-bit values, as kd does.
function toSigned(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

/** Parse one kd number token: `0x1f`, `0n31`, `0t37`, `0y11111`, `1f`, `1fh`, `fffff800`12345678`. */
export function parseNumber(token: string): bigint {
  const text = token.replace(/`/g, '');
  const lower = text.toLowerCase();
  if (lower.startsWith('0x')) return BigInt(`0x${lower.slice(2)}`);
  if (lower.startsWith('0n')) return BigInt(lower.slice(2));
  if (lower.startsWith('0t')) return BigInt(`0o${lower.slice(2)}`);
  if (lower.startsWith('0y')) return BigInt(`0b${lower.slice(2)}`);
  if (lower.endsWith('h')) return BigInt(`0x${lower.slice(0, -1)}`);
  return BigInt(`0x${lower}`);
}

/** Bytes (little-endian) to an unsigned number. */
export function readLittleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let index = bytes.length - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[index]);
  return value;
}

/** An unsigned number to `size` little-endian bytes. */
export function toLittleEndian(value: bigint, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let rest = value;
  for (let index = 0; index < size; index++) {
    bytes[index] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}
