/**
 * Parse `x` (examine symbols): one line per matching symbol, its address then `module!name`.
 * A function ends in its parameters in parentheses (`(<no parameter info>)` with public symbols,
 * `(void *)` with private ones); a data symbol in ` = ` and its value or `<no type information>`
 * (x-win7-x64-1.txt, x-win10-x64-1.txt). On a 32-bit target the address is padded to the width of
 * a 64-bit one before the name (x-win10-x86-1.txt).
 */
import { contentLines, KdParseError, normalizeAddress, type ParseResultBase } from './common.js';
import { matchPrompt } from './prompt.js';

/** One symbol `x` listed. */
export interface ExaminedSymbol {
  /** Lowercase hex, no backtick. */
  address: string;
  module: string;
  name: string;
  /** `function` when parameters follow, `data` when a value follows, else `unknown`. */
  type: 'function' | 'data' | 'unknown';
  /** A function's parameters as printed, without the parentheses (`<no parameter info>`, `void *`). */
  parameters?: string;
  /** A data symbol's value as printed (`<no type information>`, `0x00425de8 "(null)"`). */
  value?: string;
}

/** Result of `x`. */
export interface SymbolsResult extends ParseResultBase {
  symbols: ExaminedSymbol[];
}

// `<address> <module>!<name>…`: the address 8 or 8`8 hex digits, then one or more spaces.
const ROW = /^([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?) +([A-Za-z0-9_.$-]+)!(\S.*)$/;

// One symbol row; undefined when the line is not one.
function parseSymbolRow(line: string): ExaminedSymbol | undefined {
  const row = ROW.exec(line.trimEnd());
  if (!row) return undefined;
  const symbol: ExaminedSymbol = { address: normalizeAddress(row[1]!), module: row[2]!, name: row[3]!, type: 'unknown' };
  const rest = row[3]!;
  const equals = rest.indexOf(' = ');
  const paren = rest.indexOf(' (');
  if (equals >= 0 && (paren < 0 || equals < paren)) {
    symbol.name = rest.slice(0, equals);
    symbol.type = 'data';
    symbol.value = rest.slice(equals + 3);
  } else if (paren >= 0) {
    symbol.name = rest.slice(0, paren);
    symbol.type = 'function';
    const parameters = rest.slice(paren + 2);
    // A cut line (`(struct WDFDRIVER__ *, struct `) keeps what was printed.
    symbol.parameters = parameters.endsWith(')') ? parameters.slice(0, -1) : parameters;
  }
  return symbol;
}

/** Parse `x` output. Throws KdParseError when it lists no symbol (an `x` that matched nothing prints nothing). */
export function parseSymbols(text: string): SymbolsResult {
  const result: SymbolsResult = { complete: true, unparsed: [], symbols: [] };
  for (const { line, trimmed } of contentLines(text)) {
    const prompt = matchPrompt(trimmed);
    if (prompt) {
      if (!/^x\b/.test(prompt.command)) result.unparsed.push(line);
      continue;
    }
    if (/^(\.{3,}|…+)$/.test(trimmed)) {
      result.complete = false;
      continue;
    }
    const symbol = parseSymbolRow(trimmed);
    if (!symbol) {
      result.unparsed.push(line);
      continue;
    }
    if (symbol.type === 'function' && !trimmed.endsWith(')')) result.complete = false;
    result.symbols.push(symbol);
  }
  if (result.symbols.length === 0) throw new KdParseError('x', 'No symbols found: expected "<address> <module>!<name>"');
  return result;
}
