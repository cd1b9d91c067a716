/**
 * Nesting depth of YAML documents. A file nested thousands of levels deep (`[[[[…`, `- - - …`)
 * runs the yaml parser, and any recursive walk after it, out of stack; leakhunt refuses such a
 * file with a coded error at the first node past the limit, a position that does not depend on
 * the size of the stack.
 */
import { isMap, isPair, isSeq } from 'yaml';
import type { Document } from 'yaml';

/** Deepest nesting of collections a playbook or scenario may have (real ones use fewer than 10). */
export const maxNestingDepth = 64;

/** The message for a file nested too deeply. */
export function tooDeepMessage(limit = maxNestingDepth): string {
  return `The file nests collections deeper than ${limit} levels`;
}

/** True when a yaml error is the parser running out of stack. */
export function isStackOverflow(message: string): boolean {
  return /Maximum call stack size exceeded/i.test(message);
}

/** Offset of the first collection nested deeper than `limit` in a parsed document, or undefined; iterative, so it cannot overflow. */
export function deepestNodeOffset(doc: Document, limit = maxNestingDepth): number | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (isPair(node)) {
      stack.push({ node: node.value, depth }, { node: node.key, depth });
      continue;
    }
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth + 1 > limit) return node.range?.[0] ?? 0;
    for (let i = node.items.length - 1; i >= 0; i--) stack.push({ node: node.items[i], depth: depth + 1 });
  }
  return undefined;
}

/**
 * Offset in the text where flow brackets (`[`, `{`) and the `- ` entries of one line first nest
 * deeper than `limit`, or undefined. A rough scan for when the parser itself ran out of stack:
 * quotes and comments are skipped; it only places the error.
 */
export function deepTextOffset(text: string, limit = maxNestingDepth): number | undefined {
  let flow = 0;
  let dashes = 0;
  let indentOnly = true;
  let previous = '\n';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      dashes = 0;
      indentOnly = true;
      previous = c;
      continue;
    }
    if (c === '#' && /\s/.test(previous)) {
      const end = text.indexOf('\n', i);
      i = (end < 0 ? text.length : end) - 1;
      continue;
    }
    // A quote opens a scalar only where a scalar may start (not inside "don't").
    if ((c === '"' || c === "'") && /[\s:,[{-]/.test(previous)) {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += c === '"' && text[j] === '\\' ? 2 : 1;
      i = j;
      previous = c;
      indentOnly = false;
      continue;
    }
    if (c === '[' || c === '{') {
      flow++;
      if (flow + dashes > limit) return i;
    } else if (c === ']' || c === '}') {
      flow = Math.max(0, flow - 1);
    } else if (c === '-' && indentOnly && (text[i + 1] === ' ' || text[i + 1] === '\n')) {
      dashes++;
      if (flow + dashes > limit) return i;
    }
    if (c !== ' ' && c !== '-' && c !== '\t') indentOnly = false;
    previous = c;
  }
  return undefined;
}
