/**
 * Positions from parse to report: yaml node ranges become file:line:col once (LineCounter),
 * and every user-facing error carries a code frame with a caret under the column.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import type { SourceLocation } from './types.js';
import { redactSecrets } from '../debuggers/redact.js';

/** A loaded text file with its line index, so offsets become positions in one place. */
export interface SourceText {
  /** Path as the user should see it (relative to the working directory when possible). */
  file: string;
  text: string;
  lines: LineCounter;
}

/** Index a file's text for position lookups. */
export function indexSource(file: string, text: string, lines?: LineCounter): SourceText {
  if (!lines) {
    lines = new LineCounter();
    let offset = 0;
    lines.addNewLine(0);
    for (const line of text.split('\n')) {
      offset += line.length + 1;
      if (offset <= text.length) lines.addNewLine(offset);
    }
  }
  return { file, text, lines };
}

// The text's lines, split once per source: splitting per error made loading quadratic in file size.
const splitCache = new WeakMap<SourceText, string[]>();
function linesOf(source: SourceText): string[] {
  let lines = splitCache.get(source);
  if (!lines) {
    lines = source.text.split('\n');
    splitCache.set(source, lines);
  }
  return lines;
}

/** The 1-based file:line:col of an offset. */
export function locationAt(source: SourceText, offset: number): SourceLocation {
  const { line, col } = source.lines.linePos(Math.max(0, Math.min(offset, source.text.length)));
  return { file: source.file, line, column: col };
}

/** Render the line of a location, the line before it, and a caret under the column. */
export function codeFrame(source: SourceText, location: SourceLocation, options: { redact?: boolean } = {}): string {
  const lines = linesOf(source);
  const first = Math.max(1, location.line - 1);
  const width = String(location.line).length;
  const out: string[] = [];
  for (let n = first; n <= location.line && n <= lines.length; n++) {
    let text = (lines[n - 1] ?? '').replace(/\r$/, '');
    if (options.redact && n === location.line) text = text.slice(0, Math.max(0, location.column - 1)) + '***';
    const marker = n === location.line ? '>' : ' ';
    out.push(`${marker} ${String(n).padStart(width)} | ${text}`);
  }
  out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, location.column - 1))}^`);
  return out.join('\n');
}

/** Location and frame of an offset in one call. */
export function pointAt(source: SourceText, offset: number): { location: SourceLocation; frame: string } {
  const location = locationAt(source, offset);
  // Frames of lines that carry a connection key would print the secret; redact them.
  const lineText = linesOf(source)[location.line - 1] ?? '';
  // The line before it may carry one too (an error on the line under a connection string).
  return { location, frame: redactSecrets(codeFrame(source, location, { redact: /key=/i.test(lineText) })) };
}

/** Split an Ajv instancePath (a JSON Pointer) into keys, unescaping `~1` and `~0`. */
export function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The yaml node at a path of keys below `root` (map keys and sequence indexes as strings). */
export function nodeAtPath(root: Node | null | undefined, path: readonly (string | number)[]): Node | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p) === String(key));
      node = pair?.value ?? undefined;
    } else if (isSeq(node)) {
      node = node.items[Number(key)];
    } else {
      return undefined;
    }
    if (node === undefined) return undefined;
  }
  return node as Node;
}

/** The pair whose key is `key` in a map node. */
export function pairOf(map: Node | undefined, key: string): Pair<Node, Node> | undefined {
  if (!isMap(map)) return undefined;
  return map.items.find((p) => keyText(p) === key) as Pair<Node, Node> | undefined;
}

/** The key of a pair as text. */
export function keyText(pair: unknown): string | undefined {
  if (!isPair(pair)) return undefined;
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return key == null ? undefined : String(key);
}

/** Start offset of a node (or 0 when the node has no range). */
export function startOf(node: Node | null | undefined): number {
  return node?.range?.[0] ?? 0;
}

/** Offset of the deepest existing node along a path, preferring the key when the value is missing. */
export function offsetOfPath(doc: Document, path: readonly string[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const parent = nodeAtPath(doc.contents, path.slice(0, Math.max(0, depth - 1)));
    if (depth > 0) {
      const key = path[depth - 1]!;
      const value = nodeAtPath(parent, [key]);
      if (value?.range) return value.range[0];
      const pair = pairOf(parent, key);
      if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
    } else if (doc.contents?.range) {
      return doc.contents.range[0];
    }
  }
  return 0;
}
